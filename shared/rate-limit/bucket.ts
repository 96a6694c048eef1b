/**
 * Token-bucket arithmetic, as GCRA (the generic cell rate algorithm): a bucket is one number,
 * its theoretical arrival time `tat`, the moment it would be full again. That single number is
 * what makes the decision an atomic DynamoDB conditional write: no read, no lock.
 *
 * With `interval` = 1 / refill rate (ms per token), a request of `cost` tokens at `now` is
 * admitted when `max(tat, now) + cost * interval <= now + capacity * interval`, and the bucket's
 * new `tat` is `max(tat, now) + cost * interval`. Tokens left = (now + capacity * interval - tat) / interval.
 *
 * Pure functions, with the clock passed in, so refill math is tested without waiting.
 */

/** A bucket's shape: how many tokens it holds, and how fast it refills. */
export interface BucketSpec {
  /** Largest burst, in tokens. */
  readonly capacity: number;
  /** Tokens added per second, fractions allowed; 0 means the bucket never refills (a quota). */
  readonly refillPerSecond: number;
  /**
   * For a quota (`refillPerSecond: 0`): the period after which it starts again, in seconds
   * (86400 for a daily quota, aligned to UTC midnight). Left out, the quota never resets.
   */
  readonly periodSeconds?: number;
}

/** What a limiter says about one request. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Tokens left after this request (whole tokens, rounded down). */
  readonly remaining: number;
  readonly limit: number;
  /** When the bucket is full again, epoch seconds; null for a quota that never resets. */
  readonly resetAt: number | null;
  /**
   * When a refused request of the same cost would be admitted; 0 when allowed; null when it never
   * will (a quota without a period, spent).
   */
  readonly retryAfterSeconds: number | null;
}

/** Milliseconds between two tokens. */
export function intervalMs(spec: BucketSpec): number {
  return 1000 / spec.refillPerSecond;
}

/**
 * The condition bounds and new state for one attempt, from the caller's clock.
 * - `limitTat`: the largest `tat` that still admits `cost` tokens;
 * - `idleTat`: the new `tat` when the bucket was full (its `tat` in the past);
 * - `costMs`: what the request adds to a busy bucket's `tat`.
 */
export function attemptBounds(spec: BucketSpec, cost: number, now: number): { limitTat: number; idleTat: number; costMs: number } {
  const interval = intervalMs(spec);
  return { limitTat: now + (spec.capacity - cost) * interval, idleTat: now + cost * interval, costMs: cost * interval };
}

/** The decision once the write succeeded and the bucket's `tat` is `tat`. */
export function admitted(spec: BucketSpec, tat: number, now: number): RateLimitDecision {
  const interval = intervalMs(spec);
  return {
    allowed: true,
    remaining: Math.max(0, Math.floor((now + spec.capacity * interval - tat) / interval + 1e-9)),
    limit: spec.capacity,
    resetAt: Math.ceil(Math.max(tat, now) / 1000),
    retryAfterSeconds: 0,
  };
}

/** The decision when the bucket's `tat` is too far ahead to admit `cost` tokens. */
export function refused(spec: BucketSpec, tat: number, cost: number, now: number): RateLimitDecision {
  const { limitTat } = attemptBounds(spec, cost, now);
  const interval = intervalMs(spec);
  return {
    allowed: false,
    remaining: Math.max(0, Math.floor((now + spec.capacity * interval - tat) / interval + 1e-9)),
    limit: spec.capacity,
    resetAt: Math.ceil(tat / 1000),
    // Honest: the earliest moment this same request would pass, rounded up to a whole second.
    retryAfterSeconds: Math.max(1, Math.ceil((tat - limitTat) / 1000)),
  };
}

/** Tokens a bucket holds at `now`, given its `tat` (undefined: never used, so full). */
export function tokensAt(spec: BucketSpec, tat: number | undefined, now: number): number {
  if (tat === undefined || tat <= now) return spec.capacity;
  return Math.max(0, (now + spec.capacity * intervalMs(spec) - tat) / intervalMs(spec));
}
