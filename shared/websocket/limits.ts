import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { principalFromAuthorizer } from '../auth/principal';
import { metrics } from '../powertools';
import { rateLimitFromEnv, type RouteRateLimit } from '../rate-limit/from-env';
import { RateLimitUnavailableError } from '../rate-limit/limiter';

/** The frame a refused message gets; the connection stays open. */
export interface LimitErrorFrame {
  readonly type: 'error';
  readonly code: 'rate-limited' | 'unavailable';
  readonly message: string;
  readonly requestId: string;
  readonly retryAfterSeconds?: number;
  readonly violatedPolicies?: readonly string[];
}

/** What a WebSocket message handler needs of its event. */
interface MessageEvent {
  readonly requestContext: { readonly connectionId: string; readonly requestId: string; readonly authorizer?: Record<string, unknown> | null };
}

let fromEnv: { readonly limit: RouteRateLimit | undefined } | undefined;

/** The message limits the environment configures, read once per container. */
function limitsFromEnv(): RouteRateLimit | undefined {
  fromEnv ??= { limit: rateLimitFromEnv() };
  return fromEnv.limit;
}

/**
 * Applies the message limits (per connection, per user: `RATE_LIMIT_ROUTE_POLICIES`) to one
 * frame. Returns undefined when it may be handled, or the error frame to send instead: a
 * client that floods is told so and keeps its connection, since closing it would only make it
 * reconnect and flood `$connect`.
 * @param limit the limits; by default read once from the environment
 */
export async function limitMessage(event: MessageEvent, limit: RouteRateLimit | undefined = limitsFromEnv()): Promise<LimitErrorFrame | undefined> {
  if (!limit) return undefined;
  const { connectionId, requestId, authorizer } = event.requestContext;
  const principal = principalFromAuthorizer(authorizer ?? undefined);
  let outcome;
  try {
    outcome = await limit.limiter.check(limit.names, { connectionId, tenantId: principal?.tenantId, userId: principal?.userId }, limit.cost);
  } catch (error) {
    if (!(error instanceof RateLimitUnavailableError)) throw error;
    return { type: 'error', code: 'unavailable', message: 'message limits cannot be checked right now; retry shortly', requestId, retryAfterSeconds: 5 };
  }
  if (outcome.allowed) return undefined;
  metrics.addMetric('MessagesRateLimited', MetricUnit.Count, 1);
  const violatedPolicies = outcome.decisions.filter((d) => !d.allowed).map((d) => d.policy);
  const retryAfterSeconds = outcome.deciding?.retryAfterSeconds ?? undefined;
  return {
    type: 'error',
    code: 'rate-limited',
    message: `too many messages: ${violatedPolicies.join(', ')}`,
    requestId,
    violatedPolicies,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}
