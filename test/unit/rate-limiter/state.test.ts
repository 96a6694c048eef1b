import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { bucketKey, RateLimiter, type LimitSubjects } from '#shared/rate-limit/limiter';
import type { Policy } from '#shared/rate-limit/policy';
import { readBucket, resetBucket } from '#shared/rate-limit/state';
import { useLocalTable } from '../../support/dynamodb';

const table = useLocalTable('bucket-state');
// On a whole hour, so on a minute's and a second's boundary too.
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const T0_SECONDS = T0 / 1000;
let tenants = 0;
const subjects = (): LimitSubjects => ({ tenantId: `t${++tenants}`, key: 'login:alice@example.com' });

/** 5 tokens, one back every second. */
const bucket: Policy = { subject: 'key', algorithm: 'token-bucket', capacity: 5, refillPerSecond: 1, onFailure: 'closed' };
/** 3 a UTC hour. */
const hourly: Policy = { subject: 'key', algorithm: 'token-bucket', capacity: 3, refillPerSecond: 0, periodSeconds: 3600, onFailure: 'closed' };
/** 2, ever. */
const lifetime: Policy = { subject: 'key', algorithm: 'token-bucket', capacity: 2, refillPerSecond: 0, onFailure: 'closed' };
/** 4 a sliding minute. */
const window: Policy = { subject: 'key', algorithm: 'sliding-window', limit: 4, windowSeconds: 60, onFailure: 'closed' };

const HOUR = Math.floor(T0_SECONDS / 3600);
const MINUTE = Math.floor(T0_SECONDS / 60);

/** A limiter on the test table whose clock the test moves. */
function limiterAt(start = T0) {
  const clock = { now: start };
  const limiter = new RateLimiter({ table, policies: {}, timeoutMs: 5000, now: () => clock.now });
  return { limiter, clock };
}

async function take(limiter: RateLimiter, name: string, policy: Policy, who: LimitSubjects, times: number) {
  const decisions = [];
  for (let i = 0; i < times; i++) decisions.push(await limiter.checkPolicy(name, policy, who));
  return decisions;
}

async function item(pk: string): Promise<Record<string, unknown> | undefined> {
  return (await table.client.send(new GetCommand({ TableName: table.tableName, Key: { pk }, ConsistentRead: true }))).Item;
}

describe('token bucket state', () => {
  it('reads a bucket never used as full, without writing anything', async () => {
    // Prepare
    const who = subjects();
    const { limiter } = limiterAt();

    // Act
    const state = await limiter.state('bucket', bucket, who);

    // Assess
    expect(state).toEqual({ remaining: 5, limit: 5, resetAt: T0_SECONDS });
    expect(await item(bucketKey('bucket', bucket, who)!)).toBeUndefined();
  });

  it('reads what is left after three tokens, and the refill since', async () => {
    // Prepare
    const who = subjects();
    const { limiter, clock } = limiterAt();
    await take(limiter, 'bucket', bucket, who, 3);

    // Act
    const now = await limiter.state('bucket', bucket, who);
    clock.now = T0 + 1500;
    const later = await limiter.state('bucket', bucket, who);

    // Assess: full again 3 s after T0; 1.5 s on, 3.5 tokens are back, read as 3.
    expect(now).toEqual({ remaining: 2, limit: 5, resetAt: T0_SECONDS + 3 });
    expect(later).toEqual({ remaining: 3, limit: 5, resetAt: T0_SECONDS + 3 });
  });

  it('reads an item whose tat has passed as full, though TTL has not deleted it yet', async () => {
    // Prepare: an item that said "empty until T0 - 1 ms", past its expiry too.
    const who = subjects();
    const key = bucketKey('bucket', bucket, who)!;
    await table.client.send(new PutCommand({ TableName: table.tableName, Item: { pk: key, tat: T0 - 1, expiresAt: T0_SECONDS - 60 } }));
    const { limiter } = limiterAt();

    // Act
    const state = await readBucket(table, bucket, key, T0);
    const next = await limiter.checkPolicy('bucket', bucket, who);

    // Assess
    expect(state).toEqual({ remaining: 5, limit: 5, resetAt: T0_SECONDS });
    expect(next).toMatchObject({ allowed: true, remaining: 4 });
  });

  it('resets a drained bucket: full again, and the next request admitted by DynamoDB, not refused from memory', async () => {
    // Prepare: drained, and one refusal this instance now remembers.
    const who = subjects();
    const { limiter } = limiterAt();
    await take(limiter, 'bucket', bucket, who, 6);
    const remembered = await limiter.checkPolicy('bucket', bucket, who);

    // Act
    await limiter.reset('bucket', bucket, who);
    const state = await limiter.state('bucket', bucket, who);
    const next = await limiter.checkPolicy('bucket', bucket, who);

    // Assess
    expect(remembered).toMatchObject({ allowed: false, source: 'pre-block' });
    expect(state).toEqual({ remaining: 5, limit: 5, resetAt: T0_SECONDS });
    expect(next).toMatchObject({ allowed: true, remaining: 4, source: 'dynamodb' });
  });
});

