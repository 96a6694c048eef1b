import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RestAuthorizerModel } from '../../../local/model';
import { closeGateways, FakeInvoker, fn, functionError, guarded, ok, policy, restApi, serve, STAGE_ARN, tokenAuthorizer } from './support';

const AUTHORIZER = fn('authorizer');
const TOKEN = 'Bearer alice-token';

const requestAuthorizer: RestAuthorizerModel = {
  id: 'RequestAuthorizer',
  name: 'request',
  type: 'REQUEST',
  functionArn: fn('request-authorizer'),
  identitySource: 'method.request.querystring.apiToken, method.request.header.X-Tenant',
  resultTtlSeconds: 0,
};

function apiWith(authorizer: RestAuthorizerModel = tokenAuthorizer({ identityValidationExpression: '^Bearer [a-z0-9-]+$' })) {
  return restApi({
    resources: [
      { path: '/v1/items', methods: [guarded('GET', 'items', authorizer.id), guarded('DELETE', 'items', authorizer.id)] },
      { path: '/v1/items/{id}', methods: [guarded('GET', 'items', authorizer.id)] },
      { path: '/v1/search', methods: [guarded('GET', 'items', requestAuthorizer.id)] },
    ],
    authorizers: [authorizer, requestAuthorizer],
  });
}

let invoker: FakeInvoker;

beforeEach(() => {
  invoker = new FakeInvoker().on(fn('items'), () => ok());
});

afterEach(closeGateways);

