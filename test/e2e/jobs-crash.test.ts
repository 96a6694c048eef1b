import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver';
import { e2eTarget, uniqueTenant } from './support';

const target = e2eTarget();
const url = (path: string) => new URL(path, target.restUrl).toString();

type Job = { jobId: string; type: string; status: string; attempts: number; result: unknown };

/**
 * A worker that dies mid-batch: its batch comes back after the lane's visibility timeout (six
 * times the worker's timeout: 150 s on the dev stage), so this test is long, and in a file of its
 * own so that it runs beside the others. Local only: the webhook receiver is on this machine,
 * which only the dev stage's allow-list lets webhooks reach.
 */
describe.runIf(target.name === 'local')('the job queue when a worker crashes', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });

  it('loses no job and repeats no side effect: jobs that ended before the crash are not run again', async () => {
    // Prepare: webhooks (the side effect, counted by the receiver) around a job that kills its
    // worker on its first attempt, all in the normal lane, ten at a time so batches form.
    const token = await target.token('backend', uniqueTenant('crash'), ['jobs:read', 'jobs:write']);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const submit = async (body: Record<string, unknown>) => {
      const response = await fetch(url('v1/jobs'), { method: 'POST', headers, body: JSON.stringify(body) });
      expect(response.status).toBe(202);
      return ((await response.json()) as { jobId: string }).jobId;
    };
    const webhook = (i: number) => ({ type: 'webhook.deliver', payload: { url: `http://127.0.0.1:${receiver.port}/hooks/${i}`, body: { i } } });

    // Act
    const ids = await Promise.all([...Array.from({ length: 5 }, (_, i) => submit(webhook(i))), submit({ type: 'test.crash', payload: {} }), ...Array.from({ length: 4 }, (_, i) => submit(webhook(5 + i)))]);
    const deadline = Date.now() + 300_000;
    let jobs: Job[] = [];
    do {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      jobs = await Promise.all(ids.map(async (id) => (await (await fetch(url(`v1/jobs/${id}`), { headers })).json()) as Job));
    } while (jobs.some((job) => job.status !== 'succeeded') && Date.now() < deadline);

    // Assess: every job succeeded; the crashed one on its second attempt; each webhook reached
    // the receiver once (one request per webhook id), however its batch fared.
    expect(jobs.map((job) => job.status)).toEqual(Array(10).fill('succeeded'));
    expect(jobs[5]).toMatchObject({ type: 'test.crash', attempts: 2, result: { survivedAttempt: 2 } });
    const deliveries = receiver.received.map((request) => request.headers['webhook-id']);
    expect(deliveries.sort()).toEqual(ids.filter((_, i) => i !== 5).sort());
  }, 330_000);
});
