import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { TooManyRequestsError } from '../errors';
import { metrics } from '../powertools';
import type { RouteRateLimit } from '../rate-limit/from-env';
import { rateLimitHeaders } from '../rate-limit/headers';
import type { LimitSubjects } from '../rate-limit/limiter';

export { rateLimitFromEnv, type RouteRateLimit } from '../rate-limit/from-env';

/**
 * Applies a route's limits to one request and returns the headers its response carries.
 * @throws TooManyRequestsError naming the violated policies, with the same headers and an honest Retry-After
 * @throws RateLimitUnavailableError (a 503) when a fail-closed policy could not be checked
 */
export async function applyRateLimit(limit: RouteRateLimit, subjects: LimitSubjects): Promise<Record<string, string>> {
  // A fail-closed policy that cannot be checked throws RateLimitUnavailableError: a 503.
  const outcome = await limit.limiter.check(limit.names, subjects, limit.cost);
  const headers = rateLimitHeaders(outcome, limit.policies, limit.now());
  if (outcome.allowed) return headers;
  const refusals = outcome.decisions.filter((d) => !d.allowed);
  const violated = refusals.map((d) => d.policy);
  metrics.addMetric('RateLimited', MetricUnit.Count, 1);
  throw new TooManyRequestsError(`rate limit exceeded: ${violated.join(', ')}`, outcome.deciding?.retryAfterSeconds ?? undefined, violated, headers);
}
