import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { PolicySet } from '#shared/rate-limit/policy';
import { lambdaContext } from '../../support/lambda-context';
import { useLocalTable } from '../../support/dynamodb';
import { useFrozenDate } from '../../support/clock';

const table = useLocalTable('service-limits');
const context = lambdaContext('switchyard-rate-limiter');
// On a whole hour, so on a second's boundary too.
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const T0_SECONDS = T0 / 1000;

/** The stage's policies as the platform hands them to the functions: three for callers' keys, one for routes. */
const POLICIES: PolicySet = {
  login: { subject: 'key', algorithm: 'sliding-window', limit: 5, windowSeconds: 60, onFailure: 'closed' },
  calls: { subject: 'key', algorithm: 'token-bucket', capacity: 3, refillPerSecond: 1, onFailure: 'open' },
  bulk: { subject: 'key', algorithm: 'token-bucket', capacity: 10, refillPerSecond: 2, shards: 4, onFailure: 'open' },
  user: { subject: 'user', algorithm: 'token-bucket', capacity: 60, refillPerSecond: 1, onFailure: 'open' },
};

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
interface Service {
  readonly check: Handler;
  readonly get: Handler;
  readonly reset: Handler;
}

/** Where DynamoDB Local listens, read from the test table's client. */
let dynamoEndpoint = '';
beforeAll(async () => {
  const endpoint = await table.client.config.endpoint!();
  dynamoEndpoint = `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`;
});

/**
 * The three handlers as one function instance (a fresh module graph) sees them: the modules
 * read `RATE_LIMIT_*` and build their DynamoDB client once, so the environment is set first.
 * The route's own limits are left out (`RATE_LIMIT_ROUTE_POLICIES` empty): what is under test
 * is the callers' buckets.
 */
async function loadService(env: Record<string, string> = {}): Promise<Service> {
  vi.resetModules();
  const settings: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    POWERTOOLS_SERVICE_NAME: 'rate-limiter-test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    RATE_LIMIT_TABLE_NAME: table.tableName,
    RATE_LIMIT_POLICIES: JSON.stringify(POLICIES),
    RATE_LIMIT_ROUTE_POLICIES: '',
    RATE_LIMIT_TIMEOUT_MS: '5000',
    ...env,
  };
  for (const [name, value] of Object.entries(settings)) vi.stubEnv(name, value);
  const [check, get, reset] = await Promise.all([
    import('../../../functions/rate-limiter/check-limit'),
    import('../../../functions/rate-limiter/get-limit'),
    import('../../../functions/rate-limiter/reset-limit'),
  ]);
  return { check: check.handler as Handler, get: get.handler as Handler, reset: reset.handler as Handler };
}

let tenants = 0;
/** A tenant of the test's own, so that buckets never carry over between tests. */
const newTenant = () => `tenant-${++tenants}`;

interface Caller {
  readonly tenantId: string;
  /** Space-separated, as the authorizer context carries them. */
  readonly scopes?: string;
}

function apiEvent(method: 'POST' | 'GET' | 'DELETE', resource: string, path: string, caller: Caller): APIGatewayProxyEvent {
  return {
    resource,
    path,
    httpMethod: method,
    headers: { 'Content-Type': 'application/json', 'x-api-key': 'dev-backend-key' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      resourcePath: resource,
      httpMethod: method,
      stage: 'dev',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      identity: { sourceIp: '198.51.100.7', apiKey: 'dev-backend-key' },
      authorizer: { principalId: 'backend', userId: 'backend', tenantId: caller.tenantId, scopes: caller.scopes ?? 'ratelimit:check ratelimit:admin' },
    },
  } as unknown as APIGatewayProxyEvent;
}

/** POST /v1/limits/check with `body` (serialized unless already a string). */
function checkEvent(body: unknown, caller: Caller): APIGatewayProxyEvent {
  const event = apiEvent('POST', '/v1/limits/check', '/v1/limits/check', caller);
  event.body = typeof body === 'string' ? body : JSON.stringify(body);
  return event;
}

