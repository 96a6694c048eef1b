import { z } from 'zod';

/**
 * Rate-limit policies: what is limited (the subject), how (the algorithm and its numbers), and
 * what happens when DynamoDB cannot answer. They come from stage configuration and reach
 * functions as JSON in `RATE_LIMIT_POLICIES`, validated at cold start.
 */

/**
 * Who a bucket belongs to. `key` is a caller's own key, within its tenant: the subject of the
 * rate-limit service (`POST /v1/limits/check`), never of a route.
 */
export const SubjectSchema = z.enum(['ip', 'user', 'tenant', 'apiKey', 'connection', 'key']);
export type Subject = z.infer<typeof SubjectSchema>;

const Common = {
  subject: SubjectSchema,
  /**
   * When DynamoDB errors, throttles or misses its time budget: `open` admits through a
   * per-instance in-memory limiter (availability first), `closed` refuses with 503 (abuse-
   * sensitive routes).
   */
  onFailure: z.enum(['open', 'closed']),
  /**
   * Spreads the policy over this many items, for a single key hotter than one DynamoDB
   * partition takes (about 1,000 writes/s): each shard holds its share of the capacity and the
   * refill, a request takes a random shard, and a second one when the first is empty. See
   * lib/rate-limiter/README.md for the accuracy this trades. @default 1
   */
  shards: z.number().int().min(1).max(256).optional(),
};

export const TokenBucketPolicySchema = z.object({
  ...Common,
  algorithm: z.literal('token-bucket').default('token-bucket'),
  capacity: z.number().int().positive(),
  /** Tokens per second; 0 makes a quota, per `periodSeconds` if given. */
  refillPerSecond: z.number().nonnegative(),
  periodSeconds: z.number().int().positive().optional(),
});

export const SlidingWindowPolicySchema = z.object({
  ...Common,
  algorithm: z.literal('sliding-window'),
  limit: z.number().int().positive(),
  windowSeconds: z.number().int().positive(),
});

export const PolicySchema = z
  .union([SlidingWindowPolicySchema, TokenBucketPolicySchema])
  .refine((p) => (p.shards ?? 1) <= (p.algorithm === 'sliding-window' ? p.limit : p.capacity), { path: ['shards'], message: 'cannot exceed the capacity: every shard holds at least one token' });
export type Policy = z.infer<typeof PolicySchema>;

/** Policy names appear in keys and headers, so they are short tokens. */
export const PolicyNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes, at most 32');

export const PolicySetSchema = z.record(PolicyNameSchema, PolicySchema);
export type PolicySet = z.infer<typeof PolicySetSchema>;

/** A policy's whole capacity (or window limit), over all its shards. */
export function capacityOf(policy: Policy): number {
  return policy.algorithm === 'sliding-window' ? policy.limit : policy.capacity;
}

/** The largest cost a policy can ever admit: its capacity, or its smallest shard's. */
export function maxCostOf(policy: Policy): number {
  return Math.floor(capacityOf(policy) / shardsOf(policy));
}

export function shardsOf(policy: Policy): number {
  return policy.shards ?? 1;
}

/**
 * Shard `index` of a policy: its share of the capacity (the remainder goes to the first shards)
 * and of the refill. The policy itself when it has one shard.
 */
export function shardOf(policy: Policy, index: number): Policy {
  const shards = shardsOf(policy);
  if (shards === 1) return policy;
  const share = (total: number) => Math.floor(total / shards) + (index < total % shards ? 1 : 0);
  if (policy.algorithm === 'sliding-window') return { ...policy, limit: share(policy.limit), shards: 1 };
  return { ...policy, capacity: share(policy.capacity), refillPerSecond: policy.refillPerSecond / shards, shards: 1 };
}

/** The policy's quota and window in the IETF RateLimit-Policy form: `q` (quota) and `w` (seconds). */
export function quotaWindow(policy: Policy): { quota: number; windowSeconds: number | undefined } {
  if (policy.algorithm === 'sliding-window') return { quota: policy.limit, windowSeconds: policy.windowSeconds };
  if (policy.refillPerSecond === 0) return { quota: policy.capacity, windowSeconds: policy.periodSeconds };
  // A token bucket refills its whole capacity in capacity / rate seconds.
  return { quota: policy.capacity, windowSeconds: Math.max(1, Math.ceil(policy.capacity / policy.refillPerSecond)) };
}
