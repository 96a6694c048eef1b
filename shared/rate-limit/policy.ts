import { z } from 'zod';

/**
 * Rate-limit policies: what is limited (the subject), how (the algorithm and its numbers), and
 * what happens when DynamoDB cannot answer. They come from stage configuration and reach
 * functions as JSON in `RATE_LIMIT_POLICIES`, validated at cold start.
 */

/** Who a bucket belongs to. */
export const SubjectSchema = z.enum(['ip', 'user', 'tenant', 'apiKey', 'connection']);
export type Subject = z.infer<typeof SubjectSchema>;

const Common = {
  subject: SubjectSchema,
  /**
   * When DynamoDB errors, throttles or misses its time budget: `open` admits through a
   * per-instance in-memory limiter (availability first), `closed` refuses with 503 (abuse-
   * sensitive routes).
   */
  onFailure: z.enum(['open', 'closed']),
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

export const PolicySchema = z.union([SlidingWindowPolicySchema, TokenBucketPolicySchema]);
export type Policy = z.infer<typeof PolicySchema>;

/** Policy names appear in keys and headers, so they are short tokens. */
export const PolicyNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes, at most 32');

export const PolicySetSchema = z.record(PolicyNameSchema, PolicySchema);
export type PolicySet = z.infer<typeof PolicySetSchema>;

/** The largest cost a policy can ever admit: its capacity or limit. */
export function capacityOf(policy: Policy): number {
  return policy.algorithm === 'sliding-window' ? policy.limit : policy.capacity;
}

/** The policy's quota and window in the IETF RateLimit-Policy form: `q` (quota) and `w` (seconds). */
export function quotaWindow(policy: Policy): { quota: number; windowSeconds: number | undefined } {
  if (policy.algorithm === 'sliding-window') return { quota: policy.limit, windowSeconds: policy.windowSeconds };
  if (policy.refillPerSecond === 0) return { quota: policy.capacity, windowSeconds: policy.periodSeconds };
  // A token bucket refills its whole capacity in capacity / rate seconds.
  return { quota: policy.capacity, windowSeconds: Math.max(1, Math.ceil(policy.capacity / policy.refillPerSecond)) };
}
