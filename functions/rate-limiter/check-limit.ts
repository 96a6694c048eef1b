import { checkLimitRoute } from '#shared/contracts/rate-limiter';
import { TooManyRequestsError } from '#shared/errors';
import { httpHandler } from '#shared/http/handler';
import { rateLimitHeaders } from '#shared/rate-limit/headers';
import { checkCost, resolveBucket, serviceLimits } from './buckets';

/**
 * POST /v1/limits/check: takes `cost` tokens from the caller's bucket, one conditional write
 * (see lib/rate-limiter/README.md). 200 with the decision, or 429 whose problem carries it.
 * A fail-closed policy that cannot be checked answers 503 (RateLimitUnavailableError).
 */
export const handler = httpHandler(checkLimitRoute, async ({ body, principal }) => {
  const limits = serviceLimits();
  const bucket = resolveBucket(body.policy, limits.policies, 'body.policy');
  checkCost(bucket, body.cost);
  const checked = await limits.limiter.checkPolicy(bucket.itemName, bucket.policy, { tenantId: principal.tenantId, key: body.key }, body.cost);
  // Tenant and key are always present here, so the policy always applies.
  const decision = { ...checked!, policy: bucket.name };
  const headers = rateLimitHeaders({ allowed: decision.allowed, decisions: [decision], deciding: decision }, { [bucket.name]: bucket.policy }, limits.now());
  const result = {
    key: body.key,
    policy: bucket.name,
    allowed: decision.allowed,
    remaining: decision.remaining,
    limit: decision.limit,
    resetAt: decision.resetAt,
    retryAfterSeconds: decision.retryAfterSeconds,
  };
  if (decision.allowed) return { status: 200, body: result, headers };
  // A spent quota that never resets has no honest Retry-After: the problem leaves the member out,
  // as every other refusal does (carried as null, the edge would send `Retry-After: null`).
  const { retryAfterSeconds, ...refusal } = result;
  throw new TooManyRequestsError(
    `bucket ${bucket.name} has too few tokens for a cost of ${body.cost}`,
    retryAfterSeconds ?? undefined,
    [bucket.name],
    headers,
    retryAfterSeconds === null ? refusal : result,
  );
});