/** GET or DELETE /v1/limits/{key}?query, the key already decoded as API Gateway hands it over. */
function keyEvent(method: 'GET' | 'DELETE', key: string, query: Record<string, string> | null, caller: Caller): APIGatewayProxyEvent {
  const event = apiEvent(method, '/v1/limits/{key}', `/v1/limits/${encodeURIComponent(key)}`, caller);
  event.pathParameters = { key };
  event.queryStringParameters = query;
  return event;
}

function bodyOf(result: APIGatewayProxyResult): Record<string, unknown> {
  return JSON.parse(result.body) as Record<string, unknown>;
}

/** The problem+json body of a response, after checking its content type. */
function problemOf(result: APIGatewayProxyResult): Record<string, unknown> {
  expect(result.headers?.['content-type']).toBe('application/problem+json');
  return bodyOf(result);
}

/** A TCP server that accepts connections and never answers: DynamoDB past any time budget. */
async function silentEndpoint(): Promise<{ readonly url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

useFrozenDate(T0);

describe('POST /v1/limits/check (check-limit handler)', () => {
  it('admits with 200, the decision as the body, and rate-limit headers that say the same', async () => {
    // Prepare
    const service = await loadService();
    const caller = { tenantId: newTenant() };

    // Act
    const result = await service.check(checkEvent({ key: 'login:alice@example.com', policy: 'calls', cost: 1 }, caller), context);

    // Assess
    expect(result.statusCode).toBe(200);
    const decision = bodyOf(result);
    expect(decision).toEqual({ key: 'login:alice@example.com', policy: 'calls', allowed: true, remaining: 2, limit: 3, resetAt: T0_SECONDS + 1, retryAfterSeconds: 0 });
    expect(result.headers).toMatchObject({
      ratelimit: `"calls";r=${decision['remaining']};t=${(decision['resetAt'] as number) - T0_SECONDS}`,
      'ratelimit-policy': '"calls";q=3;w=3',
      'x-ratelimit-limit': String(decision['limit']),
      'x-ratelimit-remaining': String(decision['remaining']),
      'x-ratelimit-reset': String(decision['resetAt']),
    });
    expect(result.headers).not.toHaveProperty('retry-after');
  });

  it('takes cost 1 when the body leaves it out', async () => {
    // Prepare
    const service = await loadService();

    // Act
    const result = await service.check(checkEvent({ key: 'k', policy: 'calls' }, { tenantId: newTenant() }), context);

    // Assess
    expect(bodyOf(result)).toMatchObject({ allowed: true, remaining: 2 });
  });

  it('refuses with 429 problem+json carrying the decision, the violated policy and an honest Retry-After', async () => {
    // Prepare: all three tokens taken at once.
    const service = await loadService();
    const caller = { tenantId: newTenant() };
    await service.check(checkEvent({ key: 'k', policy: 'calls', cost: 3 }, caller), context);

    // Act
    const result = await service.check(checkEvent({ key: 'k', policy: 'calls', cost: 2 }, caller), context);

    // Assess: two tokens are back 2 s later.
    expect(result.statusCode).toBe(429);
    expect(problemOf(result)).toMatchObject({
      type: 'urn:switchyard:problem:too-many-requests',
      status: 429,
      violatedPolicies: ['calls'],
      key: 'k',
      policy: 'calls',
      allowed: false,
      remaining: 0,
      limit: 3,
      resetAt: T0_SECONDS + 3,
      retryAfterSeconds: 2,
    });
    expect(result.headers).toMatchObject({
      'retry-after': '2',
      ratelimit: '"calls";r=0;t=2',
      'ratelimit-policy': '"calls";q=3;w=3',
      'x-ratelimit-limit': '3',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(T0_SECONDS + 3),
    });
  });

  it('names a refusing inline bucket custom, and sends no Retry-After for a spent quota that never resets', async () => {
    // Prepare
    const service = await loadService();
    const caller = { tenantId: newTenant() };
    const once = { key: 'welcome-email:alice', policy: { capacity: 1, refillPerSecond: 0 } };
    const first = await service.check(checkEvent(once, caller), context);

    // Act
    const again = await service.check(checkEvent(once, caller), context);

    // Assess
    expect(bodyOf(first)).toMatchObject({ policy: 'custom', allowed: true, remaining: 0, resetAt: null });
    expect(again.statusCode).toBe(429);
    const problem = problemOf(again);
    expect(problem).toMatchObject({ violatedPolicies: ['custom'], policy: 'custom', allowed: false, remaining: 0, limit: 1, resetAt: null });
    expect(problem).not.toHaveProperty('retryAfterSeconds');
    expect(again.headers).toMatchObject({ ratelimit: '"custom";r=0', 'ratelimit-policy': '"custom";q=1', 'x-ratelimit-limit': '1' });
    expect(again.headers).not.toHaveProperty('retry-after');
    expect(again.headers).not.toHaveProperty('x-ratelimit-reset');
  });

  it.each([
    { what: 'cost 0', body: { key: 'k', policy: 'calls', cost: 0 }, field: 'body.cost', rule: /must be positive/ },
    { what: 'cost 1.5', body: { key: 'k', policy: 'calls', cost: 1.5 }, field: 'body.cost', rule: /must be an integer/ },
    { what: 'a cost above the capacity', body: { key: 'k', policy: 'calls', cost: 4 }, field: 'body.cost', rule: /must not exceed 3/ },
    { what: 'a cost above a sharded policy’s smallest shard', body: { key: 'k', policy: 'bulk', cost: 3 }, field: 'body.cost', rule: /must not exceed 2/ },
    { what: 'a cost above an inline capacity', body: { key: 'k', policy: { capacity: 10, refillPerSecond: 1 }, cost: 11 }, field: 'body.cost', rule: /must not exceed 10/ },
    { what: 'an unknown policy name', body: { key: 'k', policy: 'nope' }, field: 'body.policy', rule: /unknown policy "nope"; known: login, calls, bulk$/ },
    { what: 'a route policy’s name', body: { key: 'k', policy: 'user' }, field: 'body.policy', rule: /unknown policy "user"/ },
    { what: 'a policy that is neither a name nor a bucket', body: { key: 'k', policy: 42 }, field: 'body.policy', rule: /must be a policy name or an object/ },
    { what: 'a key of 256 characters and 257 bytes', body: { key: `${'a'.repeat(255)}é`, policy: 'calls' }, field: 'body.key', rule: /must be at most 256 bytes in UTF-8/ },
    { what: 'a key with a control character', body: { key: 'login:alice\nadmin', policy: 'calls' }, field: 'body.key', rule: /must not contain control characters/ },
    { what: 'a key with a C1 control character', body: { key: 'login:\u0085alice', policy: 'calls' }, field: 'body.key', rule: /must not contain control characters/ },
    { what: 'an empty key', body: { key: '', policy: 'calls' }, field: 'body.key', rule: /must not be empty/ },
    { what: 'periodSeconds with a refill', body: { key: 'k', policy: { capacity: 10, refillPerSecond: 1, periodSeconds: 60 } }, field: 'body.policy.periodSeconds', rule: /only applies to a quota/ },
    { what: 'an inline bucket asking for shards', body: { key: 'k', policy: { capacity: 10, refillPerSecond: 1, shards: 2 } }, field: 'body.policy', rule: /Unrecognized key: "shards"/ },
    { what: 'another tenant named in the body', body: { key: 'k', policy: 'calls', tenantId: 'globex' }, field: 'body', rule: /Unrecognized key: "tenantId"/ },
  ])('refuses $what with 400 naming the field and the rule', async ({ body, field, rule }) => {
    // Prepare
    const service = await loadService();

    // Act
    const result = await service.check(checkEvent(body, { tenantId: newTenant() }), context);

    // Assess
    expect(result.statusCode).toBe(400);
    const problem = problemOf(result);
    expect(problem['errors']).toEqual([{ field, rule: expect.stringMatching(rule) }]);
  });

  it('takes nothing from a bucket when it refuses the request as invalid', async () => {
    // Prepare
    const service = await loadService();
    const caller = { tenantId: newTenant() };

    // Act
    const refused = await service.check(checkEvent({ key: 'k', policy: 'calls', cost: 4 }, caller), context);
    const state = await service.get(keyEvent('GET', 'k', { policy: 'calls' }, caller), context);

    // Assess
    expect(refused.statusCode).toBe(400);
    expect(bodyOf(state)).toMatchObject({ remaining: 3 });
  });

  it('accepts a key of exactly 256 bytes, multi-byte characters counted as bytes', async () => {
    // Prepare
    const service = await loadService();
    const key = `${'a'.repeat(254)}é`;

    // Act
    const result = await service.check(checkEvent({ key, policy: 'calls' }, { tenantId: newTenant() }), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toMatchObject({ key, allowed: true });
  });

  it('keeps inline buckets with different numbers apart, and finds one again by the same numbers', async () => {
    // Prepare: a one-token quota, spent.
    const service = await loadService();
    const caller = { tenantId: newTenant() };
    await service.check(checkEvent({ key: 'k', policy: { capacity: 1, refillPerSecond: 0 } }, caller), context);

    // Act
    const sameNumbers = await service.check(checkEvent({ key: 'k', policy: { capacity: 1, refillPerSecond: 0 } }, caller), context);
    const otherCapacity = await service.check(checkEvent({ key: 'k', policy: { capacity: 2, refillPerSecond: 0 } }, caller), context);
    const otherPeriod = await service.check(checkEvent({ key: 'k', policy: { capacity: 1, refillPerSecond: 0, periodSeconds: 3600 } }, caller), context);

    // Assess
    expect(sameNumbers.statusCode).toBe(429);
    expect(bodyOf(otherCapacity)).toMatchObject({ policy: 'custom', allowed: true, remaining: 1, limit: 2 });
    expect(bodyOf(otherPeriod)).toMatchObject({ policy: 'custom', allowed: true, remaining: 0, limit: 1 });
  });

  it('keeps tenants apart: the same key in two tenants is two buckets', async () => {
    // Prepare
    const service = await loadService();
    const acme = { tenantId: newTenant() };
    const globex = { tenantId: newTenant() };
    await service.check(checkEvent({ key: 'shared', policy: 'calls', cost: 3 }, acme), context);

    // Act
    const other = await service.check(checkEvent({ key: 'shared', policy: 'calls' }, globex), context);
    const same = await service.check(checkEvent({ key: 'shared', policy: 'calls' }, acme), context);

    // Assess
    expect(other.statusCode).toBe(200);
    expect(bodyOf(other)).toMatchObject({ allowed: true, remaining: 2 });
    expect(same.statusCode).toBe(429);
  });

  it('takes from one shard of a sharded policy and states the decision for the whole policy', async () => {
    // Prepare: shard 0 of 4 (3 of the 10 tokens).
    vi.spyOn(Math, 'random').mockReturnValue(0.1);
    const service = await loadService();
    const caller = { tenantId: newTenant() };

    // Act
    const result = await service.check(checkEvent({ key: 'export', policy: 'bulk', cost: 1 }, caller), context);
    const state = await service.get(keyEvent('GET', 'export', { policy: 'bulk' }, caller), context);

    // Assess: 2 left in the shard, stated as 8 of 10; the whole bucket holds 9.
    expect(bodyOf(result)).toMatchObject({ policy: 'bulk', allowed: true, remaining: 8, limit: 10 });
    expect(result.headers).toMatchObject({ 'ratelimit-policy': '"bulk";q=10;w=5', 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '8' });
    expect(bodyOf(state)).toEqual({ key: 'export', policy: 'bulk', remaining: 9, limit: 10, resetAt: T0_SECONDS + 2 });
  });

  it('refuses a caller without the ratelimit:check scope with 403', async () => {
    // Prepare
    const service = await loadService();

    // Act
    const result = await service.check(checkEvent({ key: 'k', policy: 'calls' }, { tenantId: newTenant(), scopes: 'links:read' }), context);

    // Assess
    expect(result.statusCode).toBe(403);
    expect(problemOf(result)['detail']).toBe('missing scope: ratelimit:check');
  });
});

describe('GET /v1/limits/{key} (get-limit handler)', () => {
  it('reads a named bucket as it was left, taking nothing', async () => {
    // Prepare
    const service = await loadService();
    const caller = { tenantId: newTenant() };
    await service.check(checkEvent({ key: 'login:alice', policy: 'calls', cost: 2 }, caller), context);

    // Act
    const first = await service.get(keyEvent('GET', 'login:alice', { policy: 'calls' }, caller), context);
    const second = await service.get(keyEvent('GET', 'login:alice', { policy: 'calls' }, caller), context);

    // Assess
    expect(first.statusCode).toBe(200);
    expect(bodyOf(first)).toEqual({ key: 'login:alice', policy: 'calls', remaining: 1, limit: 3, resetAt: T0_SECONDS + 2 });
    expect(bodyOf(second)).toEqual(bodyOf(first));
  });

  it('reads a bucket never used as full', async () => {
    // Prepare
    const service = await loadService();

    // Act
    const result = await service.get(keyEvent('GET', 'never-seen', { policy: 'login' }, { tenantId: newTenant() }), context);

    // Assess
    expect(bodyOf(result)).toEqual({ key: 'never-seen', policy: 'login', remaining: 5, limit: 5, resetAt: T0_SECONDS });
  });

  it('finds an inline bucket by the numbers in the query, as strings', async () => {
    // Prepare: 2 of an hourly quota of 5.
    const service = await loadService();
    const caller = { tenantId: newTenant() };
    await service.check(checkEvent({ key: 'k', policy: { capacity: 5, refillPerSecond: 0, periodSeconds: 3600 }, cost: 2 }, caller), context);

    // Act
    const same = await service.get(keyEvent('GET', 'k', { capacity: '5', refillPerSecond: '0', periodSeconds: '3600' }, caller), context);
    const withoutPeriod = await service.get(keyEvent('GET', 'k', { capacity: '5', refillPerSecond: '0' }, caller), context);

    // Assess
    const hourEnd = (Math.floor(T0_SECONDS / 3600) + 1) * 3600;
    expect(bodyOf(same)).toEqual({ key: 'k', policy: 'custom', remaining: 3, limit: 5, resetAt: hourEnd });
    expect(bodyOf(withoutPeriod)).toEqual({ key: 'k', policy: 'custom', remaining: 5, limit: 5, resetAt: null });
  });

  it('keeps tenants apart', async () => {
    // Prepare
    const service = await loadService();
    const acme = { tenantId: newTenant() };
    await service.check(checkEvent({ key: 'shared', policy: 'calls', cost: 3 }, acme), context);

    // Act
    const result = await service.get(keyEvent('GET', 'shared', { policy: 'calls' }, { tenantId: newTenant() }), context);

    // Assess
    expect(bodyOf(result)).toMatchObject({ remaining: 3 });
  });

  it.each<{ what: string; query: Record<string, string> | null; field: string; rule: RegExp }>([
    { what: 'both a policy and numbers', query: { policy: 'calls', capacity: '3', refillPerSecond: '1' }, field: 'query.policy', rule: /give either policy, or capacity and refillPerSecond/ },
    { what: 'neither a policy nor numbers', query: null, field: 'query.policy', rule: /give either policy, or capacity and refillPerSecond/ },
    { what: 'an unknown policy', query: { policy: 'nope' }, field: 'query.policy', rule: /unknown policy "nope"/ },
    { what: 'a route policy', query: { policy: 'user' }, field: 'query.policy', rule: /unknown policy "user"/ },
    { what: 'a capacity without a refill', query: { capacity: '3' }, field: 'query.refillPerSecond', rule: /expected number/ },
    { what: 'a capacity that is not a number', query: { capacity: 'lots', refillPerSecond: '1' }, field: 'query.capacity', rule: /expected number/ },
    { what: 'periodSeconds with a refill', query: { capacity: '3', refillPerSecond: '1', periodSeconds: '60' }, field: 'query.periodSeconds', rule: /only applies to a quota/ },
    { what: 'an unknown parameter', query: { policy: 'calls', cost: '1' }, field: 'query', rule: /Unrecognized key: "cost"/ },
  ])('refuses $what with 400 naming the field', async ({ query, field, rule }) => {
    // Prepare
    const service = await loadService();

    // Act
    const result = await service.get(keyEvent('GET', 'k', query, { tenantId: newTenant() }), context);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(problemOf(result)['errors']).toEqual([{ field, rule: expect.stringMatching(rule) }]);
  });

  it('refuses a key with a control character in the path, naming path.key', async () => {
    // Prepare
    const service = await loadService();

    // Act
    const result = await service.get(keyEvent('GET', 'a\u0000b', { policy: 'calls' }, { tenantId: newTenant() }), context);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(problemOf(result)['errors']).toEqual([{ field: 'path.key', rule: 'must not contain control characters' }]);
  });
});

describe('DELETE /v1/limits/{key} (reset-limit handler)', () => {
  it('resets a spent bucket with 204: the next check is admitted and the bucket reads full', async () => {
    // Prepare
    const service = await loadService();
    const caller = { tenantId: newTenant() };
    await service.check(checkEvent({ key: 'login:alice', policy: 'login', cost: 5 }, caller), context);
    const refused = await service.check(checkEvent({ key: 'login:alice', policy: 'login' }, caller), context);

    // Act
    const reset = await service.reset(keyEvent('DELETE', 'login:alice', { policy: 'login' }, caller), context);
    const state = await service.get(keyEvent('GET', 'login:alice', { policy: 'login' }, caller), context);
    const next = await service.check(checkEvent({ key: 'login:alice', policy: 'login' }, caller), context);

    // Assess
    expect(refused.statusCode).toBe(429);
    expect(reset.statusCode).toBe(204);
    expect(reset.body).toBe('');
    expect(bodyOf(state)).toMatchObject({ remaining: 5, limit: 5 });
    expect(next.statusCode).toBe(200);
    expect(bodyOf(next)).toMatchObject({ allowed: true, remaining: 4 });
  });

  it('resets every shard of a sharded bucket', async () => {
    // Prepare: twelve checks, on whichever shards Math.random draws.
    const service = await loadService();
    const caller = { tenantId: newTenant() };
    for (let i = 0; i < 12; i++) await service.check(checkEvent({ key: 'export', policy: 'bulk', cost: 1 }, caller), context);
    const before = bodyOf(await service.get(keyEvent('GET', 'export', { policy: 'bulk' }, caller), context));

    // Act
    const reset = await service.reset(keyEvent('DELETE', 'export', { policy: 'bulk' }, caller), context);
    const after = bodyOf(await service.get(keyEvent('GET', 'export', { policy: 'bulk' }, caller), context));

    // Assess
    expect(before['remaining']).toBeLessThan(10);
    expect(reset.statusCode).toBe(204);
    expect(after).toMatchObject({ remaining: 10, limit: 10 });
  });

  it('resets an inline bucket named by its numbers, and only that one', async () => {
    // Prepare: two one-token quotas spent.
    const service = await loadService();
    const caller = { tenantId: newTenant() };
    await service.check(checkEvent({ key: 'k', policy: { capacity: 1, refillPerSecond: 0 } }, caller), context);
    await service.check(checkEvent({ key: 'k', policy: { capacity: 1, refillPerSecond: 0, periodSeconds: 60 } }, caller), context);

    // Act
    await service.reset(keyEvent('DELETE', 'k', { capacity: '1', refillPerSecond: '0' }, caller), context);
    const resetOne = await service.check(checkEvent({ key: 'k', policy: { capacity: 1, refillPerSecond: 0 } }, caller), context);
    const otherOne = await service.check(checkEvent({ key: 'k', policy: { capacity: 1, refillPerSecond: 0, periodSeconds: 60 } }, caller), context);

    // Assess
    expect(resetOne.statusCode).toBe(200);
    expect(otherOne.statusCode).toBe(429);
  });

  it('reaches another instance that remembers the key as refused within 60 s', async () => {
    // Prepare: one instance spends a quota that never resets, and remembers the refusal.
    const checker = await loadService();
    const caller = { tenantId: newTenant() };
    const once = { key: 'k', policy: { capacity: 1, refillPerSecond: 0 } };
    await checker.check(checkEvent(once, caller), context);
    const refused = await checker.check(checkEvent(once, caller), context);
    const admin = await loadService();

    // Act
    const reset = await admin.reset(keyEvent('DELETE', 'k', { capacity: '1', refillPerSecond: '0' }, caller), context);
    vi.setSystemTime(T0 + 60_000);
    const later = await checker.check(checkEvent(once, caller), context);

    // Assess
    expect(refused.statusCode).toBe(429);
    expect(reset.statusCode).toBe(204);
    expect(later.statusCode).toBe(200);
  });

  it('refuses a caller without the ratelimit:admin scope with 403, and resets nothing', async () => {
    // Prepare
    const service = await loadService();
    const caller = { tenantId: newTenant() };
    await service.check(checkEvent({ key: 'k', policy: 'calls', cost: 3 }, caller), context);

    // Act
    const result = await service.reset(keyEvent('DELETE', 'k', { policy: 'calls' }, { ...caller, scopes: 'ratelimit:check' }), context);
    const state = await service.get(keyEvent('GET', 'k', { policy: 'calls' }, caller), context);

    // Assess
    expect(result.statusCode).toBe(403);
    expect(bodyOf(state)).toMatchObject({ remaining: 0 });
  });
});

describe('when DynamoDB does not answer within the time budget', () => {
  it('answers 503 for a policy that fails closed, saying nothing of why, and 200 from memory for one that fails open', async () => {
    // Prepare
    const silent = await silentEndpoint();
    try {
      const service = await loadService({ AWS_ENDPOINT_URL_DYNAMODB: silent.url, RATE_LIMIT_TIMEOUT_MS: '50' });
      const caller = { tenantId: newTenant() };

      // Act
      const closed = await service.check(checkEvent({ key: 'login:alice', policy: 'login' }, caller), context);
      const open = await service.check(checkEvent({ key: 'login:alice', policy: 'calls' }, caller), context);

      // Assess
      expect(closed.statusCode).toBe(503);
      expect(closed.headers?.['retry-after']).toBe('5');
      expect(problemOf(closed)).toMatchObject({ status: 503, detail: 'The service is temporarily unavailable; retry later.' });
      expect(closed.body).not.toContain('login');
      expect(open.statusCode).toBe(200);
      expect(bodyOf(open)).toMatchObject({ policy: 'calls', allowed: true, remaining: 2, limit: 3 });
    } finally {
      await silent.close();
    }
  });

  it('answers 503 to a read or a reset, whatever the policy, rather than a 500', async () => {
    // Prepare
    const silent = await silentEndpoint();
    try {
      const service = await loadService({ AWS_ENDPOINT_URL_DYNAMODB: silent.url, RATE_LIMIT_TIMEOUT_MS: '50' });
      const caller = { tenantId: newTenant() };

      // Act
      const read = await service.get(keyEvent('GET', 'k', { policy: 'calls' }, caller), context);
      const reset = await service.reset(keyEvent('DELETE', 'k', { policy: 'calls' }, caller), context);

      // Assess
      expect(read.statusCode).toBe(503);
      expect(reset.statusCode).toBe(503);
      expect(read.headers?.['retry-after']).toBe('5');
    } finally {
      await silent.close();
    }
  });
});

describe('with the route’s own limits in force', () => {
  it('states only the checked bucket in the rate-limit headers, never a mix of it and the route’s', async () => {
    // Prepare: the route is limited by a daily tenant quota (which has a reset); the checked bucket is a quota that never resets.
    const service = await loadService({
      RATE_LIMIT_POLICIES: JSON.stringify({ ...POLICIES, 'tenant-daily': { subject: 'tenant', algorithm: 'token-bucket', capacity: 1000, refillPerSecond: 0, periodSeconds: 86_400, onFailure: 'open' } }),
      RATE_LIMIT_ROUTE_POLICIES: 'tenant-daily',
    });
    const caller = { tenantId: newTenant() };
    const once = { key: 'once', policy: { capacity: 1, refillPerSecond: 0 } };

    // Act
    const admitted = await service.check(checkEvent(once, caller), context);
    const refused = await service.check(checkEvent(once, caller), context);

    // Assess
    for (const result of [admitted, refused]) {
      expect(result.headers).toMatchObject({ 'ratelimit-policy': '"custom";q=1', 'x-ratelimit-limit': '1' });
      expect(result.headers).not.toHaveProperty('x-ratelimit-reset');
      expect(String(result.headers?.['ratelimit'])).not.toContain('tenant-daily');
    }
    expect(refused.statusCode).toBe(429);
  });
});
