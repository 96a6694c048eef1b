import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineRoute } from '#shared/contracts/route';
import { ConfigurationError } from '#shared/errors';
import { httpHandler } from '#shared/http/handler';
import { rateLimitFromEnv, type RouteRateLimit } from '#shared/http/rate-limit';
import { RateLimiter, RateLimitUnavailableError, type LimitOutcome } from '#shared/rate-limit/limiter';
import type { PolicySet } from '#shared/rate-limit/policy';
import { lambdaContext } from '../../support/lambda-context';
import { useLocalTable } from '../../support/dynamodb';

vi.hoisted(() => {
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
});

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const policies: PolicySet = {
  burst: { subject: 'user', algorithm: 'token-bucket', capacity: 2, refillPerSecond: 0.5, onFailure: 'open' },
  'per-ip': { subject: 'ip', algorithm: 'token-bucket', capacity: 100, refillPerSecond: 10, onFailure: 'closed' },
};
const route = defineRoute({
  operationId: 'testCreate',
  method: 'POST',
  path: '/v1/things',
  summary: 'test',
  tags: ['test'],
  auth: { scopes: [] },
  request: { body: z.object({ name: z.string() }) },
  responses: { 201: { description: 'created' } },
});
const table = useLocalTable('route-limits');
const context = lambdaContext('rate-limited');

function event(overrides: { body?: string; tenantId?: string; ip?: string } = {}): APIGatewayProxyEvent {
  return {
    resource: '/v1/things',
    path: '/v1/things',
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '6.6.6.6' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: overrides.body ?? '{"name":"a"}',
    isBase64Encoded: false,
    requestContext: {
      identity: { sourceIp: overrides.ip ?? '203.0.113.5' },
      authorizer: { userId: 'alice', tenantId: overrides.tenantId ?? 'acme', scopes: '' },
    },
  } as unknown as APIGatewayProxyEvent;
}

function limitedHandler(rateLimit: RouteRateLimit, handle = vi.fn(async () => ({ status: 201, body: { ok: true } }))) {
  return { handler: httpHandler(route, handle, { corsOrigins: [], maxBodyBytes: 1024, rateLimit }), handle };
}

const fakeLimiter = (outcome: LimitOutcome | Error) => ({
  check: vi.fn(async () => {
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }),
});

describe('rate limits at the HTTP edge', () => {
  it('admits within the limits and says how much is left, on a real limiter, then refuses with 429 naming the policy', async () => {
    // Prepare
    const limiter = new RateLimiter({ table, policies, timeoutMs: 2000, now: () => NOW });
    const { handler, handle } = limitedHandler({ limiter, policies, names: ['burst', 'per-ip'], cost: 1, now: () => NOW });

    // Act
    const first = await handler(event(), context);
    const second = await handler(event(), context);
    const third = await handler(event({ body: 'not json at all' }), context);

    // Assess
    expect([first.statusCode, second.statusCode, third.statusCode]).toEqual([201, 201, 429]);
    expect(first.headers).toMatchObject({ 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', ratelimit: '"burst";r=1;t=2, "per-ip";r=99;t=1' });
    expect(third.headers).toMatchObject({ 'retry-after': '2', 'content-type': 'application/problem+json', 'x-ratelimit-remaining': '0' });
    expect(JSON.parse(third.body)).toMatchObject({ status: 429, violatedPolicies: ['burst'], retryAfterSeconds: 2 });
    // Refused before the body was read: the malformed body did not make it a 400.
    expect(handle).toHaveBeenCalledTimes(2);
  });

  it('keys buckets by the gateway-seen address and the token, never by X-Forwarded-For', async () => {
    // Prepare
    const limiter = fakeLimiter({ allowed: true, decisions: [], deciding: undefined });
    const { handler } = limitedHandler({ limiter, policies, names: ['burst', 'per-ip'], cost: 3, now: () => NOW });

    // Act
    await handler(event({ ip: '198.51.100.23', tenantId: 'globex' }), context);

    // Assess
    expect(limiter.check).toHaveBeenCalledWith(['burst', 'per-ip'], { ip: '198.51.100.23', tenantId: 'globex', userId: 'alice', apiKey: undefined }, 3);
  });

  it('answers 503 when a fail-closed policy cannot be checked, saying nothing of why', async () => {
    // Prepare
    const { handler, handle } = limitedHandler({ limiter: fakeLimiter(new RateLimitUnavailableError('per-ip')), policies, names: ['per-ip'], cost: 1, now: () => NOW });

    // Act
    const response = await handler(event(), context);

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('5');
    expect(response.body).not.toContain('per-ip');
    expect(handle).not.toHaveBeenCalled();
  });
});

describe('rateLimitFromEnv', () => {
  const base = { RATE_LIMIT_TABLE_NAME: 'limits', RATE_LIMIT_POLICIES: JSON.stringify(policies), RATE_LIMIT_ROUTE_POLICIES: 'burst,per-ip' };

  it('limits nothing when the function has no table', () => {
    expect(rateLimitFromEnv({})).toBeUndefined();
  });

  it('reads the route policies, in order, with the defaults for cost and time budget', () => {
    expect(rateLimitFromEnv(base)).toMatchObject({ names: ['burst', 'per-ip'], cost: 1 });
  });

  it('fails at cold start on malformed policies or an unknown policy name, naming the variable', () => {
    expect(() => rateLimitFromEnv({ ...base, RATE_LIMIT_POLICIES: '{"x":{"subject":"moon"}}' })).toThrow(ConfigurationError);
    expect(() => rateLimitFromEnv({ ...base, RATE_LIMIT_POLICIES: '{' })).toThrow(/RATE_LIMIT_POLICIES/);
    expect(() => rateLimitFromEnv({ ...base, RATE_LIMIT_ROUTE_POLICIES: 'burst,nope' })).toThrow(/unknown policies: nope/);
  });
});
