import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { documentClient } from '../clients/dynamodb';
import { csv, positiveInt, readEnv } from '../env';
import { logger, metrics } from '../powertools';
import { RateLimiter } from './limiter';
import { PolicySetSchema, type PolicySet } from './policy';

/** The limits of one route: which policies, in which order (tightest first), at what cost. */
export interface RouteRateLimit {
  readonly limiter: Pick<RateLimiter, 'check'>;
  readonly policies: PolicySet;
  readonly names: readonly string[];
  /** Tokens a request takes. @default 1 */
  readonly cost: number;
  readonly now: () => number;
}

/** Limits read from the environment: with the real limiter, which also reads and resets buckets. */
export interface EnvRateLimit extends RouteRateLimit {
  readonly limiter: RateLimiter;
}

/**
 * The limits of a route (or of WebSocket messages) from the environment the platform gives a function:
 * `RATE_LIMIT_TABLE_NAME`, `RATE_LIMIT_POLICIES` (JSON), `RATE_LIMIT_ROUTE_POLICIES` (names,
 * tightest first), `RATE_LIMIT_COST` and `RATE_LIMIT_TIMEOUT_MS`. Undefined when the function
 * has no table: that route is not limited.
 */
export function rateLimitFromEnv(source: NodeJS.ProcessEnv = process.env): EnvRateLimit | undefined {
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
