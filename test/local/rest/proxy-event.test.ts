import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_ID, closeGateways, FakeInvoker, fn, ok, proxy, rawRequest, restApi, serve } from './support';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const api = restApi({
  resources: [
    { path: '/v1/links', methods: [proxy('GET', 'echo'), proxy('POST', 'echo')] },
    { path: '/v1/uploads/{name}', methods: [proxy('PUT', 'echo')] },
    { path: '/v1/answer', methods: [proxy('GET', 'answer')] },
  ],
  binaryMediaTypes: ['image/png', 'application/vnd.switchyard~1bundle'],
});

let invoker: FakeInvoker;

beforeEach(() => {
  invoker = new FakeInvoker().on(fn('echo'), () => ok());
});

afterEach(closeGateways);

describe('REST gateway Lambda proxy events', () => {
  it('sends a GET as a v1 proxy event, repeated query parameters and headers in both shapes', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    const response = await rawRequest(`${gateway.url}/v1/links?tag=sale&tag=spring&limit=10&flag`, {
      headers: [
        ['Accept', 'application/json'],
        ['X-Tenant', 'acme'],
        ['X-Tenant', 'globex'],
        ['User-Agent', 'vitest-agent'],
      ],
    });

    // Assess
    expect(response.status).toBe(200);
    const [event] = invoker.eventsOf(fn('echo'));
    const host = `127.0.0.1:${gateway.port}`;
    expect(event).toEqual({
      resource: '/v1/links',
      path: '/v1/links',
      httpMethod: 'GET',
      headers: {
        Host: host,
        Accept: 'application/json',
        'X-Tenant': 'globex',
        'User-Agent': 'vitest-agent',
        'X-Forwarded-For': '127.0.0.1',
        'X-Forwarded-Proto': 'http',
        'X-Forwarded-Port': String(gateway.port),
        'X-Amzn-Trace-Id': expect.stringMatching(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/),
      },
      multiValueHeaders: {
        Host: [host],
        Accept: ['application/json'],
        'X-Tenant': ['acme', 'globex'],
        'User-Agent': ['vitest-agent'],
        'X-Forwarded-For': ['127.0.0.1'],
        'X-Forwarded-Proto': ['http'],
        'X-Forwarded-Port': [String(gateway.port)],
        'X-Amzn-Trace-Id': [event.headers['X-Amzn-Trace-Id']],
      },
      queryStringParameters: { tag: 'spring', limit: '10', flag: '' },
      multiValueQueryStringParameters: { tag: ['sale', 'spring'], limit: ['10'], flag: [''] },
      pathParameters: null,
      stageVariables: null,
      requestContext: {
        accountId: '000000000000',
        apiId: API_ID,
        domainName: host,
        domainPrefix: '127',
        extendedRequestId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/),
        httpMethod: 'GET',
        identity: {
          accessKey: null,
          accountId: null,
          apiKey: null,
          apiKeyId: null,
          caller: null,
          clientCert: null,
          cognitoAuthenticationProvider: null,
          cognitoAuthenticationType: null,
          cognitoIdentityId: null,
          cognitoIdentityPoolId: null,
          principalOrgId: null,
          sourceIp: '127.0.0.1',
          user: null,
          userAgent: 'vitest-agent',
          userArn: null,
        },
        path: '/dev/v1/links',
        protocol: 'HTTP/1.1',
        requestId: expect.stringMatching(UUID),
        requestTime: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/),
        requestTimeEpoch: expect.any(Number),
        resourceId: expect.stringMatching(/^[a-z0-9]{6}$/),
        resourcePath: '/v1/links',
        stage: 'dev',
      },
      body: null,
      isBase64Encoded: false,
    });
    expect(Math.abs(event.requestContext.requestTimeEpoch - Date.now())).toBeLessThan(5_000);
    expect(response.headers['x-amzn-requestid']).toBe(event.requestContext.requestId);
    expect(response.headers['x-amz-apigw-id']).toBe(event.requestContext.extendedRequestId);
    expect(response.headers['x-amzn-trace-id']).toBe(event.headers['X-Amzn-Trace-Id']);
  });

  it('sends a JSON body as text', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);
    const payload = JSON.stringify({ url: 'https://example.com/ünïcode', items: [1, 2] });

    // Act
    await fetch(`${gateway.url}/v1/links`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });

    // Assess
    const [event] = invoker.eventsOf(fn('echo'));
    expect(event).toMatchObject({ httpMethod: 'POST', body: payload, isBase64Encoded: false });
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.headers).not.toHaveProperty('content-length');
  });

  it.each([
    ['a binary media type', 'image/png', Buffer.from('text, but declared binary')],
    ['a binary media type written with ~1', 'application/vnd.switchyard+bundle', Buffer.from('{}')],
    ['bytes that are not UTF-8', 'application/octet-stream', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00])],
  ])('sends %s in base64', async (_, contentType, bytes) => {
    // Prepare
    const { gateway } = await serve(api, invoker);
    const binaryApi = contentType === 'application/vnd.switchyard+bundle';

    // Act
    await fetch(`${gateway.url}/v1/uploads/logo.png`, {
      method: 'PUT',
      headers: { 'content-type': binaryApi ? 'application/vnd.switchyard/bundle' : contentType },
      body: bytes,
    });

    // Assess
    const [event] = invoker.eventsOf(fn('echo'));
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body, 'base64')).toEqual(bytes);
    expect(event.pathParameters).toEqual({ name: 'logo.png' });
  });

  it('takes sourceIp from the connection, appending it to a spoofed X-Forwarded-For', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    await fetch(`${gateway.url}/v1/links`, { headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https' } });

    // Assess
    const [event] = invoker.eventsOf(fn('echo'));
    expect(event.requestContext.identity.sourceIp).toBe('127.0.0.1');
    expect(event.headers['X-Forwarded-For']).toBe('203.0.113.9, 127.0.0.1');
    expect(event.headers['X-Forwarded-Proto']).toBe('http');
    expect(Object.keys(event.headers).filter((h) => h.toLowerCase() === 'x-forwarded-for')).toHaveLength(1);
  });

  it('keeps the caller trace id when it has a root', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);
    const trace = 'Root=1-65e1c2a0-3f1b2c4d5e6f708192a3b4c5;Sampled=1';

    // Act
    const response = await fetch(`${gateway.url}/v1/links`, { headers: { 'X-Amzn-Trace-Id': trace } });

    // Assess
    expect(invoker.eventsOf(fn('echo'))[0].headers['X-Amzn-Trace-Id']).toBe(trace);
    expect(response.headers.get('x-amzn-trace-id')).toBe(trace);
  });

  it('writes one access-log entry per request', async () => {
    // Prepare
    const { gateway, log } = await serve(api, invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/links?x=1`);

    // Assess
    expect(log).toEqual([
      {
        requestId: response.headers.get('x-amzn-requestid'),
        extendedRequestId: response.headers.get('x-amz-apigw-id'),
        method: 'GET',
        path: '/dev/v1/links',
        resourcePath: '/v1/links',
        status: 200,
        latencyMs: expect.any(Number),
        sourceIp: '127.0.0.1',
        integrationLatencyMs: expect.any(Number),
      },
    ]);
  });
});

describe('REST gateway Lambda proxy responses', () => {
  it('maps status, headers and multi-value headers back to HTTP', async () => {
    // Prepare
    invoker.on(fn('answer'), () => ({
      result: {
        statusCode: 201,
        headers: { 'Content-Type': 'text/plain', 'X-Single': 'one', 'Set-Cookie': 'ignored=1', 'X-Flag': true },
        multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
        body: 'created',
        isBase64Encoded: false,
      },
    }));
    const { gateway } = await serve(api, invoker);

    // Act
    const response = await rawRequest(`${gateway.url}/v1/answer`);

    // Assess
    expect(response.status).toBe(201);
    expect(response.headers['content-type']).toBe('text/plain');
    expect(response.headers['x-single']).toBe('one');
    expect(response.headers['x-flag']).toBe('true');
    expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(response.body.toString()).toBe('created');
  });

  it('answers application/json when the function names no content type', async () => {
    // Prepare
    invoker.on(fn('answer'), () => ({ result: { statusCode: '200', body: '{"a":1}' } }));
    const { gateway } = await serve(api, invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/answer`);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ a: 1 });
  });

  it('decodes a base64 body only when the first Accept type is a binary media type', async () => {
    // Prepare
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]);
    invoker.on(fn('answer'), () => ({
      result: { statusCode: 200, headers: { 'Content-Type': 'image/png' }, body: png.toString('base64'), isBase64Encoded: true },
    }));
    const { gateway } = await serve(api, invoker);

    // Act
    const binary = await fetch(`${gateway.url}/v1/answer`, { headers: { Accept: 'image/png, */*' } });
    const text = await fetch(`${gateway.url}/v1/answer`, { headers: { Accept: 'text/html, image/png' } });

    // Assess
    expect(Buffer.from(await binary.arrayBuffer())).toEqual(png);
    expect(await text.text()).toBe(png.toString('base64'));
  });
});
