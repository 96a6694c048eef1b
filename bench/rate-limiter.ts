/**
 * `npm run bench:rate-limiter`: our conditional-write limiter against a naive read-then-write
 * one, on DynamoDB Local, under the same concurrency, for 1, 10 and 100 keys: decisions per
 * second, p50/p99 latency, over-admissions (ours must be 0) and DynamoDB calls per decision;
 * then the whole `RateLimiter` (hints and the pre-block: refusals of a key known to be empty
 * cost no call), unsharded and over 5 shards. Printed, never asserted.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { freePort } from '../local/net';
import { startDynamoDb } from '../local/services/dynamodb';
import { RateLimiter } from '#shared/rate-limit/limiter';
import type { Policy } from '#shared/rate-limit/policy';
import { consumeTokens, type BucketTable } from '#shared/rate-limit/token-bucket';

const CAPACITY = 50;
const REQUESTS_PER_KEY = 150;
const CONCURRENCY = 50;
const spec = { capacity: CAPACITY, refillPerSecond: 0.001 };

const dynamo = await startDynamoDb({ port: await freePort() });
await dynamo.client.send(
  new CreateTableCommand({
    TableName: 'bench',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }),
);
const documents = DynamoDBDocumentClient.from(dynamo.client);
let calls = 0;
const counting = { send: (command: never, options?: never) => (calls++, documents.send(command, options)) } as unknown as DynamoDBDocumentClient;
const table: BucketTable = { client: counting, tableName: 'bench' };
const hints = new Map<string, number>();

/** Ours: conditional writes, with this process's hints, as the limiter keeps them. */
async function ours(key: string): Promise<boolean> {
  const now = Date.now();
  const hint = hints.get(key);
  const result = await consumeTokens(table, { key, spec, cost: 1, now, hint: hint !== undefined && hint > now ? 'busy' : 'idle' });
  hints.set(key, result.tat);
  return result.decision.allowed;
}

/** The naive one: read the bucket, refill and check in code, write it back. */
async function naive(key: string): Promise<boolean> {
  const now = Date.now();
  const item = (await counting.send(new GetCommand({ TableName: 'bench', Key: { pk: key } }))).Item as { tokens: number; at: number } | undefined;
  const tokens = Math.min(CAPACITY, (item?.tokens ?? CAPACITY) + ((now - (item?.at ?? now)) / 1000) * spec.refillPerSecond);
  if (tokens < 1) return false;
  await counting.send(new PutCommand({ TableName: 'bench', Item: { pk: key, tokens: tokens - 1, at: now } }));
  return true;
}

const policies: Record<string, Policy> = {
  bench: { subject: 'key', algorithm: 'token-bucket', ...spec, onFailure: 'closed' },
  sharded: { subject: 'key', algorithm: 'token-bucket', ...spec, shards: 5, onFailure: 'closed' },
};
const limiter = new RateLimiter({ table, policies, timeoutMs: 30_000 });
let preBlocked = 0;

/** The whole limiter, as a route or the service uses it: hints, and the pre-block. */
const whole = (policy: 'bench' | 'sharded') => async (key: string) => {
  const decision = (await limiter.checkPolicy(policy, policies[policy]!, { tenantId: 'bench', key }))!;
  if (decision.source === 'pre-block') preBlocked++;
  return decision.allowed;
};

async function run(name: string, limiter: (key: string) => Promise<boolean>, keys: number) {
  const prefix = `${name}-${keys}-${Date.now()}`;
  const work = Array.from({ length: keys * REQUESTS_PER_KEY }, (_, i) => `${prefix}#${i % keys}`);
  const latencies: number[] = [];
  let admitted = 0;
  calls = 0;
  preBlocked = 0;
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < work.length) {
        const key = work[next++]!;
        const t = performance.now();
        if (await limiter(key)) admitted++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  return {
    limiter: name,
    keys,
    decisionsPerSecond: Math.round(work.length / seconds),
    p50: pct(50).toFixed(1),
    p99: pct(99).toFixed(1),
    admitted: `${admitted} of ${keys * CAPACITY}`,
    overAdmissions: Math.max(0, admitted - keys * CAPACITY),
    callsPerDecision: (calls / work.length).toFixed(2),
    preBlocked,
  };
}

const rows = [];
for (const keys of [1, 10, 100]) {
  rows.push(await run('conditional', ours, keys));
  rows.push(await run('read-then-write', naive, keys));
  rows.push(await run('RateLimiter', whole('bench'), keys));
  rows.push(await run('RateLimiter, 5 shards', whole('sharded'), keys));
}
await dynamo.stop();
process.stdout.write(`\nRate limiter benchmark on DynamoDB Local (${new Date().toISOString()}): capacity ${CAPACITY}, ${REQUESTS_PER_KEY} requests per key, ${CONCURRENCY} in flight\n\n`);
console.table(rows);
