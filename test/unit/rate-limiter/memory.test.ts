import { describe, expect, it } from 'vitest';
import { MemoryBuckets, PreBlock } from '#shared/rate-limit/memory';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

describe('MemoryBuckets', () => {
  it('decides like the DynamoDB bucket: burst, refusal with Retry-After, refill', () => {
    // Prepare
    const buckets = new MemoryBuckets();
    const spec = { capacity: 3, refillPerSecond: 1 };

    // Act
    const burst = [1, 2, 3, 4].map(() => buckets.consume('k', spec, 1, T0));
    const refilled = buckets.consume('k', spec, 1, T0 + 1000);

    // Assess
    expect(burst.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(burst[3]).toMatchObject({ remaining: 0, retryAfterSeconds: 1 });
    expect(refilled.allowed).toBe(true);
  });

  it('keeps quotas per period', () => {
    // Prepare
    const buckets = new MemoryBuckets();
    const spec = { capacity: 2, refillPerSecond: 0, periodSeconds: 60 };

    // Act
    const inPeriod = [1, 2, 3].map(() => buckets.consume('q', spec, 1, T0).allowed);
    const nextPeriod = buckets.consume('q', spec, 1, T0 + 60_000).allowed;

    // Assess
    expect(inPeriod).toEqual([true, true, false]);
    expect(nextPeriod).toBe(true);
  });

  it('forgets the coldest keys beyond its bound instead of growing', () => {
    // Prepare
    const buckets = new MemoryBuckets(2);
    const spec = { capacity: 1, refillPerSecond: 0.001 };
    buckets.consume('a', spec, 1, T0);

    // Act: two other keys push `a` out, so it starts full again.
    buckets.consume('b', spec, 1, T0);
    buckets.consume('c', spec, 1, T0);
    const again = buckets.consume('a', spec, 1, T0);

    // Assess
    expect(again.allowed).toBe(true);
  });
});

describe('PreBlock', () => {
  const refusal = { allowed: false, remaining: 0, limit: 5, resetAt: T0 / 1000 + 10, retryAfterSeconds: 10 };

  it('answers a key refused until its Retry-After, counting it down, then lets DynamoDB decide again', () => {
    // Prepare
    const block = new PreBlock();
    block.remember('k', refusal, T0);

    // Act
    const soon = block.check('k', T0 + 4_000);
    const after = block.check('k', T0 + 10_000);

    // Assess
    expect(soon).toMatchObject({ allowed: false, retryAfterSeconds: 6 });
    expect(after).toBeUndefined();
  });

  it('trusts a refusal for at most maxBlockMs, so a reset elsewhere reaches this instance', () => {
    // Prepare: a spent quota that never resets by itself.
    const block = new PreBlock(100, 5_000);
    block.remember('q', { ...refusal, resetAt: null, retryAfterSeconds: null }, T0);

    // Act
    const within = block.check('q', T0 + 4_999);
    const beyond = block.check('q', T0 + 5_000);

    // Assess
    expect(within).toMatchObject({ allowed: false, retryAfterSeconds: null });
    expect(beyond).toBeUndefined();
  });

  it('ignores admissions and forgets a key on request', () => {
    const block = new PreBlock();
    block.remember('ok', { ...refusal, allowed: true, retryAfterSeconds: 0 }, T0);
    block.remember('k', refusal, T0);
    block.forget('k');
    expect(block.check('ok', T0)).toBeUndefined();
    expect(block.check('k', T0)).toBeUndefined();
  });
});
