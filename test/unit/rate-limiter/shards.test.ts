import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { bucketKey, RateLimiter, shardKey, type LimitSubjects } from '#shared/rate-limit/limiter';
import { maxCostOf, PolicySchema, shardOf, type Policy } from '#shared/rate-limit/policy';
import { useLocalTable } from '../../support/dynamodb';

const table = useLocalTable('shards');
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
let tenants = 0;
const subjects = (): LimitSubjects => ({ tenantId: `t${++tenants}`, key: 'export:nightly' });

/** 10 tokens over 4 shards: 3, 3, 2, 2; each refills 0.5 a second (one token every 2 s). */
const hot: Policy = { subject: 'key', algorithm: 'token-bucket', capacity: 10, refillPerSecond: 2, shards: 4, onFailure: 'closed' };

/** The draw that makes `Math.floor(random() * shards)` pick shard `index`. */
const pick = (index: number, shards: number) => (index + 0.5) / shards;

/** A `random` that answers queued draws in turn; the test checks that none is left over. */
function queuedDraws(...values: number[]) {
  const queue = [...values];
  return {
    queue,
    random: () => {
      const draw = queue.shift();
      if (draw === undefined) throw new Error('the limiter drew more shards than the test queued');
      return draw;
    },
  };
}

/**
 * For serial checks: each request draws shard `target` first and, when it is empty, the next
 * shard up (a second draw of 0 picks `(first + 1) % shards`).
 */
function aimedDraws(shards: number) {
  const aim = { target: 0, drawn: 0 };
  return {
    at(target: number) {
      aim.target = target;
      aim.drawn = 0;
    },
    random: () => (aim.drawn++ === 0 ? pick(aim.target, shards) : 0),
  };
}

async function itemExists(pk: string): Promise<boolean> {
  const answer = await table.client.send(new GetCommand({ TableName: table.tableName, Key: { pk }, ConsistentRead: true }));
  return answer.Item !== undefined;
}

describe('shardOf', () => {
  it('shares the capacity out with the remainder on the first shards, and the refill evenly', () => {
    // Act
    const shards = [0, 1, 2, 3].map((i) => shardOf(hot, i));

    // Assess
    expect(shards.map((s) => (s.algorithm === 'token-bucket' ? s.capacity : s.limit))).toEqual([3, 3, 2, 2]);
    expect(shards.map((s) => (s.algorithm === 'token-bucket' ? s.refillPerSecond : undefined))).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(shards.every((s) => s.shards === 1 && s.subject === 'key' && s.onFailure === 'closed')).toBe(true);
  });

  it.each([
    { capacity: 40, refill: 4000, shards: 8 },
    { capacity: 7, refill: 1, shards: 3 },
    { capacity: 256, refill: 0.3, shards: 256 },
    { capacity: 1001, refill: 0, shards: 13 },
  ])('sums its shards back to capacity $capacity and refill $refill over $shards shards', ({ capacity, refill, shards }) => {
    // Prepare
    const policy: Policy = { subject: 'key', algorithm: 'token-bucket', capacity, refillPerSecond: refill, shards, onFailure: 'open' };

    // Act
    const parts = Array.from({ length: shards }, (_, i) => shardOf(policy, i));

    // Assess
    const capacities = parts.map((p) => (p.algorithm === 'token-bucket' ? p.capacity : 0));
    const refills = parts.map((p) => (p.algorithm === 'token-bucket' ? p.refillPerSecond : 0));
    expect(capacities.reduce((a, b) => a + b, 0)).toBe(capacity);
    expect(Math.max(...capacities) - Math.min(...capacities)).toBeLessThanOrEqual(1);
    expect(refills.reduce((a, b) => a + b, 0)).toBeCloseTo(refill, 9);
  });

  it('shares a sliding window limit and keeps the window', () => {
    // Prepare
    const policy: Policy = { subject: 'key', algorithm: 'sliding-window', limit: 7, windowSeconds: 60, shards: 3, onFailure: 'open' };

    // Act
    const parts = [0, 1, 2].map((i) => shardOf(policy, i));

    // Assess
    expect(parts).toEqual([0, 1, 2].map((i) => ({ ...policy, limit: [3, 2, 2][i], shards: 1 })));
  });

  it('is the policy itself when there is one shard', () => {
    const single: Policy = { ...hot, shards: undefined };
    expect(shardOf(single, 0)).toBe(single);
  });
});

