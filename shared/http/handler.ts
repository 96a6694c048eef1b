import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { z } from 'zod';
import { hasScopes, principalFromAuthorizer, type Principal } from '../auth/principal';
import type { RouteAuth, RouteContract } from '../contracts/route';
import { CORRELATION_HEADER, correlationIdFrom, lowerCaseKeys } from '../correlation';
import { csv, positiveInt, readEnv } from '../env';
import { ForbiddenError, MalformedBodyError, PayloadTooLargeError, TooManyRequestsError, UnauthorizedError, UnsupportedMediaTypeError } from '../errors';
import { logger, metrics, tracer } from '../powertools';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem';
import { applyRateLimit, rateLimitFromEnv, type RouteRateLimit } from './rate-limit';
import { parseInput } from './validation';

/** What a domain handler receives: the request, parsed, validated and authenticated. */
export interface HttpRequest<P, Q, B, A extends RouteAuth> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Present on every route that requires a token; public routes may see none. */
  readonly principal: A extends { public: true } ? Principal | undefined : Principal;
  readonly correlationId: string;
  /** From API Gateway's request context, never from `X-Forwarded-For`, which a client can forge. */
  readonly sourceIp: string;
  readonly event: APIGatewayProxyEvent;
  readonly context: Context;
}

/** What a domain handler returns; the edge serializes it. */
export interface HttpResponse {
  readonly status: number;
  /** Serialized as JSON; leave out for 204 or a redirect. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

type Output<S> = S extends z.ZodType ? z.output<S> : undefined;

export type RouteHandler<P, Q, B, A extends RouteAuth> = (
  request: HttpRequest<Output<P>, Output<Q>, Output<B>, A>,
) => Promise<HttpResponse>;

/** Edge settings, read from the environment `AppFunction` gives every API function. */
export interface EdgeOptions {
  /** Origins allowed by CORS; `*` for any. */
  readonly corsOrigins: readonly string[];
  /** Body cap for routes that do not set their own. */
  readonly maxBodyBytes: number;
  /** The route's rate limits; none when absent. */
  readonly rateLimit?: RouteRateLimit;
}

const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

/** Headers on every response, error or not. The API serves JSON only, so the policy is strict. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-site',
};

/** Headers a browser script may read from a cross-origin response. */
const EXPOSED_HEADERS = [CORRELATION_HEADER, 'retry-after', 'ratelimit', 'ratelimit-policy', 'location', 'etag'].join(', ');

let edgeFromEnv: EdgeOptions | undefined;

/** Reads edge settings once per container. */
export function edgeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): EdgeOptions {
  const parsed = readEnv({ CORS_ORIGINS: csv.default([]), MAX_BODY_BYTES: positiveInt.default(DEFAULT_MAX_BODY_BYTES) }, env);
  const rateLimit = rateLimitFromEnv(env);
  return { corsOrigins: parsed.CORS_ORIGINS, maxBodyBytes: parsed.MAX_BODY_BYTES, ...(rateLimit ? { rateLimit } : {}) };
}

/**
 * Turns a route contract and a domain function into an API Gateway (REST, proxy) handler.
 *
 * The chain, outermost first: Powertools logger context, tracer and metrics; correlation id
 * (from `x-correlation-id` or `traceparent`, else new) appended to every log line and echoed
 * in the response; then the route's own steps in order: body size cap, content type, JSON
 * parsing, authentication context and scopes, validation of path, query and body. Errors
 * become problem+json; every response carries security and CORS headers.
 *
 * @param route the contract the route was declared with
 * @param handle the domain function
 * @param options edge settings; by default from the environment
 */
