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
import { mintDevelopmentToken } from '#shared/auth/jwt';
import { buildApp } from '../lib/app';
import { loadStageConfig } from '../lib/config';
import { LocalCloud } from '../local/cloud';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
const ROOT = resolve(import.meta.dirname, '..');
const JOBS = 300;

const context = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context as { stages: Record<string, any> };
const stages = structuredClone(context.stages);
for (const name of ['jobs-submit', 'jobs-read', 'tenant-daily']) stages['dev'].rateLimits.policies[name] = { ...stages['dev'].rateLimits.policies[name], capacity: 1_000_000, refillPerSecond: 100_000 };
const outdir = mkdtempSync(join(tmpdir(), 'switchyard-bench-jobs-'));
buildApp(new App({ outdir, context: { ...context, stages, stage: 'dev' } }), { nag: false }).app.synth();

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

type Job = { jobId: string; status: string; createdAt: string; startedAt: string | null; finishedAt: string | null };

const cloud = await LocalCloud.start({ assemblyDir: outdir });
try {
  const config = loadStageConfig(stages, 'dev');
  if (config.auth.mode !== 'secret') throw new Error('the dev stage must use secret auth');
  const secretArn = Object.values(cloud.model.outputs).find((o) => o['JwtSecretArn'])!['JwtSecretArn']!;
  const secret = cloud.secrets.value(secretArn)!;
  const { issuer, audience, claims } = config.auth;
  const tenant = `bench-jobs-${Date.now()}`;
  const token = await mintDevelopmentToken({ secret, issuer, audience, claims, userId: 'bench', tenantId: tenant, scopes: ['jobs:read', 'jobs:write'], expiresInSeconds: 3600 });
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

  // Warm-up: cold starts out of the measured window.
  await Promise.all(Array.from({ length: 10 }, () => submit({ type: 'test.echo', payload: {}, priority: 'normal' }).then((id) => ended(id))));

  // Throughput and latency.
  const started = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i += 10) ids.push(...(await Promise.all(Array.from({ length: 10 }, () => submit({ type: 'test.echo', payload: {} })))));
  const jobs = await Promise.all(ids.map((id) => ended(id, 180_000)));
  const seconds = (performance.now() - started) / 1000;
  const waits = jobs.map((job) => Date.parse(job.startedAt!) - Date.parse(job.createdAt));

  // AWS calls per lifecycle, one job at a time.
  const callsOf = async (body: Record<string, unknown>, extra: Record<string, string> = {}) => {
    await new Promise((r) => setTimeout(r, 500));
    cloud.counter.reset();
    const id = await submit(body, extra);
    await ended(id, 60_000);
    // Let the worker's last writes land (the job reads as ended before its invocation returns).
    await new Promise((r) => setTimeout(r, 500));
    const calls = cloud.counter.snapshot();
    delete calls['execute-api'];
    const total = Object.values(calls).reduce((sum, ops) => sum + Object.values(ops).reduce((a, b) => a + b, 0), 0);
    const tables = Object.fromEntries(
      Object.entries(cloud.counter.tableSnapshot()).map(([table, ops]) => [table.replace(/^switchyard-dev-data-/, '').replace(/[0-9A-F]{8}$/, ''), Object.values(ops).reduce((a, b) => a + b, 0)]),
    );
    return { total, byService: Object.fromEntries(Object.entries(calls).map(([service, ops]) => [service, ops])), tables };
  };
  const lifecycles = {
    immediate: await callsOf({ type: 'test.echo', payload: {} }),
    'immediate, Idempotency-Key': await callsOf({ type: 'test.echo', payload: { value: 'keyed' } }, { 'idempotency-key': `bench-${Date.now()}` }),
    'delayed 2 s': await callsOf({ type: 'test.echo', payload: {}, delaySeconds: 2 }),
    'fails once, then succeeds': await callsOf({ type: 'test.fail', payload: { succeedOnAttempt: 2 }, backoff: { kind: 'fixed', baseSeconds: 1 } }),
  };

  process.stdout.write(`\nJob queue benchmark on the local cloud (${new Date().toISOString()})\n\n`);
  process.stdout.write(`throughput: ${JOBS} jobs submitted and run in ${seconds.toFixed(1)} s = ${(JOBS / seconds).toFixed(1)} jobs/s\n`);
  process.stdout.write(`submit-to-start: p50 ${percentile(waits, 50)} ms, p99 ${percentile(waits, 99)} ms\n\n`);
  console.table(Object.fromEntries(Object.entries(lifecycles).map(([name, c]) => [name, { awsCalls: c.total, dynamodbByTable: JSON.stringify(c.tables), byService: JSON.stringify(c.byService) }])));
} finally {
  await cloud.stop();
  rmSync(outdir, { recursive: true, force: true });
}
