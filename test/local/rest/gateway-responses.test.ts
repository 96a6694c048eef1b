import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderContextTemplate } from '../../../local/gateway/rest/context-template';
import type { GatewayResponseModel } from '../../../local/model';
import { closeGateways, eventually, FakeInvoker, fn, functionError, guarded, ok, policy, proxy, restApi, serve, STAGE_ARN, tokenAuthorizer } from './support';

const PROBLEM_TEMPLATE =
  '{"type":"urn:test:problem","detail":$context.error.messageString,"responseType":"$context.error.responseType",' +
  '"instance":"$context.path","correlationId":"$context.requestId","method":"$context.httpMethod","ip":"$context.identity.sourceIp",' +
  '"stage":"$context.stage","resource":"$context.resourcePath"}';

function apiWith(gatewayResponses: GatewayResponseModel[] = [], extra: Partial<Parameters<typeof restApi>[0]> = {}) {
  return restApi({
    resources: [
      { path: '/v1/items/{id}', methods: [guarded('GET', 'items', 'TokenAuthorizer'), proxy('PUT', 'items')] },
      { path: '/v1/work', methods: [proxy('POST', 'work')] },
      { path: '/v1/quick', methods: [proxy('GET', 'work', {}, 50)] },
      { path: '/v1/iam', methods: [proxy('GET', 'items', { authorizationType: 'AWS_IAM' })] },
      { path: '/v1/keyed', methods: [proxy('GET', 'items', { apiKeyRequired: true })] },
    ],
    authorizers: [tokenAuthorizer()],
    gatewayResponses,
    ...extra,
  });
}

let invoker: FakeInvoker;

beforeEach(() => {
  invoker = new FakeInvoker().on(fn('items'), () => ok());
});

afterEach(closeGateways);

