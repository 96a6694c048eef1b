import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { e2eTarget, uniqueTenant } from './support';

const target = e2eTarget();
const url = (path: string) => new URL(path, target.restUrl).toString();

type Job = {
  jobId: string;
  type: string;
  status: string;
  attempts: number;
  result: unknown;
  runAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  nextAttemptAt: string | null;
  lastError: { message: string; at: string; attempt: number } | null;
};

/** A client of the jobs API for a tenant of its own. */
async function client(tenant = uniqueTenant('jobs')) {
  const token = await target.token('backend', tenant, ['jobs:read', 'jobs:write', 'jobs:admin']);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const submit = async (body: Record<string, unknown>, extra: Record<string, string> = {}) => {
    const response = await fetch(url('v1/jobs'), { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
    const answer = (await response.json()) as { jobId: string; status: string };
    expect(response.status, JSON.stringify(answer)).toBe(202);
    return answer;
  };
  const get = async (jobId: string) => (await (await fetch(url(`v1/jobs/${jobId}`), { headers })).json()) as Job;
  /** Polls a job until `done` holds (or the deadline passes), calling `seen` with every state read. */
  const when = async (jobId: string, done: (job: Job) => boolean, deadlineMs = 20_000, seen?: (job: Job) => void) => {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const job = await get(jobId);
      seen?.(job);
      if (done(job) || Date.now() > deadline) return job;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  };
  const list = async (query: string) => (await (await fetch(url(`v1/jobs?${query}`), { headers })).json()) as { items: Job[]; nextCursor: string | null };
  const post = (path: string, body: unknown = {}) => fetch(url(path), { method: 'POST', headers, body: JSON.stringify(body) });
  return { tenant, headers, submit, get, when, list, post };
}

const ended = (job: Job) => ['succeeded', 'dead', 'cancelled'].includes(job.status);

describe('the job queue, end to end', () => {
  it('runs a job to success and keeps its result', async () => {
    // Prepare
    const jobs = await client();

    // Act
    const { jobId, status } = await jobs.submit({ type: 'test.echo', payload: { value: { answer: 42 } } });
    const job = await jobs.when(jobId, ended);

    // Assess
    expect(status).toBe('queued');
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1, result: { echoed: { answer: 42 } }, lastError: null });
    expect(Date.parse(job.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(job.startedAt!));
  });

  it('retries a failing job with growing delays, buries it in the dead-letter queue after maxAttempts, and redrive brings it back', async () => {
    // Prepare
    const jobs = await client();
    const delays = new Map<number, number>();
    const record = (job: Job) => {
      if (job.status === 'retrying' && job.nextAttemptAt && job.lastError) delays.set(job.lastError.attempt, Date.parse(job.nextAttemptAt) - Date.parse(job.lastError.at));
    };

    // Act
    const { jobId } = await jobs.submit({ type: 'test.fail', payload: {}, maxAttempts: 3, backoff: { kind: 'exponential', baseSeconds: 2 } });
    const dead = await jobs.when(jobId, ended, 30_000, record);
    const redrive = await jobs.post('v1/jobs/dlq/redrive', { priority: 'normal' });
    const redriven = (await redrive.json()) as { redriven: number; skipped: number };
    const again = await jobs.when(jobId, (job) => job.status !== 'dead' || job.attempts < 3, 10_000);

    // Assess: waits of about 1-2 s after attempt 1 and 2-4 s after attempt 2, then dead.
    expect(dead).toMatchObject({ status: 'dead', attempts: 3, lastError: { attempt: 3, message: expect.stringContaining('failing on purpose') } });
    expect([...delays.keys()].sort()).toEqual([1, 2]);
    expect(delays.get(1)!).toBeGreaterThanOrEqual(900);
    expect(delays.get(2)!).toBeGreaterThan(delays.get(1)!);
    expect(redrive.status).toBe(200);
    expect(redriven).toEqual({ redriven: 1, skipped: 0 });
    expect(['queued', 'running', 'retrying']).toContain(again.status);
  }, 60_000);

  it('gives one job for the same Idempotency-Key sent twice', async () => {
    // Prepare
    const jobs = await client();
    const key = randomUUID();
    const body = { type: 'test.echo', payload: { value: 'once' } };

    // Act
    const first = await jobs.submit(body, { 'idempotency-key': key });
    const second = await jobs.submit(body, { 'idempotency-key': key });

    // Assess
    expect(second.jobId).toBe(first.jobId);
    expect((await jobs.list('type=test.echo')).items.map((job) => job.jobId)).toEqual([first.jobId]);
  });

  it('runs ten jobs of one groupKey one at a time, in submission order', async () => {
    // Prepare
    const jobs = await client();

    // Act
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await jobs.submit({ type: 'test.sleep', payload: { ms: 50 }, groupKey: 'account-7' })).jobId);
    const done = await Promise.all(ids.map((id) => jobs.when(id, ended, 30_000)));

    // Assess: each started after the one before it finished.
    expect(done.map((job) => job.status)).toEqual(Array(10).fill('succeeded'));
    for (let i = 1; i < done.length; i++) expect(Date.parse(done[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(done[i - 1]!.finishedAt!));
  }, 60_000);

  it('finishes high-priority jobs submitted behind 200 low-priority ones before the low backlog drains', async () => {
    // Prepare: 200 low jobs of 200 ms each; the low lane runs two batches at once. Ten submits
    // at a time: the local cloud runs at most ten instances of a function (the authorizer) at once.
    const jobs = await client();
    const low: string[] = [];
    for (let i = 0; i < 200; i += 10) {
      low.push(...(await Promise.all(Array.from({ length: 10 }, () => jobs.submit({ type: 'test.sleep', payload: { ms: 200 }, priority: 'low' })))).map((j) => j.jobId));
    }

    // Act
    const high = await Promise.all(Array.from({ length: 5 }, (_, i) => jobs.submit({ type: 'test.echo', payload: { value: i }, priority: 'high' })));
    const highDone = await Promise.all(high.map(({ jobId }) => jobs.when(jobId, ended, 30_000)));
    const lowDoneWhenHighDone = await countSucceeded(jobs, 'test.sleep');

    // Assess
    expect(low).toHaveLength(200);
    expect(highDone.map((job) => job.status)).toEqual(Array(5).fill('succeeded'));
    expect(lowDoneWhenHighDone).toBeLessThan(200);
  }, 90_000);

  it('holds a delayed job until runAt, then starts it within a minute', async () => {
    // Prepare
    const jobs = await client();
    const runAt = new Date(Date.now() + 4_000).toISOString();

    // Act
    const { jobId, status } = await jobs.submit({ type: 'test.echo', payload: {}, runAt });
    const early = await jobs.get(jobId);
    const done = await jobs.when(jobId, ended, 70_000);

    // Assess
    expect(status).toBe('scheduled');
    expect(early.status).toBe('scheduled');
    expect(done.status).toBe('succeeded');
    expect(Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(Date.parse(runAt));
    expect(Date.parse(done.startedAt!) - Date.parse(runAt)).toBeLessThan(60_000);
  }, 90_000);

  it('cancels queued and scheduled jobs: they never run, and an ended job cannot be cancelled', async () => {
    // Prepare: a group's first job holds the group, so the second waits queued behind it.
    const jobs = await client();
    const blocker = await jobs.submit({ type: 'test.sleep', payload: { ms: 3000 }, groupKey: 'serial' });
    const queued = await jobs.submit({ type: 'test.echo', payload: {}, groupKey: 'serial' });
    const scheduled = await jobs.submit({ type: 'test.echo', payload: {}, delaySeconds: 3 });

    // Act
    const cancels = await Promise.all([queued, scheduled].map(({ jobId }) => fetch(url(`v1/jobs/${jobId}`), { method: 'DELETE', headers: jobs.headers })));
    await jobs.when(blocker.jobId, ended, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const again = await fetch(url(`v1/jobs/${blocker.jobId}`), { method: 'DELETE', headers: jobs.headers });

    // Assess
    expect(cancels.map((r) => r.status)).toEqual([200, 200]);
    for (const { jobId } of [queued, scheduled]) expect(await jobs.get(jobId)).toMatchObject({ status: 'cancelled', attempts: 0, startedAt: null });
    expect(again.status).toBe(409);
  }, 40_000);

  it("refuses bad input with problem+json naming the field, and another tenant's job is not found", async () => {
    // Prepare
    const jobs = await client();
    const other = await client();
    const { jobId } = await jobs.submit({ type: 'test.echo', payload: {} });
    const bad = async (body: Record<string, unknown>) => {
      const response = await fetch(url('v1/jobs'), { method: 'POST', headers: jobs.headers, body: JSON.stringify(body) });
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      return { status: response.status, fields: ((await response.json()) as { errors?: { field: string }[] }).errors?.map((e) => e.field) };
    };

    // Act
    const answers = [
      await bad({ type: 'test.echo', priority: 'urgent' }),
      await bad({ type: 'test.echo', delaySeconds: -5 }),
      await bad({ type: 'test.echo', runAt: new Date(Date.now() + 2 * 365 * 86_400_000).toISOString() }),
      await bad({ type: 'test.sleep', payload: { ms: -1 } }),
      await bad({ type: 'no.such-type' }),
      await bad({ type: 'test.echo', payload: { value: 'x'.repeat(210 * 1024) } }),
    ];
    const foreign = await fetch(url(`v1/jobs/${jobId}`), { headers: other.headers });
    const retryNotDead = await jobs.post(`v1/jobs/${jobId}/retry`);

    // Assess
    expect(answers).toEqual([
      { status: 400, fields: ['body.priority'] },
      { status: 400, fields: ['body.delaySeconds'] },
      { status: 400, fields: ['body.runAt'] },
      { status: 400, fields: ['body.payload.ms'] },
      { status: 400, fields: ['body.type'] },
      { status: 400, fields: ['body.payload'] },
    ]);
    expect(foreign.status).toBe(404);
    expect(retryNotDead.status).toBe(409);
    expect((await jobs.list('')).items.map((job) => job.jobId)).toEqual([jobId]);
  });
});

async function countSucceeded(jobs: Awaited<ReturnType<typeof client>>, type: string): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page = await jobs.list(`type=${type}&status=succeeded&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    count += page.items.length;
    cursor = page.nextCursor;
  } while (cursor);
  return count;
}
