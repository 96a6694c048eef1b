/**
 * `npm run bench:chat`: chat over the local cloud's WebSocket gateway, on this machine.
 * - send-to-receive latency p50/p99 in conversations of 2, 10 and 100 connections (one member
 *   per connection; above 20 members the fan-out goes through the FIFO queue), one message at
 *   a time;
 * - DynamoDB calls per message (goal: 3 or fewer, besides one post per connection, which the
 *   gateway serves and the AWS endpoint does not count), in all and per table: the chat's own, the
 *   message limits' (rate-limit buckets) and the queue consumer's idempotency records;
 * - messages per second through one two-member conversation, 200 sent at once.
 * Printed, never asserted. Message limits are widened for the run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import WebSocket from 'ws';
import { buildApp } from '../lib/app';
import { loadStageConfig } from '../lib/config';
import { LocalCloud } from '../local/cloud';
import { benchToken, percentile } from './support';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
const ROOT = resolve(import.meta.dirname, '..');
const MESSAGES = 30;

const context = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context as { stages: Record<string, any> };
const stages = structuredClone(context.stages);
for (const name of ['ip', 'user', 'ws-connection', 'ws-user']) stages['dev'].rateLimits.policies[name] = { ...stages['dev'].rateLimits.policies[name], capacity: 1_000_000, refillPerSecond: 100_000 };
const outdir = mkdtempSync(join(tmpdir(), 'switchyard-bench-chat-'));
buildApp(new App({ outdir, context: { ...context, stages, stage: 'dev' } }), { nag: false }).app.synth();

const cloud = await LocalCloud.start({ assemblyDir: outdir });
try {
  const config = loadStageConfig(stages, 'dev');
  const token = (tenantId: string, userId: string) => benchToken(cloud, stages, { userId, tenantId, scopes: ['chat:read', 'chat:write'] });
  const rest = cloud.restApis[0]!.url;
  const ws = cloud.webSocketApis[0]!.url;

  /** A conversation of `size` members, each with one open connection that records arrival times by seq. */
  async function setUp(size: number) {
    const tenant = `bench-${size}-${Date.now()}`;
    const users = Array.from({ length: size }, (_, i) => `user-${i}`);
    const created = await fetch(`${rest}v1/conversations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(tenant, users[0]!)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ memberIds: users.slice(1) }),
    });
    if (created.status !== 201) throw new Error(`create answered ${created.status}: ${await created.text()}`);
    const { conversationId } = (await created.json()) as { conversationId: string };
    // Ten at a time: the local cloud runs at most ten instances of the authorizer at once.
    const sockets: { socket: WebSocket; arrivals: Map<number, number> }[] = [];
    for (let i = 0; i < users.length; i += 10) sockets.push(...(await Promise.all(users.slice(i, i + 10).map(async (user) => {
        const socket = new WebSocket(`${ws}?token=${await token(tenant, user)}`);
        const arrivals = new Map<number, number>();
        socket.on('message', (data) => {
          const frame = JSON.parse(data.toString()) as { type: string; seq?: number };
          if (frame.type === 'message' && frame.seq !== undefined) arrivals.set(frame.seq, performance.now());
        });
        await new Promise((ok, fail) => socket.once('open', ok).once('error', fail));
        return { socket, arrivals };
      }))));
    const allHave = async (seq: number, withinMs = 30_000) => {
      const deadline = Date.now() + withinMs;
      while (!sockets.every((s) => s.arrivals.has(seq)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      if (!sockets.every((s) => s.arrivals.has(seq))) throw new Error(`seq ${seq} did not reach every connection`);
    };
    return { conversationId, sockets, allHave, close: () => sockets.forEach((s) => s.socket.close()) };
  }

  const rows = [];
  for (const size of [2, 10, 100]) {
    const room = await setUp(size);
    const sender = room.sockets[0]!.socket;
    // Warm-up: cold starts and JIT out of the measured window.
    for (let i = 1; i <= 5; i++) {
      sender.send(JSON.stringify({ action: 'send', conversationId: room.conversationId, clientMessageId: `w${i}`, body: 'warm' }));
      await room.allHave(i);
    }
    cloud.counter.reset();
    const latencies: number[] = [];
    for (let i = 6; i < 6 + MESSAGES; i++) {
      const sent = performance.now();
      sender.send(JSON.stringify({ action: 'send', conversationId: room.conversationId, clientMessageId: `m${i}`, body: `message ${i}` }));
      await room.allHave(i);
      for (const s of room.sockets) latencies.push(s.arrivals.get(i)! - sent);
    }
    const calls = cloud.counter.snapshot();
    const dynamo = Object.values(calls['dynamodb'] ?? {}).reduce((a, b) => a + b, 0);
    const byTable = cloud.counter.tableSnapshot();
    const perMessage = (table: string) => {
      const ops = Object.entries(byTable).find(([name]) => name.includes(table))?.[1] ?? {};
      const total = Object.values(ops).reduce((a, b) => a + b, 0) / MESSAGES;
      return `${total.toFixed(2)} (${Object.entries(ops).map(([op, n]) => `${op} ${(n / MESSAGES).toFixed(2)}`).join(', ')})`;
    };
    rows.push({
      connections: size,
      fanout: size > config.chat.queueFanoutAboveMembers ? 'FIFO queue' : 'inline',
      p50: percentile(latencies, 50).toFixed(1),
      p99: percentile(latencies, 99).toFixed(1),
      dynamoCallsPerMessage: (dynamo / MESSAGES).toFixed(2),
      chatTable: perMessage('-data-Chat'),
      rateLimitTable: perMessage('-data-RateLimits'),
      idempotencyTable: perMessage('-data-Idempotency'),
    });
    room.close();
  }

  // Throughput: 200 messages at once from both members of one conversation.
  const room = await setUp(2);
  const started = performance.now();
  for (let i = 1; i <= 200; i++) room.sockets[i % 2]!.socket.send(JSON.stringify({ action: 'send', conversationId: room.conversationId, clientMessageId: `t${i}`, body: `burst ${i}` }));
  await room.allHave(200, 180_000);
  const seconds = (performance.now() - started) / 1000;
  room.close();

  process.stdout.write(`\nChat benchmark on the local cloud (${new Date().toISOString()}), ${MESSAGES} messages per size, one at a time\n\n`);
  console.table(rows);
  process.stdout.write(`throughput: 200 messages through one two-member conversation in ${seconds.toFixed(1)} s = ${(200 / seconds).toFixed(1)} messages/s\n`);
} finally {
  await cloud.stop();
  rmSync(outdir, { recursive: true, force: true });
}
