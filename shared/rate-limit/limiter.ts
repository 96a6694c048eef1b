import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ServiceUnavailableError } from '../errors';
import type { RateLimitDecision } from './bucket';
import { DEFAULT_MAX_KEYS, MemoryBuckets, PreBlock } from './memory';
import { capacityOf, shardOf, shardsOf, type Policy, type PolicySet } from './policy';
import { countInWindow, type WindowState } from './sliding-window';
import { readBucket, resetBucket, type BucketState } from './state';
import { consumeTokens, type BucketTable } from './token-bucket';

/** Who the request is; a policy whose subject is absent (no user on a public route) does not apply. */
export interface LimitSubjects {
  /** From API Gateway's request context, never from `X-Forwarded-For`. */
  readonly ip?: string;
  readonly tenantId?: string;
  readonly userId?: string;
  readonly apiKey?: string;
  readonly connectionId?: string;
  /** A rate-limit service caller's own key (subject `key`), scoped by `tenantId`. */
  readonly key?: string;
}

/** One policy's decision, and how it was reached. */
export interface PolicyDecision extends RateLimitDecision {
  readonly policy: string;
  /** `memory` when DynamoDB could not answer and the policy fails open; `pre-block` when no write was needed. */
  readonly source: 'dynamodb' | 'memory' | 'pre-block';
}

export interface LimitOutcome {
  readonly allowed: boolean;
  /** Every policy evaluated, in order; evaluation stops at the first refusal. */
  readonly decisions: readonly PolicyDecision[];
  /** The most restrictive decision: the refusal, or the admission with the fewest tokens left. */
  readonly deciding: PolicyDecision | undefined;
}

