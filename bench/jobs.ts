/**
 * `npm run bench:jobs`: the job queue on the local cloud, on this machine.
 * - jobs per second end to end (submitted, run, recorded), 300 `test.echo` jobs submitted ten at a
 *   time (the local cloud runs ten instances of the authorizer at once);
 * - submit-to-start latency p50/p99 (the job's `startedAt` minus its `createdAt`, both the
 *   service's clocks);
 * - AWS calls per job lifecycle (goal: 6 or fewer), counted by the local cloud's AWS endpoint for
 *   one job at a time: immediate, delayed (timer queue), failing once then succeeding; by service,
 *   and DynamoDB by table. The event source mappings' own receives and deletes are the platform's,
 *   not the app's, and are not counted (as on AWS, where the app makes none of them).
 * Printed, never asserted. Rate limits are widened for the run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app';
import { LocalCloud } from '../local/cloud';
import { benchToken, percentile } from './support';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
const ROOT = resolve(import.meta.dirname, '..');
const JOBS = 300;

const context = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context as { stages: Record<string, any> };
const stages = structuredClone(context.stages);
for (const name of ['jobs-submit', 'jobs-read', 'tenant-daily']) stages['dev'].rateLimits.policies[name] = { ...stages['dev'].rateLimits.policies[name], capacity: 1_000_000, refillPerSecond: 100_000 };
const outdir = mkdtempSync(join(tmpdir(), 'switchyard-bench-jobs-'));
buildApp(new App({ outdir, context: { ...context, stages, stage: 'dev' } }), { nag: false }).app.synth();

type Job = { jobId: string; status: string; createdAt: string; startedAt: string | null; finishedAt: string | null };

const cloud = await LocalCloud.start({ assemblyDir: outdir });
try {
  const tenant = `bench-jobs-${Date.now()}`;
  const token = await benchToken(cloud, stages, { userId: 'bench', tenantId: tenant, scopes: ['jobs:read', 'jobs:write'] });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const rest = cloud.restApis[0]!.url;
  const submit = async (body: Record<string, unknown>, extra: Record<string, string> = {}): Promise<string> => {
    const response = await fetch(`${rest}v1/jobs`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
    if (response.status !== 202) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { jobId: string }).jobId;
  };
  const get = async (jobId: string) => (await (await fetch(`${rest}v1/jobs/${jobId}`, { headers })).json()) as Job;
  const ended = async (jobId: string, withinMs = 60_000) => {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const job = await get(jobId);
      if (['succeeded', 'dead', 'cancelled'].includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  // Warm-up: cold starts out of the measured window (one first, so that ten cold authorizers do not start at once).
  await ended(await submit({ type: 'test.echo', payload: {} }));
  await Promise.all(Array.from({ length: 10 }, () => submit({ type: 'test.echo', payload: {} }).then((id) => ended(id))));

  // Throughput and latency.
  const started = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i += 10) ids.push(...(await Promise.all(Array.from({ length: 10 }, () => submit({ type: 'test.echo', payload: {} })))));
  const jobs = await Promise.all(ids.map((id) => ended(id, 180_000)));
  const seconds = (performance.now() - started) / 1000;
  const waits = jobs.map((job) => Date.parse(job.startedAt!) - Date.parse(job.createdAt));

  // Start latency on an idle lane: one job at a time.
  const idle: number[] = [];
  for (let i = 0; i < 20; i++) {
    const job = await ended(await submit({ type: 'test.echo', payload: {} }));
    idle.push(Date.parse(job.startedAt!) - Date.parse(job.createdAt));
  }

  // AWS calls per lifecycle, one job at a time: submitted, left alone long enough to end (polling
  // would be counted too), counted, then checked to have ended.
  const callsOf = async (body: Record<string, unknown>, settleMs: number, extra: Record<string, string> = {}) => {
    await new Promise((r) => setTimeout(r, 1_000));
    cloud.counter.reset();
    const id = await submit(body, extra);
    await new Promise((r) => setTimeout(r, settleMs));
    const calls = cloud.counter.snapshot();
    const byTable = cloud.counter.tableSnapshot();
    const job = await get(id);
    if (job.status !== 'succeeded') throw new Error(`job ${id} is ${job.status} after ${settleMs} ms; give it longer`);
    delete calls['execute-api'];
    const sum = (ops: Record<string, number> | undefined) => Object.values(ops ?? {}).reduce((a, b) => a + b, 0);
    // The sweep's every-minute Query of the due index may fall in the window; it is no job's.
    const sweeps = byTable[Object.keys(byTable).find((table) => table.includes('-data-Jobs')) ?? '']?.['Query'] ?? 0;
    const tableCalls = (name: string) => sum(Object.entries(byTable).find(([table]) => table.includes(name))?.[1]) - (name === '-data-Jobs' ? sweeps : 0);
    const all = Object.values(calls).reduce((total, ops) => total + sum(ops), 0) - sweeps;
    const edge = tableCalls('-data-RateLimits');
    return {
      'app calls': all - edge,
      'jobs table': tableCalls('-data-Jobs'),
      'idempotency records': tableCalls('-data-Idempotency'),
      sqs: JSON.stringify(calls['sqs'] ?? {}),
      events: sum(calls['events']),
      'edge rate limits': edge,
    };
  };
  const lifecycles = {
    immediate: await callsOf({ type: 'test.echo', payload: {} }, 3_000),
    'immediate, Idempotency-Key': await callsOf({ type: 'test.echo', payload: { value: 'keyed' } }, 3_000, { 'idempotency-key': `bench-${Date.now()}` }),
    'delayed 2 s (timer queue)': await callsOf({ type: 'test.echo', payload: {}, delaySeconds: 2 }, 6_000),
    'fails once, then succeeds': await callsOf({ type: 'test.fail', payload: { succeedOnAttempt: 2 }, backoff: { kind: 'fixed', baseSeconds: 1 } }, 6_000),
  };

  process.stdout.write(`\nJob queue benchmark on the local cloud (${new Date().toISOString()})\n\n`);
  process.stdout.write(`throughput: ${JOBS} jobs submitted and run in ${seconds.toFixed(1)} s = ${(JOBS / seconds).toFixed(1)} jobs/s\n`);
  process.stdout.write(`submit-to-start under that load: p50 ${percentile(waits, 50)} ms, p99 ${percentile(waits, 99)} ms\n`);
  process.stdout.write(`submit-to-start on an idle lane (20 jobs, one at a time): p50 ${percentile(idle, 50)} ms, p99 ${percentile(idle, 99)} ms\n\n`);
  console.table(lifecycles);
} finally {
  await cloud.stop();
  rmSync(outdir, { recursive: true, force: true });
}
