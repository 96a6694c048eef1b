/**
 * `npm run bench`: the local cloud's own costs, measured in one run on this machine.
 * - time from `npm start` to ready, synthesis included (goal: 15 s or less);
 * - gateway overhead per REST request over calling the same handler in process (goal: 2 ms or less at p50);
 * - 100 PostToConnection deliveries to one WebSocket client;
 * - resident memory of the whole local cloud (goal: 1 GiB or less).
 * Numbers are printed, never asserted: speed is measured here, not in timed tests.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { App } from 'aws-cdk-lib';
import WebSocket from 'ws';
import { buildApp } from '../lib/app';
import { LocalCloud } from '../local/cloud';
import { benchToken, percentile } from './support';
import { sampleEvent } from '../local/cli/events';

const ROOT = resolve(import.meta.dirname, '..');
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Time from `npm start` to its ready line, on free ports. */
async function startupSeconds(extraArgs: string[]): Promise<number> {
  const endpoints = join(ROOT, '.local', 'endpoints.json');
  const before = existsSync(endpoints) ? statSync(endpoints).mtimeMs : 0;
  const started = performance.now();
  const child = spawn('npm', ['start', '--', '--no-watch', '--aws-port', '0', '--api-port', '0', ...extraArgs], { cwd: ROOT, stdio: 'ignore', detached: true });
  try {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (existsSync(endpoints) && statSync(endpoints).mtimeMs > before) return (performance.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('npm start did not become ready within 120 s');
  } finally {
    process.kill(-child.pid!, 'SIGINT');
    await new Promise((r) => setTimeout(r, 2000));
  }
}

const startupWithSynth = await startupSeconds(['--synth']);
const startupCached = await startupSeconds([]);

const outdir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
const context = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
buildApp(new App({ outdir, context: { ...context, stage: 'dev', 'aws:cdk:enable-path-metadata': true } }), { nag: false }).app.synth();
// The $connect handler logs each connection id; the benchmark learns its own from there.
let announceConnection: (id: string) => void = () => undefined;
const cloud = await LocalCloud.start({
  assemblyDir: outdir,
  onLog: ({ line }) => {
    if (!line.startsWith('{')) return;
    const entry = JSON.parse(line) as { message?: string; connectionId?: string };
    if (entry.message === 'connected' && entry.connectionId) announceConnection(entry.connectionId);
  },
});
const rest = cloud.restApis[0]!.url;

// Gateway overhead: the same liveness handler through the gateway, and called in process.
const liveness = cloud.model.functions.find((f) => f.logicalId.startsWith('GetLiveness'))!;
Object.assign(process.env, liveness.environment, { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' });
const handler = ((await import(pathToFileURL(join(liveness.codeDir, 'index.mjs')).href)) as { handler: (e: unknown, c: unknown) => Promise<unknown> }).handler;
const event = sampleEvent(cloud.model, 'apigw', { path: '/health/live' });
const context2 = { functionName: 'bench', awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 };
// Powertools warns on every call that no metric was added; printing that would be timed too.
console.warn = () => undefined;
const direct: number[] = [];
const viaGateway: number[] = [];
for (let i = 0; i < 50; i++) {
  await handler(event, context2);
  await fetch(`${rest}health/live`).then((r) => r.text());
}
for (let i = 0; i < 500; i++) {
  let t = performance.now();
  await handler(event, context2);
  direct.push(performance.now() - t);
  t = performance.now();
  await fetch(`${rest}health/live`).then((r) => r.text());
  viaGateway.push(performance.now() - t);
}

// 100 PostToConnection deliveries to one client.
const token = await benchToken(cloud, context['stages'], { userId: 'bench', tenantId: 'bench' });
const connected = new Promise<string>((r) => (announceConnection = r));
const socket = new WebSocket(`${cloud.webSocketApis[0]!.url}?token=${token}`);
await new Promise((r, j) => socket.once('open', r).once('error', j));
const connectionId = await connected;
const management = new ApiGatewayManagementApiClient({ endpoint: cloud.webSocketApis[0]!.callbackUrl, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
let received = 0;
const allReceived = new Promise<void>((r) => socket.on('message', () => ++received === 100 && r()));
const postStarted = performance.now();
await Promise.all(Array.from({ length: 100 }, (_, i) => management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify({ i })) }))));
await allReceived;
const postMs = performance.now() - postStarted;
socket.close();

const rss = rssMb(process.pid) + cloud.childPids.reduce((sum, pid) => sum + rssMb(pid), 0);
await cloud.stop();

const rows: [string, string, string][] = [
  ['npm start to ready, synth included', `${startupWithSynth.toFixed(1)} s`, '<= 15 s'],
  ['npm start to ready, app unchanged', `${startupCached.toFixed(1)} s`, ''],
  ['REST request via the gateway, p50', `${percentile(viaGateway, 50).toFixed(2)} ms`, ''],
  ['same handler in process, p50', `${percentile(direct, 50).toFixed(2)} ms`, ''],
  ['gateway overhead, p50', `${(percentile(viaGateway, 50) - percentile(direct, 50)).toFixed(2)} ms`, '<= 2 ms'],
  ['gateway overhead, p99', `${(percentile(viaGateway, 99) - percentile(direct, 99)).toFixed(2)} ms`, ''],
  ['100 PostToConnection deliveries', `${postMs.toFixed(0)} ms`, ''],
  ['local cloud RSS (node + DynamoDB Local)', `${rss.toFixed(0)} MiB`, '<= 1024 MiB'],
];
const width = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(`\nLocal cloud benchmark (${new Date().toISOString()}, node ${process.version})\n\n`);
for (const [name, value, goal] of rows) process.stdout.write(`  ${name.padEnd(width)}  ${value.padStart(10)}  ${goal}\n`);
process.exit(0);