describe('sharded policies', () => {
  it('never admit a cost larger than the smallest shard holds', () => {
    expect(maxCostOf(hot)).toBe(2);
    expect(maxCostOf({ ...hot, shards: undefined })).toBe(10);
    expect(maxCostOf({ subject: 'key', algorithm: 'sliding-window', limit: 9, windowSeconds: 1, shards: 2, onFailure: 'open' })).toBe(4);
  });

  it.each([
    { shards: 11, rule: /cannot exceed the capacity/ },
    { shards: 0, rule: /expected number to be >=1/ },
    { shards: 257, rule: /expected number to be <=256/ },
    { shards: 1.5, rule: /expected int/ },
  ])('refuse $shards shards for a capacity of 10, at shards', ({ shards, rule }) => {
    // Act
    const parsed = PolicySchema.safeParse({ ...hot, shards });

    // Assess: a union's issues may nest, so they are searched as text.
    expect(parsed.success).toBe(false);
    const issues = JSON.stringify(parsed.error!.issues);
    expect(issues).toContain('"path":["shards"]');
    expect(issues).toMatch(rule);
  });

  it('accept as many shards as the capacity has tokens', () => {
    expect(PolicySchema.safeParse({ ...hot, shards: 10 }).success).toBe(true);
  });
});

describe('RateLimiter on a sharded policy', () => {
  it('keys each shard item #s<i> and reports the whole capacity, with the shard remaining times the shards', async () => {
    // Prepare: shard 2 first (2 tokens).
    const who = subjects();
    const draws = queuedDraws(pick(2, 4));
    const limiter = new RateLimiter({ table, policies: {}, timeoutMs: 5000, now: () => T0, random: draws.random });
    const key = bucketKey('hot', hot, who)!;

    // Act
    const decision = await limiter.checkPolicy('hot', hot, who);

    // Assess
    expect(key).toBe(`hot#${who.tenantId}#k:export:nightly`);
    expect(shardKey(key, 2)).toBe(`${key}#s2`);
    expect(decision).toMatchObject({ policy: 'hot', allowed: true, limit: 10, remaining: 4, source: 'dynamodb' });
    expect(await itemExists(`${key}#s2`)).toBe(true);
    expect(await Promise.all([key, `${key}#s0`, `${key}#s1`, `${key}#s3`].map(itemExists))).toEqual([false, false, false, false]);
  });

  it('tries one other shard, drawn at random, when the first is empty, and refuses only when both are', async () => {
    // Prepare: every request draws shard 0 first; a retry's draw of 0.99 picks the last of the three others, shard 3.
    const who = subjects();
    const draws = queuedDraws();
    const limiter = new RateLimiter({ table, policies: {}, timeoutMs: 5000, now: () => T0, random: draws.random });
    const key = bucketKey('hot', hot, who)!;

    // Act
    const decisions = [];
    for (let i = 0; i < 3; i++) {
      draws.queue.push(0);
      decisions.push(await limiter.checkPolicy('hot', hot, who));
    }
    for (let i = 0; i < 3; i++) {
      draws.queue.push(0, 0.99);
      decisions.push(await limiter.checkPolicy('hot', hot, who));
    }

    // Assess: shard 0 holds 3, shard 3 holds 2; the sixth request finds both empty.
    expect(draws.queue).toEqual([]);
    expect(decisions.map((d) => d!.allowed)).toEqual([true, true, true, true, true, false]);
    expect(decisions.map((d) => d!.remaining)).toEqual([8, 4, 0, 4, 0, 0]);
    expect(await Promise.all([0, 1, 2, 3].map((i) => itemExists(`${key}#s${i}`)))).toEqual([true, false, false, true]);
    // Both shards refill one token every 2 s.
    expect(decisions[5]).toMatchObject({ policy: 'hot', limit: 10, retryAfterSeconds: 2 });
  });

  it('reports the earlier of the two shards a refused request tried as its Retry-After', async () => {
    // Prepare: at T0, shard 1 drained (tat T0 + 6 s); at T0 + 3 s, the 1.5 tokens it refilled
    // taken (tat T0 + 8 s: its next token in 1 s), and shard 0 drained (tat T0 + 9 s: in 2 s).
    const who = subjects();
    let now = T0;
    const draws = queuedDraws();
    const limiter = new RateLimiter({ table, policies: {}, timeoutMs: 5000, now: () => now, random: draws.random });
    for (let i = 0; i < 3; i++) {
      draws.queue.push(pick(1, 4));
      await limiter.checkPolicy('hot', hot, who);
    }
    now = T0 + 3000;
    draws.queue.push(pick(1, 4), pick(0, 4), pick(0, 4), pick(0, 4));
    for (let i = 0; i < 4; i++) expect(await limiter.checkPolicy('hot', hot, who)).toMatchObject({ allowed: true });

    // Act: shard 0 first, then shard 1 (a second draw of 0 picks (0 + 1) % 4).
    draws.queue.push(pick(0, 4), 0);
    const refused = await limiter.checkPolicy('hot', hot, who);

    // Assess
    expect(draws.queue).toEqual([]);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, limit: 10, retryAfterSeconds: 1 });
  });

  it('never admits more than the whole capacity under concurrent checks, and loses no token', async () => {
    // Prepare: 40 tokens over 4 shards, a frozen clock (no refill), every check tried by DynamoDB.
    const bulk: Policy = { subject: 'key', algorithm: 'token-bucket', capacity: 40, refillPerSecond: 4, shards: 4, onFailure: 'closed' };
    const who = subjects();
    const degraded = vi.fn();
    const limiter = new RateLimiter({ table, policies: {}, timeoutMs: 20_000, now: () => T0, onDegraded: degraded });

    // Act
    const burst = await Promise.all(Array.from({ length: 60 }, () => limiter.checkPolicy('bulk', bulk, who)));
    const afterBurst = await limiter.state('bulk', bulk, who);
    // Then serially, each shard drawn first ten times in turn: every shard ends empty.
    const draws = aimedDraws(4);
    const drainer = new RateLimiter({ table, policies: {}, timeoutMs: 20_000, now: () => T0, random: draws.random });
    const drain = [];
    for (let i = 0; i < 40; i++) {
      draws.at(Math.floor(i / 10));
      drain.push(await drainer.checkPolicy('bulk', bulk, who));
    }

    // Assess
    const admittedInBurst = burst.filter((d) => d!.allowed).length;
    const admittedInDrain = drain.filter((d) => d!.allowed).length;
    expect(degraded).not.toHaveBeenCalled();
    expect(admittedInBurst).toBeGreaterThan(0);
    expect(admittedInBurst).toBeLessThanOrEqual(40);
    expect(afterBurst).toMatchObject({ remaining: 40 - admittedInBurst, limit: 40 });
    expect(admittedInBurst + admittedInDrain).toBe(40);
    expect(burst.every((d) => d!.limit === 40 && d!.remaining <= 40)).toBe(true);
  });

  it('reads its state as the sum of its shards, full again when the last shard is', async () => {
    // Prepare: 2 tokens from shard 0 and 1 from shard 3.
    const who = subjects();
    const draws = queuedDraws(pick(0, 4), pick(0, 4), pick(3, 4));
    const limiter = new RateLimiter({ table, policies: {}, timeoutMs: 5000, now: () => T0, random: draws.random });
    for (let i = 0; i < 3; i++) await limiter.checkPolicy('hot', hot, who);

    // Act
    const fresh = await limiter.state('hot', hot, subjects());
    const used = await limiter.state('hot', hot, who);

    // Assess: shards hold 1 + 3 + 2 + 1; shard 0 (tat T0 + 4 s) is the last to be full.
    expect(fresh).toEqual({ remaining: 10, limit: 10, resetAt: T0 / 1000 });
    expect(used).toEqual({ remaining: 7, limit: 10, resetAt: T0 / 1000 + 4 });
  });

  it('sums the shards of a sharded quota, whose period items hang off each shard', async () => {
    // Prepare
    const quota: Policy = { subject: 'key', algorithm: 'token-bucket', capacity: 9, refillPerSecond: 0, periodSeconds: 3600, shards: 3, onFailure: 'open' };
    const who = subjects();
    const limiter = new RateLimiter({ table, policies: {}, timeoutMs: 5000, now: () => T0, random: queuedDraws(pick(1, 3)).random });
    const period = Math.floor(T0 / 1000 / 3600);

    // Act
    await limiter.checkPolicy('quota', quota, who, 2);
    const state = await limiter.state('quota', quota, who);

    // Assess
    expect(state).toEqual({ remaining: 7, limit: 9, resetAt: (period + 1) * 3600 });
    expect(await itemExists(`${bucketKey('quota', quota, who)}#s1#p${period}`)).toBe(true);
  });

  it('resets every shard, here and in DynamoDB: the next request is admitted by DynamoDB, not refused from memory', async () => {
    // Prepare: every shard drained by one limiter, which then remembers them as refused.
    const who = subjects();
    const draws = aimedDraws(4);
    const limiter = new RateLimiter({ table, policies: {}, timeoutMs: 5000, now: () => T0, random: draws.random });
    for (let i = 0; i < 16; i++) {
      draws.at(Math.floor(i / 4));
      await limiter.checkPolicy('hot', hot, who);
    }
    draws.at(0);
    const refused = await limiter.checkPolicy('hot', hot, who);
    const key = bucketKey('hot', hot, who)!;

    // Act
    const reset = await limiter.reset('hot', hot, who);
    const state = await limiter.state('hot', hot, who);
    draws.at(0);
    const next = await limiter.checkPolicy('hot', hot, who);

    // Assess
    expect(refused).toMatchObject({ allowed: false, source: 'pre-block' });
    expect(reset).toBe(true);
    expect(state).toMatchObject({ remaining: 10, limit: 10 });
    expect(next).toMatchObject({ allowed: true, source: 'dynamodb' });
    // Only the shard the next request took holds an item again.
    expect((await Promise.all([0, 1, 2, 3].map((i) => itemExists(`${key}#s${i}`)))).filter(Boolean)).toHaveLength(1);
  });
});