describe('REST gateway responses', () => {
  it("renders the API's template with $context variables and sends its static headers", async () => {
    // Prepare
    const unauthorized: GatewayResponseModel = {
      responseType: 'UNAUTHORIZED',
      statusCode: 401,
      headers: { 'Content-Type': 'application/problem+json', 'Access-Control-Allow-Origin': 'http://localhost:3000' },
      template: PROBLEM_TEMPLATE,
    };
    const { gateway } = await serve(apiWith([unauthorized]), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/items/42`);

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(await response.json()).toEqual({
      type: 'urn:test:problem',
      detail: 'Unauthorized',
      responseType: 'UNAUTHORIZED',
      instance: '/dev/v1/items/42',
      correlationId: response.headers.get('x-amzn-requestid'),
      method: 'GET',
      ip: '127.0.0.1',
      stage: 'dev',
      resource: '/v1/items/{id}',
    });
  });

  it('accepts header values still quoted, and maps request headers into the response', async () => {
    // Prepare
    const notFound: GatewayResponseModel = {
      responseType: 'MISSING_AUTHENTICATION_TOKEN',
      statusCode: 404,
      headers: { 'Content-Type': "'application/problem+json'", 'Access-Control-Allow-Origin': 'method.request.header.Origin' },
      template: '{"detail":$context.error.messageString,"resource":"$context.resourcePath"}',
    };
    const { gateway } = await serve(apiWith([notFound]), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/nothing`, { headers: { Origin: 'https://app.example.com' } });

    // Assess
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(await response.json()).toEqual({ detail: 'Missing Authentication Token', resource: '' });
  });

  it('falls back to DEFAULT_4XX, keeping the type status when DEFAULT_4XX sets none', async () => {
    // Prepare
    const default4xx: GatewayResponseModel = { responseType: 'DEFAULT_4XX', headers: { 'X-Problem': 'yes' }, template: '{"error":"$context.error.responseType"}' };
    invoker.on(fn('authorizer'), () => policy('Deny', `${STAGE_ARN}/*/*`));
    const { gateway } = await serve(apiWith([default4xx]), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/items/42`, { headers: { Authorization: 'Bearer x' } });

    // Assess
    expect(response.status).toBe(403);
    expect(response.headers.get('x-problem')).toBe('yes');
    expect(await response.json()).toEqual({ error: 'ACCESS_DENIED' });
  });

  it('gives every uncustomised 4XX the status DEFAULT_4XX sets', async () => {
    // Prepare
    const default4xx: GatewayResponseModel = { responseType: 'DEFAULT_4XX', statusCode: 400, headers: {} };
    const { gateway } = await serve(apiWith([default4xx]), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/nothing`);

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('renders the authorizer context in an ACCESS_DENIED template', async () => {
    // Prepare
    const denied: GatewayResponseModel = {
      responseType: 'ACCESS_DENIED',
      statusCode: 403,
      headers: {},
      template: '{"who":"$context.authorizer.principalId","tenant":"$context.authorizer.tenantId","detail":$context.error.messageString}',
    };
    invoker.on(fn('authorizer'), () => policy('Deny', `${STAGE_ARN}/*/*`, { tenantId: 'acme' }));
    const { gateway } = await serve(apiWith([denied]), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/items/42`, { headers: { Authorization: 'Bearer x' } });

    // Assess
    expect(await response.json()).toEqual({ who: 'alice', tenant: 'acme', detail: 'User is not authorized to access this resource with an explicit deny' });
  });

  it('answers 413 for a body over the payload limit, before routing or invoking anything', async () => {
    // Prepare
    const { gateway, log } = await serve(apiWith(), invoker, { maxPayloadBytes: 1024 });

    // Act
    const large = await fetch(`${gateway.url}/v1/items/42`, { method: 'PUT', body: 'x'.repeat(1025) });
    const fits = await fetch(`${gateway.url}/v1/items/42`, { method: 'PUT', body: 'x'.repeat(1024) });

    // Assess
    expect(large.status).toBe(413);
    expect(await large.json()).toEqual({ message: 'Request Too Long' });
    expect(fits.status).toBe(200);
    expect(invoker.calls).toHaveLength(1);
    expect(log[0]).toMatchObject({ status: 413, responseType: 'REQUEST_TOO_LARGE' });
  });

  it('caps bodies at 10 MB by default', async () => {
    // Prepare
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/items/42`, { method: 'PUT', body: Buffer.alloc(10 * 1024 * 1024 + 1) });

    // Assess
    expect(response.status).toBe(413);
    expect(invoker.calls).toHaveLength(0);
  });

  it('answers 504 when the integration is slower than the gateway timeout, and lets it finish', async () => {
    // Prepare
    let finished = false;
    invoker.on(fn('work'), async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      finished = true;
      return ok();
    });
    const { gateway, log } = await serve(apiWith(), invoker, { integrationTimeoutMs: 50 });

    // Act
    const response = await fetch(`${gateway.url}/v1/work`, { method: 'POST' });

    // Assess
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ message: 'Endpoint request timed out' });
    expect(log[0]).toMatchObject({ status: 504, responseType: 'INTEGRATION_TIMEOUT' });
    expect(finished).toBe(false);
    await eventually(() => expect(finished).toBe(true));
  });

  it("answers 504 when the integration is slower than the method's own timeout", async () => {
    // Prepare
    invoker.on(fn('work'), () => new Promise((resolve) => setTimeout(() => resolve(ok()), 300)));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/quick`);

    // Assess
    expect(response.status).toBe(504);
  });

  it('answers 502 Internal server error when the function fails', async () => {
    // Prepare
    invoker.on(fn('work'), () => functionError('Cannot read properties of undefined', 'TypeError'));
    const { gateway, log } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/work`, { method: 'POST' });

    // Assess
    expect(response.status).toBe(502);
    expect(response.headers.get('x-amzn-errortype')).toBe('InternalServerErrorException');
    expect(await response.json()).toEqual({ message: 'Internal server error' });
    expect(log[0]?.error).toContain('TypeError: Cannot read properties of undefined');
  });

  it.each([
    ['a string', 'hello'],
    ['no statusCode', { body: 'hello' }],
    ['a body that is not a string', { statusCode: 200, body: { hello: 'world' } }],
    ['a field the format does not have', { statusCode: 200, body: '', cookies: ['a=1'] }],
    ['a header value that is an object', { statusCode: 200, headers: { 'X-A': { b: 1 } } }],
    ['nothing', undefined],
  ])('answers 502 when the function returns %s', async (_, result) => {
    // Prepare
    invoker.on(fn('work'), () => ({ result }));
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/work`, { method: 'POST' });

    // Assess
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ message: 'Internal server error' });
  });

  it("answers a function failure with the API's DEFAULT_5XX response", async () => {
    // Prepare
    const default5xx: GatewayResponseModel = {
      responseType: 'DEFAULT_5XX',
      headers: { 'Content-Type': 'application/problem+json' },
      template: '{"status":502,"detail":$context.error.messageString}',
    };
    invoker.on(fn('work'), () => functionError('boom'));
    const { gateway } = await serve(apiWith([default5xx]), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/work`, { method: 'POST' });

    // Assess
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toEqual({ status: 502, detail: 'Internal server error' });
  });

  it('answers 500 when the function cannot be invoked at all', async () => {
    // Prepare: the fake invoker knows no function `work`
    const { gateway, log } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/work`, { method: 'POST' });

    // Assess
    expect(response.status).toBe(500);
    expect(log[0]).toMatchObject({ responseType: 'API_CONFIGURATION_ERROR' });
  });

  it('throttles the stage with a token bucket', async () => {
    // Prepare
    const { gateway } = await serve(apiWith([], { throttle: { rateLimit: 0.001, burstLimit: 2 } }), invoker);

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${gateway.url}/v1/items/1`, { method: 'PUT' })).status);

    // Assess
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('refuses authorization types it does not emulate rather than letting requests through', async () => {
    // Prepare
    const { gateway } = await serve(apiWith(), invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/iam`);

    // Assess
    expect(response.status).toBe(500);
    expect(invoker.calls).toHaveLength(0);
  });

  it('answers 403 Forbidden to a method requiring an API key when no usage plan admits the key sent, or none is sent', async () => {
    // Prepare: a gateway given no usage plans, like a stage no plan is attached to.
    const { gateway, log } = await serve(apiWith(), invoker);

    // Act
    const without = await fetch(`${gateway.url}/v1/keyed`);
    const withKey = await fetch(`${gateway.url}/v1/keyed`, { headers: { 'x-api-key': 'k-1' } });

    // Assess
    expect(without.status).toBe(403);
    expect(await without.json()).toEqual({ message: 'Forbidden' });
    expect(withKey.status).toBe(403);
    expect(invoker.calls).toHaveLength(0);
    expect(log.map((entry) => entry.responseType)).toEqual(['INVALID_API_KEY', 'INVALID_API_KEY']);
  });
});

describe('gateway response templates', () => {
  const variables = new Map<string, string | null>([
    ['context.requestId', 'r-1'],
    ['context.error.message', null],
    ['context.error.messageString', 'null'],
    ['context.authorizer.tenantId', 'acme'],
  ]);

  it.each([
    ['$context.requestId', 'r-1'],
    ['${context.requestId}-x', 'r-1-x'],
    ['$!context.authorizer.tenantId', 'acme'],
    ['$!{context.authorizer.tenantId}', 'acme'],
    ['{"m":$context.error.messageString}', '{"m":null}'],
    ['"$context.error.message"', '""'],
    ['"$context.unknown.thing"', '""'],
    ['at $context.requestId.', 'at r-1.'],
    ['#if($x) $util.escapeJavaScript("a") #end', '#if($x) $util.escapeJavaScript("a") #end'],
  ])('renders %s', (template, expected) => {
    // Prepare: the variables above

    // Act
    const rendered = renderContextTemplate(template, variables);

    // Assess
    expect(rendered).toBe(expected);
  });
});
