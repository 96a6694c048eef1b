import type { z } from 'zod';
import { InlineBucketSchema, type BucketQuerySchema, type InlineBucket } from '#shared/contracts/rate-limiter';
import { ConfigurationError, ValidationError } from '#shared/errors';
import { toViolations, type InputLocation } from '#shared/http/validation';
import { rateLimitFromEnv, type EnvRateLimit } from '#shared/rate-limit/from-env';
import { maxCostOf, type Policy } from '#shared/rate-limit/policy';

/**
 * The rate limiter as a service: which bucket a request names, and the limiter that serves it.
 * Shared by the three handlers of `/v1/limits`.
 */

/** A bucket a request addressed: the name clients see, the name its items carry, and its policy. */
export interface ServiceBucket {
  /** `login`, or `custom` for an inline bucket. */
  readonly name: string;
  /** What the bucket's items are keyed by: the policy name, or the inline bucket's numbers. */
  readonly itemName: string;
  readonly policy: Policy;
}

let limits: EnvRateLimit | undefined;

/**
 * The limiter of this function: the same table and policy set as the route's own limits
 * (`RATE_LIMIT_*`, set by the platform), created once per container.
 */
export function serviceLimits(): EnvRateLimit {
  limits ??= rateLimitFromEnv();
  if (!limits) throw new ConfigurationError('the rate-limit service needs RATE_LIMIT_TABLE_NAME and RATE_LIMIT_POLICIES');
  return limits;
}

/** The service's policies: those with subject `key`. Others describe routes, not callers' keys. */
export function servicePolicyNames(policies: Readonly<Record<string, Policy>>): string[] {
  return Object.entries(policies)
    .filter(([, policy]) => policy.subject === 'key')
    .map(([name]) => name);
}

/**
 * The bucket `policy` names: a service policy by name, or an inline bucket. An inline bucket
 * fails open (it is the caller's own guard; a caller that must fail closed names a policy that
 * does), and its numbers are part of its identity: other numbers, another bucket.
 * @throws ValidationError for an unknown policy name
 */
export function resolveBucket(policy: string | InlineBucket, policies: Readonly<Record<string, Policy>>, field: string): ServiceBucket {
  if (typeof policy !== 'string') {
    // The colons keep it apart from every configured policy name, which cannot hold one.
    const itemName = `custom:${policy.capacity}:${policy.refillPerSecond}:${policy.periodSeconds ?? 0}`;
    return {
      name: 'custom',
      itemName,
      policy: { subject: 'key', algorithm: 'token-bucket', onFailure: 'open', ...policy },
    };
  }
  const named = policies[policy];
  if (!named || named.subject !== 'key') {
    const known = servicePolicyNames(policies);
    throw new ValidationError([{ field, rule: `unknown policy "${policy}"; known: ${known.join(', ') || 'none'}` }]);
  }
  return { name: policy, itemName: policy, policy: named };
}

/**
 * The bucket a GET or DELETE names in its query: `?policy=` or the inline numbers, checked as
 * the POST body checks them, with violations named `query.<field>`.
 */
export function bucketFromQuery(query: z.output<typeof BucketQuerySchema>, policies: Readonly<Record<string, Policy>>): ServiceBucket {
  if (query.policy !== undefined) return resolveBucket(query.policy, policies, 'query.policy');
  const { policy: _, ...numbers } = query;
  const parsed = InlineBucketSchema.safeParse(numbers);
  if (!parsed.success) throw new ValidationError(toViolations(parsed.error, 'query' satisfies InputLocation));
  return resolveBucket(parsed.data, policies, 'query');
}

/**
 * Refuses a cost the bucket can never admit (above its capacity, or its smallest shard's).
 * @throws ValidationError naming `body.cost`
 */
export function checkCost(bucket: ServiceBucket, cost: number): void {
  const max = maxCostOf(bucket.policy);
  if (cost > max) throw new ValidationError([{ field: 'body.cost', rule: `must not exceed ${max}, the most policy ${bucket.name} can ever admit at once` }]);
}
