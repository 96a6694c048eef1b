import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { useLocalTable } from '../../support/dynamodb';
import { tokensAt, type BucketSpec } from '#shared/rate-limit/bucket';
import { consumeTokens, type BucketTable } from '#shared/rate-limit/token-bucket';

// Real conditional writes, on Amazon's DynamoDB Local, with the clock passed in.
const table: BucketTable = useLocalTable('buckets');
let keys = 0;
const key = () => `tenant-a#test#${++keys}`;
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

const spend = (k: string, spec: BucketSpec, now: number, cost = 1) => consumeTokens(table, { key: k, spec, cost, now });

describe('consumeTokens', () => {
  it('admits a burst up to the capacity at once, counting down, then refuses with an honest Retry-After', async () => {
    // Prepare
    const k = key();
    const spec = { capacity: 5, refillPerSecond: 1 };

    // Act
    const burst = [];
    for (let i = 0; i < 6; i++) burst.push((await spend(k, spec, T0)).decision);

    // Assess
    expect(burst.slice(0, 5).map((d) => [d.allowed, d.remaining])).toEqual([[true, 4], [true, 3], [true, 2], [true, 1], [true, 0]]);
    expect(burst[5]).toEqual({ allowed: false, remaining: 0, limit: 5, resetAt: T0 / 1000 + 5, retryAfterSeconds: 1 });
  });

  it('refills by elapsed time: one token a second later, and no more', async () => {
    // Prepare
    const k = key();
    const spec = { capacity: 3, refillPerSecond: 1 };
    for (let i = 0; i < 3; i++) await spend(k, spec, T0);

    // Act
    const early = await spend(k, spec, T0 + 999);
    const onTime = await spend(k, spec, T0 + 1000);
    const again = await spend(k, spec, T0 + 1000);

    // Assess
    expect(early.decision.allowed).toBe(false);
    expect(onTime.decision).toMatchObject({ allowed: true, remaining: 0 });
    expect(again.decision).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
  });

  it('refills fractional rates: 0.5 tokens a second means one token every 2 s', async () => {
    // Prepare
    const k = key();
    const spec = { capacity: 2, refillPerSecond: 0.5 };
    await spend(k, spec, T0);
    await spend(k, spec, T0);

    // Act
    const atOne = await spend(k, spec, T0 + 1000);
    const atTwo = await spend(k, spec, T0 + 2000);

    // Assess
    expect(atOne.decision).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(atTwo.decision.allowed).toBe(true);
  });

  it('caps the refill at the capacity, however long the bucket sat idle', async () => {
    // Prepare
    const k = key();
    const spec = { capacity: 4, refillPerSecond: 10 };
    await spend(k, spec, T0);
    const later = T0 + 3_600_000;

    // Act
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push((await spend(k, spec, later)).decision.allowed);

    // Assess
    expect(decisions).toEqual([true, true, true, true, false]);
  });

  it('takes a cost of several tokens at once, and refuses a cost the bucket cannot cover yet', async () => {
    // Prepare
    const k = key();
    const spec = { capacity: 5, refillPerSecond: 1 };

    // Act
    const first = await spend(k, spec, T0, 3);
    const second = await spend(k, spec, T0, 3);

    // Assess
    expect(first.decision).toMatchObject({ allowed: true, remaining: 2 });
    expect(second.decision).toMatchObject({ allowed: false, remaining: 2, retryAfterSeconds: 1 });
  });

  it('spends each token once under 200 concurrent requests: exactly the capacity is admitted', async () => {
    // Prepare
    const k = key();
    const spec = { capacity: 50, refillPerSecond: 0.0001 };

    // Act
    const results = await Promise.all(Array.from({ length: 200 }, () => spend(k, spec, T0)));

    // Assess
    expect(results.filter((r) => r.decision.allowed)).toHaveLength(50);
    expect(results.filter((r) => !r.decision.allowed).every((r) => (r.decision.retryAfterSeconds ?? 0) > 0)).toBe(true);
    expect(new Set(results.filter((r) => r.decision.allowed).map((r) => r.decision.remaining)).size).toBe(50);
  });

  it('takes one write when the hint is right, two when it is wrong, and never a wrong decision', async () => {
    // Prepare
    const k = key();
    const spec = { capacity: 10, refillPerSecond: 1 };

    // Act
    const fresh = await consumeTokens(table, { key: k, spec, cost: 1, now: T0, hint: 'idle' });
    const busyRight = await consumeTokens(table, { key: k, spec, cost: 1, now: T0, hint: 'busy' });
    const busyWrong = await consumeTokens(table, { key: k, spec, cost: 1, now: T0, hint: 'idle' });

    // Assess
    expect([fresh.calls, busyRight.calls, busyWrong.calls]).toEqual([1, 1, 2]);
    expect(busyWrong.decision).toMatchObject({ allowed: true, remaining: 7 });
  });

  it('treats an item whose time has passed as a full bucket, whether or not TTL has deleted it', async () => {
    // Prepare: an item TTL has not removed yet, its bucket long since full again.
    const k = key();
    const spec = { capacity: 2, refillPerSecond: 1 };
    await table.client.send(new PutCommand({ TableName: 'buckets', Item: { pk: k, tat: T0 - 86_400_000, expiresAt: 1 } }));

    // Act
    const a = await spend(k, spec, T0);
    const b = await spend(k, spec, T0);
    const c = await spend(k, spec, T0);

    // Assess
    expect([a.decision.allowed, b.decision.allowed, c.decision.allowed]).toEqual([true, true, false]);
  });
});