export function httpHandler<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, A extends RouteAuth>(
  route: RouteContract<P, Q, B, A>,
  handle: RouteHandler<P, Q, B, A>,
  options?: EdgeOptions,
) {
  const operation = route.operationId;

  const core = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    const edge = options ?? (edgeFromEnv ??= edgeOptionsFromEnv());
    const headers = lowerCaseKeys(event.headers);
    const correlationId = correlationIdFrom(headers);
    logger.appendKeys({ correlationId, operation });
    const respond = (status: number, body: string | undefined, contentType: string | undefined, extra?: Record<string, string>) => ({
      statusCode: status,
      headers: {
        ...SECURITY_HEADERS,
        'cache-control': 'no-store',
        ...corsHeaders(headers['origin'], edge.corsOrigins),
        ...(contentType ? { 'content-type': contentType } : {}),
        ...extra,
        [CORRELATION_HEADER]: correlationId,
      },
      body: body ?? '',
    });

    let limitHeaders: Record<string, string> = {};
    try {
      // Authentication first: a caller without the right scope learns nothing of the rules.
      const principal = authenticate(route.auth, event);
      // Then the limits, before any parsing: a flood costs one conditional write per request.
      if (edge.rateLimit) {
        limitHeaders = await applyRateLimit(edge.rateLimit, {
          ip: event.requestContext?.identity?.sourceIp ?? undefined,
          tenantId: principal?.tenantId,
          userId: principal?.userId,
          apiKey: event.requestContext?.identity?.apiKey ?? undefined,
        });
      }
      const request = {
        params: route.request?.params ? parseInput(route.request.params, event.pathParameters ?? {}, 'path') : undefined,
        query: route.request?.query ? parseInput(route.request.query, event.queryStringParameters ?? {}, 'query') : undefined,
        body: route.request?.body
          ? parseInput(route.request.body, readJsonBody(event, headers, route.request.maxBodyBytes ?? edge.maxBodyBytes), 'body')
          : undefined,
        headers,
        principal,
        correlationId,
        sourceIp: event.requestContext?.identity?.sourceIp ?? '',
        event,
        context,
      } as HttpRequest<Output<P>, Output<Q>, Output<B>, A>;
      const result = await handle(request);
      const hasBody = result.body !== undefined;
      const contentType = hasBody ? 'application/json; charset=utf-8' : undefined;
      const own = lowerCaseKeys(result.headers) as Record<string, string>;
      return respond(result.status, hasBody ? JSON.stringify(result.body) : undefined, contentType, { ...routeLimitHeaders(limitHeaders, own), ...own });
    } catch (error) {
      const problem = toProblem(error, correlationId, event.path);
      if (problem.status >= 500) {
        logger.error('request failed', { error: error as Error });
        metrics.addMetric('ServerErrors', MetricUnit.Count, 1);
      } else {
        logger.info('request refused', { status: problem.status, detail: problem.detail, errors: problem.errors });
      }
      const retryAfter: Record<string, string> = typeof problem.retryAfterSeconds === 'number' ? { 'retry-after': String(problem.retryAfterSeconds) } : {};
      const refusalHeaders = error instanceof TooManyRequestsError ? error.headers : {};
      return respond(problem.status, JSON.stringify(problem), PROBLEM_CONTENT_TYPE, { ...routeLimitHeaders(limitHeaders, refusalHeaders), ...refusalHeaders, ...retryAfter });
    }
  };

  return middy(core)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

/**
 * The route's own rate-limit headers, unless the response states limits of its own (the
 * rate-limit service describes the bucket it checked): then the route's are left out whole, not
 * merged header by header, which would mix two buckets' numbers.
 */
function routeLimitHeaders(route: Record<string, string>, response: Readonly<Record<string, string>>): Record<string, string> {
  return 'ratelimit' in response ? {} : route;
}

/**
 * The raw body as JSON, after the size cap and the content type are checked, so that an
 * oversize body is refused before it is parsed.
 */
function readJsonBody(event: APIGatewayProxyEvent, headers: Record<string, string | undefined>, maxBytes: number): unknown {
  if (event.body === null || event.body === undefined || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.byteLength > maxBytes) throw new PayloadTooLargeError(maxBytes);
  const contentType = headers['content-type'] ?? '';
  if (!isJson(contentType)) {
    throw new UnsupportedMediaTypeError(`content-type must be application/json, got ${contentType ? `"${contentType.slice(0, 100)}"` : 'none'}`);
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new MalformedBodyError(`body is not valid JSON: ${(error as Error).message}`);
  }
}

/** `application/json` or any `application/*+json`, with any parameters (`; charset=utf-8`). */
function isJson(contentType: string): boolean {
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

function authenticate(auth: RouteAuth, event: APIGatewayProxyEvent): Principal | undefined {
  const principal = principalFromAuthorizer(event.requestContext?.authorizer);
  if ('public' in auth) return principal;
  // API Gateway runs the authorizer before the function, so this only trips on a
  // misconfigured route; refusing is the safe answer.
  if (!principal) throw new UnauthorizedError();
  if (!hasScopes(principal, auth.scopes)) {
    const missing = auth.scopes.filter((s) => !principal.scopes.includes(s));
    throw new ForbiddenError(`missing scope: ${missing.join(' ')}`);
  }
  logger.appendKeys({ tenantId: principal.tenantId, userId: principal.userId });
  return principal;
}

function corsHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  if (allowed.includes('*')) return { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED_HEADERS };
  if (origin && allowed.includes(origin)) {
    return { 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED_HEADERS, vary: 'Origin' };
  }
  return {};
}
