import { describe, expect, it } from 'vitest';
import { useLocalTable } from '../../support/dynamodb';
import { countInWindow, type WindowSpec } from '#shared/rate-limit/sliding-window';
import type { BucketTable } from '#shared/rate-limit/token-bucket';

const table: BucketTable = useLocalTable('windows');
let keys = 0;
const key = () => `tenant-a#window#${++keys}`;
// Window boundaries land on multiples of 10 s: T0 is one.
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const spec: WindowSpec = { limit: 10, windowSeconds: 10 };

async function admittedCount(k: string, s: WindowSpec, now: number, attempts: number): Promise<number> {
  let admitted = 0;
  for (let i = 0; i < attempts; i++) if ((await countInWindow(table, { key: k, spec: s, cost: 1, now })).decision.allowed) admitted++;
  return admitted;
}

describe('countInWindow', () => {
  it('admits the limit in one window, then refuses until the count has faded enough', async () => {
    // Prepare
    const k = key();

    // Act
    const admitted = await admittedCount(k, spec, T0, 10);
    const refused = await countInWindow(table, { key: k, spec, cost: 1, now: T0 });

    // Assess: in the next window, 10 * (1 - f) + 1 <= 10 once f >= 0.1, so at T0 + 11 s.
    expect(admitted).toBe(10);
    expect(refused.decision).toMatchObject({ allowed: false, remaining: 0, limit: 10, retryAfterSeconds: 11 });
  });

  it('weights the previous window by how much of it the sliding window still covers', async () => {
    // Prepare: a full previous window.
    const k = key();
    await admittedCount(k, spec, T0, 10);

    // Act: a quarter into the next window, the previous one weighs 7.5.
    const admitted = await admittedCount(k, spec, T0 + 12_500, 5);

    // Assess
    expect(admitted).toBe(2);
  });

  it('does not double the burst at a window edge, as a fixed window would', async () => {
    // Prepare
    const k = key();
    const justBefore = await admittedCount(k, spec, T0 + 9_900, 10);

    // Act
    const justAfter = await admittedCount(k, spec, T0 + 10_100, 10);

    // Assess
    expect(justBefore).toBe(10);
    expect(justAfter).toBe(0);
  });

  it('forgets a key idle for two windows', async () => {
    // Prepare
    const k = key();
    await admittedCount(k, spec, T0, 10);

    // Act
    const admitted = await admittedCount(k, spec, T0 + 20_000, 11);

    // Assess
    expect(admitted).toBe(10);
  });

  it('counts each request once under 100 concurrent requests: exactly the limit is admitted', async () => {
    // Prepare
    const k = key();
    const wide = { limit: 30, windowSeconds: 60 };

    // Act
    const results = await Promise.all(Array.from({ length: 100 }, () => countInWindow(table, { key: k, spec: wide, cost: 1, now: T0 + 1000 })));

    // Assess
    expect(results.filter((r) => r.decision.allowed)).toHaveLength(30);
  });

  it('takes one write when the hint is right, and learns the state from a failed write when it is not', async () => {
    // Prepare
    const k = key();
    const first = await countInWindow(table, { key: k, spec, cost: 1, now: T0 });

    // Act
    const hinted = await countInWindow(table, { key: k, spec, cost: 1, now: T0, hint: first.state });
    const unhinted = await countInWindow(table, { key: k, spec, cost: 1, now: T0 });

    // Assess
    expect([first.calls, hinted.calls, unhinted.calls]).toEqual([1, 1, 2]);
    expect(unhinted.state).toEqual({ window: Math.floor(T0 / 10_000), current: 3, previous: 0 });
    expect(unhinted.decision.remaining).toBe(7);
  });
});