describe('quota state', () => {
  it('reads a fresh quota as full until the end of its UTC period', async () => {
    // Act
    const state = await limiterAt().limiter.state('hourly', hourly, subjects());

    // Assess
    expect(state).toEqual({ remaining: 3, limit: 3, resetAt: (HOUR + 1) * 3600 });
  });

  it('reads what is left in this period, and a full quota in the next', async () => {
    // Prepare
    const who = subjects();
    const { limiter, clock } = limiterAt(T0 + 10 * 60_000);
    await take(limiter, 'hourly', hourly, who, 2);

    // Act
    const now = await limiter.state('hourly', hourly, who);
    clock.now = T0 + 3600_000;
    const nextHour = await limiter.state('hourly', hourly, who);

    // Assess
    expect(now).toEqual({ remaining: 1, limit: 3, resetAt: (HOUR + 1) * 3600 });
    expect(nextHour).toEqual({ remaining: 3, limit: 3, resetAt: (HOUR + 2) * 3600 });
  });

  it('resets only the current period: an earlier period keeps its count', async () => {
    // Prepare: 2 taken in this hour, 1 in the next.
    const who = subjects();
    const key = bucketKey('hourly', hourly, who)!;
    const { limiter, clock } = limiterAt();
    await take(limiter, 'hourly', hourly, who, 2);
    clock.now = T0 + 3600_000;
    await take(limiter, 'hourly', hourly, who, 1);

    // Act
    await limiter.reset('hourly', hourly, who);
    const state = await limiter.state('hourly', hourly, who);

    // Assess
    expect(state).toMatchObject({ remaining: 3 });
    expect(await item(`${key}#p${HOUR + 1}`)).toBeUndefined();
    expect(await item(`${key}#p${HOUR}`)).toMatchObject({ used: 2 });
    expect(await readBucket(table, hourly, key, T0)).toMatchObject({ remaining: 1 });
  });

  it('reads a spent quota without a period as never resetting, and resets it on demand', async () => {
    // Prepare
    const who = subjects();
    const { limiter } = limiterAt();
    const decisions = await take(limiter, 'lifetime', lifetime, who, 3);

    // Act
    const spent = await limiter.state('lifetime', lifetime, who);
    await limiter.reset('lifetime', lifetime, who);
    const state = await limiter.state('lifetime', lifetime, who);
    const next = await limiter.checkPolicy('lifetime', lifetime, who);

    // Assess
    expect(decisions[2]).toMatchObject({ allowed: false, retryAfterSeconds: null, resetAt: null });
    expect(spent).toEqual({ remaining: 0, limit: 2, resetAt: null });
    expect(state).toEqual({ remaining: 2, limit: 2, resetAt: null });
    expect(next).toMatchObject({ allowed: true, remaining: 1, source: 'dynamodb' });
  });
});

describe('sliding window state', () => {
  it('reads a fresh window as full', async () => {
    // Act
    const state = await limiterAt().limiter.state('window', window, subjects());

    // Assess
    expect(state).toEqual({ remaining: 4, limit: 4, resetAt: T0_SECONDS });
  });

  it('reads this window’s count, then the previous window’s fading into the next', async () => {
    // Prepare: 3 requests a quarter into the minute.
    const who = subjects();
    const { limiter, clock } = limiterAt(T0 + 15_000);
    await take(limiter, 'window', window, who, 3);

    // Act
    const now = await limiter.state('window', window, who);
    clock.now = T0 + 90_000;
    const halfIntoNext = await limiter.state('window', window, who);

    // Assess: everything counted in this minute has faded two minutes from its start; half
    // into the next minute, the 3 weigh 1.5.
    expect(now).toEqual({ remaining: 1, limit: 4, resetAt: (MINUTE + 2) * 60 });
    expect(halfIntoNext).toEqual({ remaining: 2, limit: 4, resetAt: (MINUTE + 2) * 60 });
  });

  it('reads an item two windows old as full, though TTL has not deleted it yet', async () => {
    // Prepare
    const who = subjects();
    const key = bucketKey('window', window, who)!;
    await table.client.send(new PutCommand({ TableName: table.tableName, Item: { pk: key, w: MINUTE - 2, c: 4, p: 4, expiresAt: T0_SECONDS - 60 } }));

    // Act
    const state = await readBucket(table, window, key, T0);
    const next = await limiterAt().limiter.checkPolicy('window', window, who);

    // Assess
    expect(state).toEqual({ remaining: 4, limit: 4, resetAt: T0_SECONDS });
    expect(next).toMatchObject({ allowed: true, remaining: 3 });
  });

  it('resets a spent window: full again, and the next request admitted by DynamoDB', async () => {
    // Prepare
    const who = subjects();
    const { limiter } = limiterAt();
    await take(limiter, 'window', window, who, 5);
    const remembered = await limiter.checkPolicy('window', window, who);

    // Act
    await limiter.reset('window', window, who);
    const state = await limiter.state('window', window, who);
    const next = await limiter.checkPolicy('window', window, who);

    // Assess
    expect(remembered).toMatchObject({ allowed: false, source: 'pre-block' });
    expect(state).toEqual({ remaining: 4, limit: 4, resetAt: T0_SECONDS });
    expect(next).toMatchObject({ allowed: true, remaining: 3, source: 'dynamodb' });
  });
});

describe('resetBucket', () => {
  it('succeeds on a bucket that holds nothing', async () => {
    // Prepare
    const key = bucketKey('bucket', bucket, subjects())!;

    // Act
    const resetting = resetBucket(table, bucket, key, T0);

    // Assess
    await expect(resetting).resolves.toBeUndefined();
    expect(await readBucket(table, bucket, key, T0)).toMatchObject({ remaining: 5 });
  });
});