describe('quotas (no refill)', () => {
  it('admits exactly the capacity of 200 concurrent requests in one write each, and never says when to retry', async () => {
    // Prepare
    const k = key();
    const spec = { capacity: 50, refillPerSecond: 0 };

    // Act
    const results = await Promise.all(Array.from({ length: 200 }, () => spend(k, spec, T0)));

    // Assess
    const allowed = results.filter((r) => r.decision.allowed);
    expect(allowed).toHaveLength(50);
    expect(results.every((r) => r.calls === 1)).toBe(true);
    expect(new Set(allowed.map((r) => r.decision.remaining))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => i)));
    expect(results.find((r) => !r.decision.allowed)!.decision).toEqual({ allowed: false, remaining: 0, limit: 50, resetAt: null, retryAfterSeconds: null });
  });

  it('starts a periodic quota again at the next period, and says when', async () => {
    // Prepare: a daily quota of 2, spent at 23:59:30 UTC.
    const k = key();
    const spec = { capacity: 2, refillPerSecond: 0, periodSeconds: 86_400 };
    const lateEvening = Date.UTC(2026, 10, 23, 23, 59, 30);
    const midnight = Date.UTC(2026, 10, 24) / 1000;
    await spend(k, spec, lateEvening, 2);

    // Act
    const refusedLate = await spend(k, spec, lateEvening);
    const nextDay = await spend(k, spec, lateEvening + 31_000);

    // Assess
    expect(refusedLate.decision).toEqual({ allowed: false, remaining: 0, limit: 2, resetAt: midnight, retryAfterSeconds: 30 });
    expect(nextDay.decision).toMatchObject({ allowed: true, remaining: 1, resetAt: midnight + 86_400 });
  });
});

describe('tokensAt', () => {
  it('is full for a new bucket or a past tat, and counts fractional tokens between', () => {
    const spec = { capacity: 4, refillPerSecond: 2 };
    expect(tokensAt(spec, undefined, T0)).toBe(4);
    expect(tokensAt(spec, T0 - 1, T0)).toBe(4);
    expect(tokensAt(spec, T0 + 1000, T0)).toBe(2);
    expect(tokensAt(spec, T0 + 250, T0)).toBe(3.5);
  });
});