describe('REST gateway TOKEN authorizer', () => {
  it('invokes the authorizer with the token and method ARN, and hands its context to the integration', async () => {
    // Prepare
    invoker.on(AUTHORIZER, () => policy('Allow', `${STAGE_ARN}/*/*`, { tenantId: 'acme', admin: true, level: 3 }));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/items/42`, { headers: { Authorization: TOKEN } });

    // Assess
    expect(response.status).toBe(200);
    expect(invoker.eventsOf(AUTHORIZER)).toEqual([{ type: 'TOKEN', authorizationToken: TOKEN, methodArn: `${STAGE_ARN}/GET/v1/items/42` }]);
    const [event] = invoker.eventsOf(fn('items'));
    expect(event.requestContext.authorizer).toEqual({
      tenantId: 'acme',
      admin: 'true',
      level: '3',
      principalId: 'alice',
      integrationLatency: expect.any(Number),
    });
  });

  it('answers 403 for an explicit deny, without calling the integration', async () => {
    // Prepare
    invoker.on(AUTHORIZER, () => policy('Deny', `${STAGE_ARN}/*/*`));
    const { gateway, log } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: TOKEN } });

    // Assess
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
    expect(await response.json()).toEqual({ message: 'User is not authorized to access this resource with an explicit deny' });
    expect(invoker.eventsOf(fn('items'))).toHaveLength(0);
    expect(log[0]).toMatchObject({ status: 403, responseType: 'ACCESS_DENIED' });
  });

  it('lets a Deny win over an Allow for the same method', async () => {
    // Prepare
    invoker.on(AUTHORIZER, () => ({
      result: {
        principalId: 'alice',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${STAGE_ARN}/*/*` },
            { Action: 'execute-api:*', Effect: 'Deny', Resource: `${STAGE_ARN}/DELETE/*` },
          ],
        },
      },
    }));
    const { gateway } = await serve(apiWith(tokenAuthorizer({ resultTtlSeconds: 0 })), invoker);

    // Act
    const read = await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: TOKEN } });
    const remove = await fetch(`${gateway.url}/v1/items`, { method: 'DELETE', headers: { Authorization: TOKEN } });

    // Assess
    expect(read.status).toBe(200);
    expect(remove.status).toBe(403);
  });

  it('answers 401 when the authorizer throws Unauthorized', async () => {
    // Prepare
    invoker.on(AUTHORIZER, () => functionError('Unauthorized'));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: TOKEN } });

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers.get('x-amzn-errortype')).toBe('UnauthorizedException');
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
  });

  it('answers 401 without invoking the authorizer when the token header is missing', async () => {
    // Prepare
    invoker.on(AUTHORIZER, () => policy('Allow', '*'));
    const { gateway, log } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/items`);

    // Assess
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
    expect(invoker.calls).toHaveLength(0);
    expect(log[0]?.error).toContain('method.request.header.Authorization');
  });

  it('answers 401 without invoking the authorizer when the token fails the validation expression', async () => {
    // Prepare
    invoker.on(AUTHORIZER, () => policy('Allow', '*'));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: 'Basic YWxpY2U6c2VjcmV0' } });

    // Assess
    expect(response.status).toBe(401);
    expect(invoker.calls).toHaveLength(0);
  });

  it.each([
    ['throws another error', functionError('JWKS endpoint unreachable')],
    ['returns no policy', { result: { principalId: 'alice' } }],
    ['returns a context holding an object', policy('Allow', '*', { claims: { sub: 'alice' } })],
  ])('answers 500 when the authorizer %s', async (_, outcome) => {
    // Prepare
    invoker.on(AUTHORIZER, () => outcome);
    const { gateway, log } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: TOKEN } });

    // Assess
    expect(response.status).toBe(500);
    expect(response.headers.get('x-amzn-errortype')).toBe('AuthorizerConfigurationException');
    expect(await response.json()).toEqual({ message: null });
    expect(invoker.eventsOf(fn('items'))).toHaveLength(0);
    expect(log[0]).toMatchObject({ responseType: 'AUTHORIZER_CONFIGURATION_ERROR' });
  });
});

describe('REST gateway REQUEST authorizer', () => {
  it('reads its identity from the query string and a header, and receives the request', async () => {
    // Prepare
    invoker.on(requestAuthorizer.functionArn, () => policy('Allow', `${STAGE_ARN}/GET/v1/search`, { plan: 'pro' }, 'key-owner'));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/search?apiToken=k-123&q=shoes`, { headers: { 'X-Tenant': 'acme' } });

    // Assess
    expect(response.status).toBe(200);
    const [event] = invoker.eventsOf(requestAuthorizer.functionArn);
    expect(event).toMatchObject({
      type: 'REQUEST',
      methodArn: `${STAGE_ARN}/GET/v1/search`,
      resource: '/v1/search',
      path: '/v1/search',
      httpMethod: 'GET',
      queryStringParameters: { apiToken: 'k-123', q: 'shoes' },
      multiValueQueryStringParameters: { apiToken: ['k-123'], q: ['shoes'] },
      pathParameters: null,
      stageVariables: null,
      requestContext: { resourcePath: '/v1/search', stage: 'dev', identity: { sourceIp: '127.0.0.1' } },
    });
    expect(event.headers['X-Tenant']).toBe('acme');
    expect(invoker.eventsOf(fn('items'))[0].requestContext.authorizer).toMatchObject({ plan: 'pro', principalId: 'key-owner' });
  });

  it('answers 401 without invoking the authorizer when an identity source is missing', async () => {
    // Prepare
    invoker.on(requestAuthorizer.functionArn, () => policy('Allow', '*'));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/search?q=shoes`, { headers: { 'X-Tenant': 'acme' } });

    // Assess
    expect(response.status).toBe(401);
    expect(invoker.calls).toHaveLength(0);
  });

  it('invokes the authorizer on every request when caching is off', async () => {
    // Prepare
    invoker.on(requestAuthorizer.functionArn, () => policy('Allow', '*'));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    for (let i = 0; i < 2; i++) await fetch(`${gateway.url}/v1/search?apiToken=k-123`, { headers: { 'X-Tenant': 'acme' } });

    // Assess
    expect(invoker.eventsOf(requestAuthorizer.functionArn)).toHaveLength(2);
  });
});

describe('REST gateway authorizer cache', () => {
  it('does not invoke the authorizer again for the same token', async () => {
    // Prepare
    invoker.on(AUTHORIZER, () => policy('Allow', `${STAGE_ARN}/*/*`, { tenantId: 'acme' }));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const first = await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: TOKEN } });
    const second = await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: TOKEN } });

    // Assess
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(invoker.eventsOf(AUTHORIZER)).toHaveLength(1);
    const events = invoker.eventsOf(fn('items'));
    expect(events[1].requestContext.authorizer).toEqual({ tenantId: 'acme', principalId: 'alice', integrationLatency: 0 });
  });

  it('invokes the authorizer again for another token', async () => {
    // Prepare
    invoker.on(AUTHORIZER, () => policy('Allow', `${STAGE_ARN}/*/*`));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: TOKEN } });
    await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: 'Bearer bob-token' } });

    // Assess
    expect(invoker.eventsOf(AUTHORIZER).map((e) => e.authorizationToken)).toEqual([TOKEN, 'Bearer bob-token']);
  });

  it('allows another route from a cached wildcard policy', async () => {
    // Prepare
    invoker.on(AUTHORIZER, () => policy('Allow', `${STAGE_ARN}/*/*`));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: TOKEN } });
    const other = await fetch(`${gateway.url}/v1/items/7`, { headers: { Authorization: TOKEN } });

    // Assess
    expect(other.status).toBe(200);
    expect(invoker.eventsOf(AUTHORIZER)).toHaveLength(1);
  });

  it('denies another method from a cached policy that names only the first', async () => {
    // Prepare: the policy names the method ARN it was asked about, and nothing else
    invoker.on(AUTHORIZER, (event: { methodArn: string }) => policy('Allow', event.methodArn));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const first = await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: TOKEN } });
    const second = await fetch(`${gateway.url}/v1/items`, { method: 'DELETE', headers: { Authorization: TOKEN } });

    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(403);
    expect(await second.json()).toEqual({ message: 'User is not authorized to access this resource' });
    expect(invoker.eventsOf(AUTHORIZER)).toHaveLength(1);
  });

  it('does not cache a refusal', async () => {
    // Prepare
    let calls = 0;
    invoker.on(AUTHORIZER, () => (++calls === 1 ? functionError('Unauthorized') : policy('Allow', '*')));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const first = await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: TOKEN } });
    const second = await fetch(`${gateway.url}/v1/items`, { headers: { Authorization: TOKEN } });

    // Assess
    expect([first.status, second.status]).toEqual([401, 200]);
  });
});
