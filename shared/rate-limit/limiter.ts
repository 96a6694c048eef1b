import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { RateLimitDecision } from './bucket';
import { DEFAULT_MAX_KEYS, MemoryBuckets, PreBlock } from './memory';
import type { Policy, PolicySet } from './policy';
import { countInWindow, type WindowState } from './sliding-window';
import { consumeTokens, type BucketTable } from './token-bucket';

/** Who the request is; a policy whose subject is absent (no user on a public route) does not apply. */
export interface LimitSubjects {
  /** From API Gateway's request context, never from `X-Forwarded-For`. */
  readonly ip?: string;
  readonly tenantId?: string;
  readonly userId?: string;
  readonly apiKey?: string;
  readonly connectionId?: string;
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

/** Raised for a fail-closed policy whose store could not answer in time. */
export class RateLimitUnavailableError extends Error {
  constructor(
    readonly policy: string,
    options?: ErrorOptions,
  ) {
    super(`rate limit policy ${policy} could not be checked`, options);
    this.name = 'RateLimitUnavailableError';
  }
}

export interface RateLimiterOptions {
  readonly table: BucketTable;
  readonly policies: PolicySet;
  /** DynamoDB's time budget per policy, in ms; past it, the policy fails open or closed. */
  readonly timeoutMs: number;
  readonly now?: () => number;
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

  constructor(private readonly options: RateLimiterOptions) {
    this.now = options.now ?? Date.now;
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
      const key = bucketKey(name, policy, subjects);
      if (!key) continue;
      const decision = await this.decide(name, policy, key, cost);
      decisions.push(decision);
      if (!decision.allowed) break;
    }
    const refusal = decisions.find((d) => !d.allowed);
    const deciding = refusal ?? [...decisions].sort((a, b) => a.remaining - b.remaining)[0];
    return { allowed: !refusal, decisions, deciding };
  }

  /** Forgets what this instance knows of a key, after it was reset. */
  forget(policyName: string, subjectKey: string): void {
    const key = `${policyName}#${subjectKey}`;
    this.preBlock.forget(key);
    this.hints.delete(key);
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
  }
}
