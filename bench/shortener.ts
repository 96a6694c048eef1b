/**
 * `npm run bench:shortener`: the redirect, through the local cloud's REST gateway, on this machine.
 * - p50/p99 on a cache miss (each code's first redirect in the instance) and on a hit;
 * - DynamoDB calls per redirect: the link's own (goal: 1 on a miss, 0 on a hit) and all of them
 *   (the per-IP rate limit adds its conditional write);
 * - redirect latency with click analytics against without, in the same run (goal: 1.1× or less),
 *   alternating rounds so that warm-up favours neither. Click deliveries are held back until the
 *   end, so the consumer's work (another function's, elsewhere on AWS) is not timed here.
 * Printed, never asserted. The IP and user policies are widened for the run, so the limiter never refuses.
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
const LINKS = 200;
const ROUNDS = 4;

const context = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context as { stages: Record<string, any> };
const outdir = mkdtempSync(join(tmpdir(), 'switchyard-bench-shortener-'));

/** Synthesizes the dev stage into `outdir`, with click analytics on or off. */
function synth(clickAnalytics: boolean): void {
  const stages = structuredClone(context.stages);
  for (const name of ['ip', 'user']) stages['dev'].rateLimits.policies[name] = { ...stages['dev'].rateLimits.policies[name], capacity: 1_000_000, refillPerSecond: 100_000 };
  stages['dev'].shortener = { ...stages['dev'].shortener, clickAnalytics };
  const { app } = buildApp(new App({ outdir, context: { ...context, stages, stage: 'dev' } }), { nag: false });
  app.synth();
}

/** Follows each code once, one at a time (so one function instance serves them all). */
async function follow(rest: string, codes: readonly string[]): Promise<number[]> {
  const latencies: number[] = [];
  for (const code of codes) {
    const started = performance.now();
    const response = await fetch(`${rest}${code}`, { redirect: 'manual' });
    await response.arrayBuffer();
    latencies.push(performance.now() - started);
    if (response.status !== 302) throw new Error(`redirect of ${code} answered ${response.status}`);
  }
  return latencies;
}

synth(true);
// Click deliveries wait until the end: the analytics consumer would otherwise run on the same two
// cores while redirects are timed, which on AWS it never does (it is another function's work).
const cloud = await LocalCloud.start({ assemblyDir: outdir, logsFlushIntervalMs: 30 * 60_000 });
try {
  const rest = cloud.restApis[0]!.url;
  const token = await benchToken(cloud, context.stages, { userId: 'bench', tenantId: 'bench', scopes: ['links:write'] });
  const create = async (path: string): Promise<string> => {
    const response = await fetch(`${rest}v1/links`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ url: `https://example.com/${path}` }) });
    if (response.status !== 201) throw new Error(`create answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { code: string }).code;
  };
  const codes: string[] = [];
  for (let i = 0; i < LINKS; i++) codes.push(await create(String(i)));
  // Warm the redirect function (cold start, JIT) on codes the measured rounds never use.
  const warm: string[] = [];
  for (let i = 0; i < 50; i++) warm.push(await create(`warm/${i}`));
  await follow(rest, warm);

  // Misses, then hits, counting DynamoDB calls.
  cloud.counter.reset();
  const misses = await follow(rest, codes);
  const missCalls = { link: cloud.counter.total('dynamodb', 'GetItem'), all: cloud.counter.total('dynamodb') };
  cloud.counter.reset();
  const hits = await follow(rest, codes);
  const hitCalls = { link: cloud.counter.total('dynamodb', 'GetItem'), all: cloud.counter.total('dynamodb') };

  // Analytics on against off, alternating, on cache hits (the redirect's common case). Each
  // switch resynthesizes and reloads the redirect function (a cold start), so each round warms
  // up before it is measured.
  const withAnalytics: number[] = [];
  const without: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const on of [round % 2 === 0, round % 2 !== 0]) {
      synth(on);
      await cloud.reload();
      await follow(rest, warm);
      await follow(rest, codes);
      (on ? withAnalytics : without).push(...(await follow(rest, codes)));
    }
  }

  const row = (name: string, values: readonly number[], calls?: { link: number; all: number }) => ({
    redirects: name,
    count: values.length,
    p50: percentile(values, 50).toFixed(2),
    p99: percentile(values, 99).toFixed(2),
    ...(calls ? { linkCallsPerRedirect: (calls.link / values.length).toFixed(2), dynamoCallsPerRedirect: (calls.all / values.length).toFixed(2) } : {}),
  });
  process.stdout.write(`\nShortener redirect benchmark on the local cloud (${new Date().toISOString()}), ${LINKS} links, one request at a time\n\n`);
  console.table([row('cache miss', misses, missCalls), row('cache hit', hits, hitCalls), row('hit, analytics on', withAnalytics), row('hit, analytics off', without)]);
  process.stdout.write(`analytics on / off at p50: ${(percentile(withAnalytics, 50) / percentile(without, 50)).toFixed(3)}×, at p99: ${(percentile(withAnalytics, 99) / percentile(without, 99)).toFixed(3)}×\n`);
} finally {
  await cloud.stop();
  rmSync(outdir, { recursive: true, force: true });
}