/** Raised for a fail-closed policy whose store could not answer in time: a 503 with `Retry-After: 5`. */
export class RateLimitUnavailableError extends ServiceUnavailableError {
  constructor(
    readonly policy: string,
    options?: ErrorOptions,
  ) {
    super(`rate limit policy ${policy} could not be checked`, 5);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export interface RateLimiterOptions {
  readonly table: BucketTable;
  readonly policies: PolicySet;
  /** DynamoDB's time budget per policy, in ms; past it, the policy fails open or closed. */
  readonly timeoutMs: number;
  readonly now?: () => number;
  /** Picks shards, in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Told about every decision made without DynamoDB because it failed: for logs and metrics. */
  readonly onDegraded?: (event: { readonly policy: string; readonly mode: 'open' | 'closed'; readonly error: unknown }) => void;
}

/**
 * Applies several policies to one request. They are consumed one after the other, in the order
 * given (put the tightest first), and evaluation stops at the first refusal: looser buckets are
 * not charged for a refused request, and a request never costs more than one refusal. They are
 * not consumed in one transaction: a token bucket's write depends on the bucket's state (see
 * `consumeTokens`), which a transaction cannot branch on, and a transaction would double the
 * write cost of every request to save the rare token a tighter bucket spends on a request a
 * looser one then refuses.
 */
export class RateLimiter {
  private readonly memory = new MemoryBuckets();
  private readonly preBlock = new PreBlock();
  /** What this instance last saw of each key: it picks the first write (one write, usually). */
  private readonly hints = new LRUCache<string, number | WindowState>({ max: DEFAULT_MAX_KEYS });
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: RateLimiterOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /**
   * Checks `cost` against each named policy that applies to `subjects`.
   * @throws RateLimitUnavailableError when a fail-closed policy cannot be checked
   */
  async check(policyNames: readonly string[], subjects: LimitSubjects, cost = 1): Promise<LimitOutcome> {
    const decisions: PolicyDecision[] = [];
    for (const name of policyNames) {
      const policy = this.options.policies[name];
      if (!policy) throw new Error(`unknown rate limit policy ${name}`);
      const decision = await this.checkPolicy(name, policy, subjects, cost);
      if (!decision) continue;
      decisions.push(decision);
      if (!decision.allowed) break;
    }
    const refusal = decisions.find((d) => !d.allowed);
    const deciding = refusal ?? [...decisions].sort((a, b) => a.remaining - b.remaining)[0];
    return { allowed: !refusal, decisions, deciding };
  }

  /**
   * Checks `cost` against one policy, named or made up for the call (the rate-limit service's
   * inline buckets); undefined when the policy's subject is absent.
   * @throws RateLimitUnavailableError when the policy fails closed and cannot be checked
   */
  async checkPolicy(name: string, policy: Policy, subjects: LimitSubjects, cost = 1): Promise<PolicyDecision | undefined> {
    const key = bucketKey(name, policy, subjects);
    if (!key) return undefined;
    const shards = shardsOf(policy);
    if (shards === 1) return this.decide(name, policy, key, cost);
    // A random shard, then, if it is empty, one other: a refusal costs at most two writes.
    const first = Math.floor(this.random() * shards);
    const tried = [await this.decideShard(name, policy, key, first, cost)];
    if (!tried[0]!.allowed && shards > 1) {
      const second = (first + 1 + Math.floor(this.random() * (shards - 1))) % shards;
      tried.push(await this.decideShard(name, policy, key, second, cost));
    }
    const admission = tried.find((d) => d.allowed);
    if (admission) return admission;
    // Retry-After: the earliest either tried shard admits again (the next request may draw another).
    return tried.reduce((a, b) => ((a.retryAfterSeconds ?? Infinity) <= (b.retryAfterSeconds ?? Infinity) ? a : b));
  }

  /** What one policy's bucket holds now (every shard summed); undefined when the subject is absent. */
  async state(name: string, policy: Policy, subjects: LimitSubjects): Promise<BucketState | undefined> {
    const key = bucketKey(name, policy, subjects);
    if (!key) return undefined;
    const now = this.now();
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    const shards = shardsOf(policy);
    const states = await unavailableOnFailure(name, () =>
      Promise.all(shards === 1 ? [readBucket(this.options.table, policy, key, now, signal)] : Array.from({ length: shards }, (_, i) => readBucket(this.options.table, shardOf(policy, i), shardKey(key, i), now, signal))),
    );
    if (shards === 1) return states[0];
    const resets = states.map((s) => s.resetAt);
    return {
      remaining: states.reduce((sum, s) => sum + s.remaining, 0),
      limit: capacityOf(policy),
      resetAt: resets.includes(null) ? null : Math.max(...(resets as number[])),
    };
  }

  /**
   * Empties one policy's bucket (every shard), here and in DynamoDB. Other instances trust a
   * refusal they remember for at most `PreBlock`'s 60 s before they ask DynamoDB again.
   */
  async reset(name: string, policy: Policy, subjects: LimitSubjects): Promise<boolean> {
    const key = bucketKey(name, policy, subjects);
    if (!key) return false;
    const now = this.now();
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    const shards = shardsOf(policy);
    const items = shards === 1 ? [{ policy, key }] : Array.from({ length: shards }, (_, i) => ({ policy: shardOf(policy, i), key: shardKey(key, i) }));
    await unavailableOnFailure(name, () => Promise.all(items.map((item) => resetBucket(this.options.table, item.policy, item.key, now, signal))));
    for (const item of items) {
      this.preBlock.forget(item.key);
      this.hints.delete(item.key);
      this.memory.forget(item.key);
    }
    return true;
  }

  /** One shard's decision, stated for the whole policy: its limit, and the shard's tokens times the shards. */
  private async decideShard(name: string, policy: Policy, key: string, index: number, cost: number): Promise<PolicyDecision> {
    const decision = await this.decide(name, shardOf(policy, index), shardKey(key, index), cost);
    const limit = capacityOf(policy);
    return { ...decision, limit, remaining: Math.min(limit, decision.remaining * shardsOf(policy)) };
  }

  private async decide(name: string, policy: Policy, key: string, cost: number): Promise<PolicyDecision> {
    const now = this.now();
    const blocked = this.preBlock.check(key, now);
    if (blocked) return { ...blocked, policy: name, source: 'pre-block' };
    try {
      const signal = AbortSignal.timeout(this.options.timeoutMs);
      const decision = await this.consume(policy, key, cost, now, signal);
      this.preBlock.remember(key, decision, now);
      return { ...decision, policy: name, source: 'dynamodb' };
    } catch (error) {
      this.options.onDegraded?.({ policy: name, mode: policy.onFailure, error });
      if (policy.onFailure === 'closed') throw new RateLimitUnavailableError(name, { cause: error });
      const spec = policy.algorithm === 'sliding-window'
        ? { capacity: policy.limit, refillPerSecond: policy.limit / policy.windowSeconds }
        : policy;
      return { ...this.memory.consume(key, spec, cost, now), policy: name, source: 'memory' };
    }
  }

  private async consume(policy: Policy, key: string, cost: number, now: number, signal: AbortSignal): Promise<RateLimitDecision> {
    const { table } = this.options;
    const hint = this.hints.get(key);
    if (policy.algorithm === 'sliding-window') {
      const result = await countInWindow(table, {
        key,
        spec: { limit: policy.limit, windowSeconds: policy.windowSeconds },
        cost,
        now,
        signal,
        ...(typeof hint === 'object' ? { hint } : {}),
      });
      this.hints.set(key, result.state);
      return result.decision;
    }
    const result = await consumeTokens(table, { key, spec: policy, cost, now, signal, hint: typeof hint === 'number' && hint > now ? 'busy' : 'idle' });
    this.hints.set(key, result.tat);
    return result.decision;
  }
}

/**
 * The bucket's key: the policy, then the subject, tenant first wherever there is one (pool
 * model: every key starts with the tenant). API keys are hashed: a key is a credential and
 * items are readable by whoever can read the table. Undefined when the subject is absent.
 */
export function bucketKey(name: string, policy: Policy, subjects: LimitSubjects): string | undefined {
  switch (policy.subject) {
    case 'ip':
      return subjects.ip ? `${name}#ip:${subjects.ip}` : undefined;
    case 'tenant':
      return subjects.tenantId ? `${name}#${subjects.tenantId}` : undefined;
    case 'user':
      return subjects.tenantId && subjects.userId ? `${name}#${subjects.tenantId}#user:${subjects.userId}` : undefined;
    case 'apiKey':
      return subjects.apiKey ? `${name}#key:${createHash('sha256').update(subjects.apiKey).digest('hex').slice(0, 32)}` : undefined;
    case 'connection':
      return subjects.connectionId ? `${name}#conn:${subjects.connectionId}` : undefined;
    case 'key':
      return subjects.tenantId && subjects.key !== undefined ? `${name}#${subjects.tenantId}#k:${subjects.key}` : undefined;
  }
}

/** A read or a reset DynamoDB cannot serve in time is a 503, whatever the policy's `onFailure` (which governs decisions only). */
async function unavailableOnFailure<T>(policy: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new RateLimitUnavailableError(policy, { cause: error });
  }
}

/** The item of shard `index` of the bucket `key`. */
export function shardKey(key: string, index: number): string {
  return `${key}#s${index}`;
}
