import { LRUCache } from 'lru-cache';
import { admitted, attemptBounds, refused, type BucketSpec, type RateLimitDecision } from './bucket';

/**
 * The two things a limiter keeps in a function instance's memory, both bounded (LRU):
 * - the fallback limiter a fail-open policy uses while DynamoDB is unavailable: the same token
 *   bucket arithmetic, per instance, so an outage loosens limits by the number of instances
 *   instead of lifting them;
 * - the pre-block: a key known to be empty until a moment needs no DynamoDB write before then.
 */

/** Keys kept per instance; an LRU drops the coldest, which costs accuracy, never memory. */
export const DEFAULT_MAX_KEYS = 10_000;

/** A token bucket per key in this instance's memory. Not shared: a fallback, not a limiter. */
export class MemoryBuckets {
  private readonly tats: LRUCache<string, number>;

  constructor(maxKeys = DEFAULT_MAX_KEYS) {
    this.tats = new LRUCache({ max: maxKeys });
  }

  /** Takes `cost` tokens (a quota counts up instead), exactly as the DynamoDB limiter decides. */
  consume(key: string, spec: BucketSpec, cost: number, now: number): RateLimitDecision {
    if (spec.refillPerSecond === 0) return this.consumeQuota(key, spec, cost, now);
    const { limitTat, idleTat, costMs } = attemptBounds(spec, cost, now);
    const tat = this.tats.get(key);
    if (tat === undefined || tat < now) {
      this.tats.set(key, idleTat);
      return admitted(spec, idleTat, now);
    }
    if (tat > limitTat) return refused(spec, tat, cost, now);
    this.tats.set(key, tat + costMs);
    return admitted(spec, tat + costMs, now);
  }

  /** Forgets a key (and its quota periods), after a reset. */
  forget(key: string): void {
    for (const slot of [...this.tats.keys()]) if (slot === key || slot.startsWith(`${key}#p`)) this.tats.delete(slot);
  }

  private consumeQuota(key: string, spec: BucketSpec, cost: number, now: number): RateLimitDecision {
    const period = spec.periodSeconds ? Math.floor(now / 1000 / spec.periodSeconds) : 0;
    const endsAt = spec.periodSeconds ? (period + 1) * spec.periodSeconds : null;
    const slot = `${key}#p${period}`;
    const used = this.tats.get(slot) ?? 0;
    const allowed = used + cost <= spec.capacity;
    if (allowed) this.tats.set(slot, used + cost);
    return {
      allowed,
      remaining: Math.max(0, spec.capacity - (allowed ? used + cost : used)),
      limit: spec.capacity,
      resetAt: endsAt,
      retryAfterSeconds: allowed ? 0 : endsAt === null ? null : Math.max(1, Math.ceil(endsAt - now / 1000)),
    };
  }
}

/**
 * Keys refused until a known moment. A refusal within that time needs no DynamoDB write: the
 * bucket cannot have refilled earlier, whatever other instances did (they can only take tokens).
 */
export class PreBlock {
  private readonly until: LRUCache<string, { readonly until: number; readonly at: number; readonly decision: RateLimitDecision }>;

  /**
   * @param maxKeys keys remembered at most
   * @param maxBlockMs longest a refusal is trusted without asking DynamoDB: an administrator's
   *   reset (DELETE /v1/limits/{key}) on another instance reaches this one within it. @default 60 s
   */
  constructor(maxKeys = DEFAULT_MAX_KEYS, private readonly maxBlockMs = 60_000) {
    this.until = new LRUCache({ max: maxKeys });
  }

  /** Remembers a refusal: the key stays refused until its Retry-After has passed (or `maxBlockMs`). */
  remember(key: string, decision: RateLimitDecision, now: number): void {
    if (decision.allowed) return;
    const retryAt = decision.retryAfterSeconds === null ? Number.POSITIVE_INFINITY : now + decision.retryAfterSeconds * 1000;
    this.until.set(key, { until: Math.min(retryAt, now + this.maxBlockMs), at: now, decision });
  }

  /** Forgets a key, after a reset this instance made itself. */
  forget(key: string): void {
    this.until.delete(key);
  }

  /**
   * The refusal for `key` at `now`, if it is still certainly refused, with Retry-After counted
   * down; undefined when DynamoDB must decide.
   */
  check(key: string, now: number): RateLimitDecision | undefined {
    const entry = this.until.get(key);
    if (!entry) return undefined;
    if (now >= entry.until) {
      this.until.delete(key);
      return undefined;
    }
    // Retry-After still says when the bucket refills, not when this instance will ask again.
    const original = entry.decision.retryAfterSeconds;
    const retryAfterSeconds = original === null ? null : Math.max(1, original - Math.floor((now - entry.at) / 1000));
    return { ...entry.decision, retryAfterSeconds };
  }
}
