import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { documentClient } from '../clients/dynamodb';
import { csv, positiveInt, readEnv } from '../env';
import { ServiceUnavailableError, TooManyRequestsError } from '../errors';
import { logger, metrics } from '../powertools';
import { rateLimitHeaders } from '../rate-limit/headers';
import { RateLimiter, RateLimitUnavailableError, type LimitSubjects } from '../rate-limit/limiter';
import { PolicySetSchema, type PolicySet } from '../rate-limit/policy';

/** The limits of one route: which policies, in which order (tightest first), at what cost. */
export interface RouteRateLimit {
  readonly limiter: Pick<RateLimiter, 'check'>;
  readonly policies: PolicySet;
  readonly names: readonly string[];
  /** Tokens a request takes. @default 1 */
  readonly cost: number;
  readonly now: () => number;
}

/**
 * The route's limits from the environment the platform gives an API function:
 * `RATE_LIMIT_TABLE_NAME`, `RATE_LIMIT_POLICIES` (JSON), `RATE_LIMIT_ROUTE_POLICIES` (names,
 * tightest first), `RATE_LIMIT_COST` and `RATE_LIMIT_TIMEOUT_MS`. Undefined when the function
 * has no table: that route is not limited.
 */
export function rateLimitFromEnv(source: NodeJS.ProcessEnv = process.env): RouteRateLimit | undefined {
  if (!source['RATE_LIMIT_TABLE_NAME']) return undefined;
  const env = readEnv(
    {
      RATE_LIMIT_TABLE_NAME: z.string().min(1),
      RATE_LIMIT_POLICIES: z.string().transform((text, ctx) => {
        try {
          return PolicySetSchema.parse(JSON.parse(text));
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: `not a valid policy set: ${(error as Error).message}` });
          return z.NEVER;
        }
      }),
      RATE_LIMIT_ROUTE_POLICIES: csv,
      RATE_LIMIT_COST: positiveInt.default(1),
      RATE_LIMIT_TIMEOUT_MS: positiveInt.default(150),
    },
    source,
  );
  const unknown = env.RATE_LIMIT_ROUTE_POLICIES.filter((name) => !(name in env.RATE_LIMIT_POLICIES));
  if (unknown.length) throw new Error(`RATE_LIMIT_ROUTE_POLICIES names unknown policies: ${unknown.join(', ')}`);
  const limiter = new RateLimiter({
    table: { client: documentClient, tableName: env.RATE_LIMIT_TABLE_NAME },
    policies: env.RATE_LIMIT_POLICIES,
    timeoutMs: env.RATE_LIMIT_TIMEOUT_MS,
    onDegraded: ({ policy, mode, error }) => {
      logger.warn('rate limit store unavailable', { policy, mode, error: error as Error });
      metrics.addMetric(mode === 'open' ? 'RateLimitFailedOpen' : 'RateLimitFailedClosed', MetricUnit.Count, 1);
    },
  });
  return { limiter, policies: env.RATE_LIMIT_POLICIES, names: env.RATE_LIMIT_ROUTE_POLICIES, cost: env.RATE_LIMIT_COST, now: Date.now };
}

/**
 * Applies a route's limits to one request and returns the headers its response carries.
 * @throws TooManyRequestsError naming the violated policies, with the same headers and an honest Retry-After
 * @throws ServiceUnavailableError when a fail-closed policy could not be checked
 */
export async function applyRateLimit(limit: RouteRateLimit, subjects: LimitSubjects): Promise<Record<string, string>> {
  let outcome;
  try {
    outcome = await limit.limiter.check(limit.names, subjects, limit.cost);
  } catch (error) {
    if (error instanceof RateLimitUnavailableError) throw new ServiceUnavailableError('rate limiting is unavailable', 5);
    throw error;
  }
  const headers = rateLimitHeaders(outcome, limit.policies, limit.now());
  if (outcome.allowed) return headers;
  const refusals = outcome.decisions.filter((d) => !d.allowed);
  const violated = refusals.map((d) => d.policy);
  metrics.addMetric('RateLimited', MetricUnit.Count, 1);
  throw new TooManyRequestsError(`rate limit exceeded: ${violated.join(', ')}`, outcome.deciding?.retryAfterSeconds ?? undefined, violated, headers);
}
