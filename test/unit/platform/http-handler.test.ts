import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

// The shared Logger picks its console when it is built: in dev mode it writes through the
// global console, which the tests capture. This must run before `#shared/powertools` loads.
vi.hoisted(() => {
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'http-edge-test');
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'SwitchyardTest');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
});

import { defineRoute, type RouteAuth, type RouteContract } from '#shared/contracts/route';
import { ConfigurationError, ConflictError, GoneError, NotFoundError, ServiceUnavailableError, TooManyRequestsError } from '#shared/errors';
import { edgeOptionsFromEnv, httpHandler, type HttpResponse, type RouteHandler } from '#shared/http/handler';
import { lambdaContext } from '../../support/lambda-context';

const OPTIONS = { corsOrigins: ['https://app.example.com'], maxBodyBytes: 1024 } as const;
const ROUTE_MAX_BODY_BYTES = 256;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const createLinkRoute = defineRoute({
  operationId: 'testCreateLink',
  method: 'POST',
  path: '/v1/workspaces/{workspaceId}/links',
  summary: 'Creates a short link in a workspace',
  tags: ['test'],
  auth: { scopes: ['links:write'] },
  request: {
    params: z.object({ workspaceId: z.string().regex(/^ws-[a-z0-9]+$/, 'must look like ws-<name>') }),
    query: z.object({ limit: z.coerce.number().int().max(100).optional() }),
    body: z.object({
      url: z.url(),
      items: z.array(z.object({ sku: z.string().min(1), qty: z.number().int().positive() })).optional(),
    }),
    maxBodyBytes: ROUTE_MAX_BODY_BYTES,
  },
  responses: { 201: { description: 'Created' } },
});

const pingRoute = defineRoute({
  operationId: 'testPing',
  method: 'GET',
  path: '/v1/ping',
  summary: 'Answers anyone',
  tags: ['test'],
  auth: { public: true },
  responses: { 200: { description: 'Pong' }, 204: { description: 'Nothing to say' } },
});

/** A route with a body but no cap of its own: the edge's cap applies. */
const putNoteRoute = defineRoute({
  operationId: 'testPutNote',
  method: 'PUT',
  path: '/v1/notes',
  summary: 'Stores a note',
  tags: ['test'],
  auth: { public: true },
  request: { body: z.object({ text: z.string() }) },
  responses: { 204: { description: 'Stored' } },
});

type RequestOf<R> = R extends RouteContract<infer P, infer Q, infer B, infer A extends RouteAuth> ? Parameters<RouteHandler<P, Q, B, A>>[0] : never;

const createLink = vi.fn<(request: RequestOf<typeof createLinkRoute>) => Promise<HttpResponse>>();
const ping = vi.fn<(request: RequestOf<typeof pingRoute>) => Promise<HttpResponse>>();
const putNote = vi.fn<(request: RequestOf<typeof putNoteRoute>) => Promise<HttpResponse>>();

const createLinkHandler = httpHandler(createLinkRoute, (request) => createLink(request), OPTIONS);
const pingHandler = httpHandler(pingRoute, (request) => ping(request), OPTIONS);
const putNoteHandler = httpHandler(putNoteRoute, (request) => putNote(request), OPTIONS);

const CREATED: HttpResponse = {
  status: 201,
  body: { code: 'spring' },
  headers: { Location: '/v1/workspaces/ws-acme/links/spring' },
};

const context = lambdaContext('switchyard-create-link');

/** A fresh copy of the POST fixture, so a test may change it without touching the others. */
function fixture(): APIGatewayProxyEvent {
  return JSON.parse(readFileSync(new URL('../../events/apigw/rest-proxy-post.json', import.meta.url), 'utf8')) as APIGatewayProxyEvent;
}

interface Variant {
  /** Replaces the body; `null` for none. */
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  /** Merged into the fixture's headers; `undefined` removes one. */
  readonly headers?: Record<string, string | undefined>;
  /** Replaces `requestContext.authorizer`; `null` for a route without an authorizer. */
  readonly authorizer?: Record<string, unknown> | null;
  readonly query?: Record<string, string> | null;
  readonly pathParameters?: Record<string, string> | null;
}

/** The fixture with a few parts changed. */
function post(variant: Variant = {}): APIGatewayProxyEvent {
  const event = fixture();
  if (variant.body !== undefined) event.body = variant.body;
  if (variant.isBase64Encoded !== undefined) event.isBase64Encoded = variant.isBase64Encoded;
  if (variant.query !== undefined) event.queryStringParameters = variant.query;
  if (variant.pathParameters !== undefined) event.pathParameters = variant.pathParameters;
  if (variant.authorizer !== undefined) event.requestContext.authorizer = variant.authorizer;
  for (const [name, value] of Object.entries(variant.headers ?? {})) {
    if (value === undefined) delete event.headers[name];
    else event.headers[name] = value;
  }
  return event;
}

/** The fixture turned into a GET with no body, as for the public ping route. */
function get(variant: Variant = {}): APIGatewayProxyEvent {
  const event = post({ body: null, ...variant });
  event.httpMethod = 'GET';
  event.resource = '/v1/ping';
  event.path = '/v1/ping';
  event.pathParameters = null;
  event.queryStringParameters = null;
  delete event.headers['Content-Type'];
  return event;
}

/** The fixture turned into an anonymous PUT /v1/notes with the given body. */
function put(body: string): APIGatewayProxyEvent {
  const event = post({ body, authorizer: null });
  event.httpMethod = 'PUT';
  event.path = '/v1/notes';
  event.resource = '/v1/notes';
  event.pathParameters = null;
  event.queryStringParameters = null;
  return event;
}

/** The problem+json body of a response, after checking its content type. */
function problemOf(result: APIGatewayProxyResult): Record<string, unknown> {
  expect(result.headers?.['content-type']).toBe('application/problem+json');
  return JSON.parse(result.body) as Record<string, unknown>;
}

type Line = Record<string, unknown>;
let logLines: Line[] = [];

beforeEach(() => {
  createLink.mockReset();
  createLink.mockResolvedValue(CREATED);
  ping.mockReset();
  ping.mockResolvedValue({ status: 200, body: { pong: true } });
  putNote.mockReset();
  putNote.mockResolvedValue({ status: 204 });

  logLines = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      for (const arg of args) {
        if (typeof arg !== 'string') continue;
        try {
          logLines.push(JSON.parse(arg) as Line);
        } catch {
          // Only the Logger's JSON lines matter here.
        }
      }
    });
  }
});

describe('httpHandler: a valid request', () => {
  it('hands the domain function the parsed params, query and body, and serializes its answer', async () => {
    // Prepare
    const event = post({ query: { limit: '25' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(201);
    expect(result.headers?.['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(result.body)).toEqual({ code: 'spring' });
    expect(createLink).toHaveBeenCalledTimes(1);
    const request = createLink.mock.calls[0]![0];
    expect(request.params).toEqual({ workspaceId: 'ws-acme' });
    expect(request.query).toEqual({ limit: 25 });
    expect(request.body).toEqual({ url: 'https://example.com/spring-sale', items: [{ sku: 'tee-m', qty: 2 }] });
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['Content-Type']).toBeUndefined();
  });

  it('passes the principal from the authorizer context, scopes split on spaces', async () => {
    // Prepare
    const event = post({ authorizer: { principalId: 'bob', userId: 'bob', tenantId: 'globex', scopes: 'links:read links:write' } });

    // Act
    await createLinkHandler(event, context);

    // Assess
    expect(createLink.mock.calls[0]![0].principal).toEqual({ userId: 'bob', tenantId: 'globex', scopes: ['links:read', 'links:write'] });
  });

  it('takes sourceIp from the request context, never from X-Forwarded-For', async () => {
    // Prepare
    const event = post({ headers: { 'X-Forwarded-For': '10.6.6.6' } });

    // Act
    await createLinkHandler(event, context);

    // Assess
    expect(createLink.mock.calls[0]![0].sourceIp).toBe('198.51.100.7');
  });

  it('lets a public route run without an authorizer, with no principal', async () => {
    // Prepare
    const event = get({ authorizer: null });

    // Act
    const result = await pingHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(ping.mock.calls[0]![0].principal).toBeUndefined();
  });

  it('sends an empty body and no content type when the domain function returns none', async () => {
    // Prepare
    ping.mockResolvedValue({ status: 204 });

    // Act
    const result = await pingHandler(get(), context);

    // Assess
    expect(result.statusCode).toBe(204);
    expect(result.body).toBe('');
    expect(result.headers?.['content-type']).toBeUndefined();
  });
});

describe('httpHandler: body parsing', () => {
  it('answers malformed JSON with a 400 problem', async () => {
    // Prepare
    const event = post({ body: '{"url": "https://example.com",' });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(400);
    const problem = problemOf(result);
    expect(problem).toMatchObject({
      type: 'urn:switchyard:problem:malformed-body',
      title: 'Bad Request',
      status: 400,
      detail: expect.stringMatching(/^body is not valid JSON/),
      correlationId: result.headers?.['x-correlation-id'],
      instance: '/v1/workspaces/ws-acme/links',
    });
    expect(createLink).not.toHaveBeenCalled();
  });

  it('refuses a body that is not JSON with 415', async () => {
    // Prepare
    const event = post({ headers: { 'Content-Type': 'text/plain' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(415);
    expect(problemOf(result)).toMatchObject({
      type: 'urn:switchyard:problem:unsupported-media-type',
      title: 'Unsupported Media Type',
      status: 415,
      detail: 'content-type must be application/json, got "text/plain"',
    });
    expect(createLink).not.toHaveBeenCalled();
  });

  it('refuses a body sent without a content type with 415', async () => {
    // Prepare
    const event = post({ headers: { 'Content-Type': undefined } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(415);
    expect(problemOf(result)['detail']).toBe('content-type must be application/json, got none');
  });

  it.each(['application/merge-patch+json', 'application/vnd.switchyard.link+json', 'Application/JSON; charset=UTF-8'])(
    'accepts %s as JSON',
    async (contentType) => {
      // Prepare
      const event = post({ headers: { 'Content-Type': contentType } });

      // Act
      const result = await createLinkHandler(event, context);

      // Assess
      expect(result.statusCode).toBe(201);
      expect(createLink.mock.calls[0]![0].body.url).toBe('https://example.com/spring-sale');
    },
  );

  it('refuses a +json suffix outside application/ with 415', async () => {
    // Prepare
    const event = post({ headers: { 'Content-Type': 'text/ld+json' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(415);
  });

  it('refuses an oversize body with 413', async () => {
    // Prepare
    const event = post({ body: JSON.stringify({ url: `https://example.com/${'a'.repeat(ROUTE_MAX_BODY_BYTES)}` }) });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(413);
    expect(problemOf(result)).toMatchObject({
      type: 'urn:switchyard:problem:payload-too-large',
      title: 'Content Too Large',
      status: 413,
      detail: `body exceeds ${ROUTE_MAX_BODY_BYTES} bytes`,
    });
    expect(createLink).not.toHaveBeenCalled();
  });

  it('refuses an oversize body before parsing it: oversize and malformed gives 413, not 400', async () => {
    // Prepare
    const event = post({ body: `{"url": "${'x'.repeat(ROUTE_MAX_BODY_BYTES + 10)}` });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(413);
  });

  it('refuses an oversize body before checking its content type', async () => {
    // Prepare
    const event = post({ body: 'x'.repeat(ROUTE_MAX_BODY_BYTES + 1), headers: { 'Content-Type': 'text/plain' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(413);
  });

  it('counts the cap in bytes, not characters', async () => {
    // Prepare: fewer characters than the cap, more UTF-8 bytes.
    const body = JSON.stringify({ url: `https://example.com/${'é'.repeat(120)}` });
    expect(body.length).toBeLessThan(ROUTE_MAX_BODY_BYTES);
    const event = post({ body });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(413);
  });

  it('accepts a body of exactly the cap', async () => {
    // Prepare
    const prefix = JSON.stringify({ url: 'https://example.com/' }).length;
    const body = JSON.stringify({ url: `https://example.com/${'a'.repeat(ROUTE_MAX_BODY_BYTES - prefix)}` });
    expect(Buffer.byteLength(body)).toBe(ROUTE_MAX_BODY_BYTES);

    // Act
    const result = await createLinkHandler(post({ body }), context);

    // Assess
    expect(result.statusCode).toBe(201);
  });

  it("applies the edge's cap to a route that sets none", async () => {
    // Prepare
    const within = put(JSON.stringify({ text: 'n'.repeat(OPTIONS.maxBodyBytes - 20) }));
    const over = put(JSON.stringify({ text: 'n'.repeat(OPTIONS.maxBodyBytes) }));

    // Act
    const accepted = await putNoteHandler(within, context);
    const refused = await putNoteHandler(over, context);

    // Assess
    expect(accepted.statusCode).toBe(204);
    expect(refused.statusCode).toBe(413);
    expect(problemOf(refused)['detail']).toBe(`body exceeds ${OPTIONS.maxBodyBytes} bytes`);
  });

  it('decodes a base64-encoded body and validates it', async () => {
    // Prepare
    const json = JSON.stringify({ url: 'https://example.com/b64', items: [{ sku: 'mug', qty: 1 }] });
    const event = post({ body: Buffer.from(json, 'utf8').toString('base64'), isBase64Encoded: true });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(201);
    expect(createLink.mock.calls[0]![0].body).toEqual({ url: 'https://example.com/b64', items: [{ sku: 'mug', qty: 1 }] });
  });

  it('validates a base64-encoded body after decoding it', async () => {
    // Prepare
    const event = post({ body: Buffer.from(JSON.stringify({ url: 'not a url' })).toString('base64'), isBase64Encoded: true });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(problemOf(result)['errors']).toEqual([{ field: 'body.url', rule: 'Invalid URL' }]);
  });

  it('measures a base64-encoded body by its decoded size', async () => {
    // Prepare: 240 bytes decoded, 320 characters encoded.
    const prefix = JSON.stringify({ url: 'https://example.com/' }).length;
    const json = JSON.stringify({ url: `https://example.com/${'a'.repeat(240 - prefix)}` });
    const encoded = Buffer.from(json).toString('base64');
    expect(encoded.length).toBeGreaterThan(ROUTE_MAX_BODY_BYTES);

    // Act
    const result = await createLinkHandler(post({ body: encoded, isBase64Encoded: true }), context);

    // Assess
    expect(result.statusCode).toBe(201);
  });
});

describe('httpHandler: validation', () => {
  it('names a body field and the rule it broke', async () => {
    // Prepare
    const event = post({ body: JSON.stringify({ url: 'notaurl' }) });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(problemOf(result)).toMatchObject({
      type: 'urn:switchyard:problem:validation-failed',
      title: 'Bad Request',
      status: 400,
      detail: 'body.url: Invalid URL',
      correlationId: expect.any(String),
      errors: [{ field: 'body.url', rule: 'Invalid URL' }],
    });
    expect(createLink).not.toHaveBeenCalled();
  });

  it('names a query field', async () => {
    // Prepare
    const event = post({ query: { limit: '500' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(problemOf(result)['errors']).toEqual([{ field: 'query.limit', rule: 'Too big: expected number to be <=100' }]);
  });

  it('names a path parameter', async () => {
    // Prepare
    const event = post({ pathParameters: { workspaceId: 'acme' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(400);
    expect(problemOf(result)['errors']).toEqual([{ field: 'path.workspaceId', rule: 'must look like ws-<name>' }]);
  });

  it('names nested array fields with their index', async () => {
    // Prepare
    const event = post({
      body: JSON.stringify({ url: 'https://example.com/x', items: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 0 }, { sku: '', qty: 2 }] }),
    });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(400);
    const errors = problemOf(result)['errors'] as { field: string; rule: string }[];
    expect(errors.map((e) => e.field)).toEqual(['body.items[1].qty', 'body.items[2].sku']);
    expect(errors[0]!.rule).toBe('Too small: expected number to be >0');
  });

  it.each([
    ['no body', null],
    ['an empty body', ''],
  ])('refuses %s where one is required, naming body', async (_, body) => {
    // Prepare
    const event = post({ body });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(400);
    const errors = problemOf(result)['errors'] as { field: string; rule: string }[];
    expect(errors).toHaveLength(1);
    expect(errors[0]!.field).toBe('body');
    expect(errors[0]!.rule).toMatch(/expected object/);
  });
});

describe('httpHandler: authorization', () => {
  it('refuses a protected route without a principal with 401 "invalid token"', async () => {
    // Prepare
    const event = post({ authorizer: null });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(401);
    expect(problemOf(result)).toMatchObject({ type: 'urn:switchyard:problem:unauthorized', title: 'Unauthorized', status: 401, detail: 'invalid token' });
    expect(createLink).not.toHaveBeenCalled();
  });

  it('refuses an authorizer context without a tenant with 401', async () => {
    // Prepare
    const event = post({ authorizer: { principalId: 'alice', userId: 'alice', scopes: 'links:write' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(401);
  });

  it('refuses a principal without the scope with 403 naming it', async () => {
    // Prepare
    const event = post({ authorizer: { userId: 'alice', tenantId: 'acme', scopes: 'links:read links:writer' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(403);
    expect(problemOf(result)).toMatchObject({ type: 'urn:switchyard:problem:forbidden', title: 'Forbidden', status: 403, detail: 'missing scope: links:write' });
    expect(createLink).not.toHaveBeenCalled();
  });

  it('checks the scope before the body: no scope and a bad body gives 403, not 400', async () => {
    // Prepare
    const event = post({ authorizer: { userId: 'alice', tenantId: 'acme', scopes: 'links:read' }, body: JSON.stringify({ url: 42 }) });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.statusCode).toBe(403);
    expect(problemOf(result)['errors']).toBeUndefined();
  });
});

describe('httpHandler: errors from the domain function', () => {
  it('answers a plain Error with a 500 that says nothing of it', async () => {
    // Prepare
    createLink.mockRejectedValue(new Error('db password xyz'));

    // Act
    const result = await createLinkHandler(post(), context);

    // Assess
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('db password xyz');
    expect(problemOf(result)).toMatchObject({
      type: 'urn:switchyard:problem:internal',
      title: 'Internal Server Error',
      status: 500,
      detail: expect.stringContaining('correlation id'),
      correlationId: result.headers?.['x-correlation-id'],
    });
  });

  it.each([
    ['NotFoundError', new NotFoundError('no link spring'), 404, 'Not Found', 'not-found'],
    ['ConflictError', new ConflictError('code spring is taken'), 409, 'Conflict', 'conflict'],
    ['GoneError', new GoneError('link spring expired'), 410, 'Gone', 'gone'],
  ])('maps %s to %i with its message', async (_, error, status, title, code) => {
    // Prepare
    createLink.mockRejectedValue(error);

    // Act
    const result = await createLinkHandler(post(), context);

    // Assess
    expect(result.statusCode).toBe(status);
    expect(problemOf(result)).toMatchObject({ type: `urn:switchyard:problem:${code}`, title, status, detail: error.message });
    expect(result.headers?.['retry-after']).toBeUndefined();
  });

  it('maps TooManyRequestsError to 429 with Retry-After and retryAfterSeconds, rounded up', async () => {
    // Prepare
    createLink.mockRejectedValue(new TooManyRequestsError('slow down', 2.2));

    // Act
    const result = await createLinkHandler(post(), context);

    // Assess
    expect(result.statusCode).toBe(429);
    expect(result.headers?.['retry-after']).toBe('3');
    expect(problemOf(result)).toMatchObject({ type: 'urn:switchyard:problem:too-many-requests', title: 'Too Many Requests', status: 429, detail: 'slow down', retryAfterSeconds: 3 });
  });

  it('maps ServiceUnavailableError to 503, with Retry-After only when it gives one', async () => {
    // Prepare
    createLink.mockRejectedValueOnce(new ServiceUnavailableError('link store unavailable', 30));
    createLink.mockRejectedValueOnce(new ServiceUnavailableError('link store unavailable'));

    // Act
    const withDelay = await createLinkHandler(post(), context);
    const without = await createLinkHandler(post(), context);

    // Assess
    expect(withDelay.statusCode).toBe(503);
    expect(withDelay.headers?.['retry-after']).toBe('30');
    expect(problemOf(withDelay)).toMatchObject({ type: 'urn:switchyard:problem:service-unavailable', title: 'Service Unavailable', status: 503, retryAfterSeconds: 30 });
    expect(without.statusCode).toBe(503);
    expect(without.headers?.['retry-after']).toBeUndefined();
    expect(problemOf(without)['retryAfterSeconds']).toBeUndefined();
    // A 5xx says nothing of internals, even for an error of ours.
    expect(withDelay.body).not.toContain('link store');
  });
});

describe('httpHandler: correlation id', () => {
  it.each(['x-correlation-id', 'X-Correlation-Id', 'X-CORRELATION-ID'])('echoes a safe %s in the header and the problem', async (name) => {
    // Prepare
    createLink.mockRejectedValue(new NotFoundError('no link'));
    const event = post({ headers: { [name]: 'req-7f3a2c:retry.1' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.headers?.['x-correlation-id']).toBe('req-7f3a2c:retry.1');
    expect(problemOf(result)['correlationId']).toBe('req-7f3a2c:retry.1');
  });

  it('echoes it on success too, and hands it to the domain function', async () => {
    // Prepare
    const event = post({ headers: { 'X-Correlation-Id': 'req-ok-1' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.headers?.['x-correlation-id']).toBe('req-ok-1');
    expect(createLink.mock.calls[0]![0].correlationId).toBe('req-ok-1');
  });

  it('takes the trace id of a traceparent header', async () => {
    // Prepare
    const event = post({ headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.headers?.['x-correlation-id']).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('prefers a safe x-correlation-id over traceparent', async () => {
    // Prepare
    const event = post({ headers: { 'x-correlation-id': 'req-mine', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.headers?.['x-correlation-id']).toBe('req-mine');
  });

  it.each([
    ['spaces', 'req 7f3a2c'],
    ['200 characters', 'a'.repeat(200)],
    ['a line break', 'req-1\nforged: yes'],
    ['markup', '<script>alert(1)</script>'],
  ])('replaces an x-correlation-id with %s by a new UUID', async (_, unsafe) => {
    // Prepare
    const event = post({ headers: { 'x-correlation-id': unsafe } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.headers?.['x-correlation-id']).toMatch(UUID);
  });

  it('replaces an all-zero traceparent trace id by a new UUID', async () => {
    // Prepare
    const event = post({ headers: { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' } });

    // Act
    const result = await createLinkHandler(event, context);

    // Assess
    expect(result.headers?.['x-correlation-id']).toMatch(UUID);
  });

  it('makes a new UUID per request when the caller sends none', async () => {
    // Act
    const first = await createLinkHandler(post(), context);
    const second = await createLinkHandler(post(), context);

    // Assess
    expect(first.headers?.['x-correlation-id']).toMatch(UUID);
    expect(second.headers?.['x-correlation-id']).toMatch(UUID);
    expect(first.headers?.['x-correlation-id']).not.toBe(second.headers?.['x-correlation-id']);
  });

  it('puts the correlation id and the operation on the log line of a refused request', async () => {
    // Prepare
    const event = post({ headers: { 'x-correlation-id': 'req-logged-4xx' }, body: '{' });

    // Act
    await createLinkHandler(event, context);

    // Assess
    const line = logLines.find((l) => l['message'] === 'request refused');
    expect(line).toMatchObject({ level: 'INFO', correlationId: 'req-logged-4xx', operation: 'testCreateLink', status: 400 });
  });

  it('logs a failed request with its correlation id and the cause, which the client never sees', async () => {
    // Prepare
    createLink.mockRejectedValue(new Error('db password xyz'));
    const event = post({ headers: { 'x-correlation-id': 'req-logged-5xx' } });

    // Act
    await createLinkHandler(event, context);

    // Assess
    const line = logLines.find((l) => l['message'] === 'request failed');
    expect(line).toMatchObject({ level: 'ERROR', correlationId: 'req-logged-5xx', tenantId: 'acme', userId: 'alice' });
    expect(JSON.stringify(line)).toContain('db password xyz');
  });

  it("does not carry one request's tenant onto the next request's log lines", async () => {
    // Prepare
    createLink.mockRejectedValue(new NotFoundError('no link'));
    await createLinkHandler(post({ headers: { 'x-correlation-id': 'req-first' } }), context);

    // Act
    await createLinkHandler(post({ headers: { 'x-correlation-id': 'req-second' }, authorizer: null }), context);

    // Assess
    const first = logLines.find((l) => l['correlationId'] === 'req-first');
    const second = logLines.find((l) => l['correlationId'] === 'req-second');
    expect(first).toMatchObject({ tenantId: 'acme' });
    expect(second).toBeDefined();
    expect(second).not.toHaveProperty('tenantId');
    expect(second).not.toHaveProperty('userId');
  });
});

describe('httpHandler: response headers', () => {
  const SECURITY = {
    'strict-transport-security': expect.stringMatching(/^max-age=\d+/),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
  };

  it('sets security headers and no-store on success', async () => {
    // Prepare
    createLink.mockResolvedValue({ status: 200, body: { ok: true } });

    // Act
    const result = await createLinkHandler(post(), context);

    // Assess
    expect(result.headers).toMatchObject(SECURITY);
  });

  it.each([
    ['a validation problem', () => post({ body: '{}' })],
    ['a missing principal', () => post({ authorizer: null })],
  ])('sets security headers on %s', async (_, event) => {
    // Act
    const result = await createLinkHandler(event(), context);

    // Assess
    expect(result.statusCode).toBeGreaterThanOrEqual(400);
    expect(result.headers).toMatchObject(SECURITY);
  });

  it('sets security headers on a 500', async () => {
    // Prepare
    createLink.mockRejectedValue(new Error('boom'));

    // Act
    const result = await createLinkHandler(post(), context);

    // Assess
    expect(result.statusCode).toBe(500);
    expect(result.headers).toMatchObject(SECURITY);
  });

  it('lets headers the domain function sets override the defaults, whatever their case', async () => {
    // Prepare
    createLink.mockResolvedValue({ status: 201, body: { code: 'spring' }, headers: { Location: '/v1/links/spring', 'Cache-Control': 'public, max-age=60' } });

    // Act
    const result = await createLinkHandler(post(), context);

    // Assess
    expect(result.headers).toMatchObject({ location: '/v1/links/spring', 'cache-control': 'public, max-age=60' });
    expect(result.headers).not.toHaveProperty('Cache-Control');
  });

  it('echoes an allowed origin with Vary: Origin and exposes the correlation id', async () => {
    // Act
    const result = await createLinkHandler(post({ headers: { Origin: 'https://app.example.com' } }), context);

    // Assess
    expect(result.headers?.['access-control-allow-origin']).toBe('https://app.example.com');
    expect(result.headers?.['vary']).toBe('Origin');
    const exposed = String(result.headers?.['access-control-expose-headers']).split(',').map((h) => h.trim());
    expect(exposed).toEqual(expect.arrayContaining(['x-correlation-id', 'retry-after', 'location']));
  });

  it('sets CORS headers on a problem too, so a browser can read it', async () => {
    // Act
    const result = await createLinkHandler(post({ headers: { origin: 'https://app.example.com' }, authorizer: null }), context);

    // Assess
    expect(result.statusCode).toBe(401);
    expect(result.headers?.['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it.each([
    ['a foreign origin', 'https://evil.example.net'],
    ['a look-alike origin', 'https://app.example.com.evil.example.net'],
    ['no origin', undefined],
  ])('sends no CORS headers for %s', async (_, origin) => {
    // Act
    const result = await createLinkHandler(post({ headers: { Origin: origin } }), context);

    // Assess
    expect(result.statusCode).toBe(201);
    expect(result.headers).not.toHaveProperty('access-control-allow-origin');
    expect(result.headers).not.toHaveProperty('access-control-expose-headers');
  });

  it('allows any origin when the edge allows *', async () => {
    // Prepare
    const anyOrigin = httpHandler(pingRoute, (request) => ping(request), { corsOrigins: ['*'], maxBodyBytes: 1024 });

    // Act
    const result = await anyOrigin(get({ headers: { Origin: 'https://elsewhere.example.org' } }), context);

    // Assess
    expect(result.headers?.['access-control-allow-origin']).toBe('*');
  });
});

describe('edgeOptionsFromEnv', () => {
  it('reads the CORS origins as a list and the body cap as a number', () => {
    // Act
    const options = edgeOptionsFromEnv({ CORS_ORIGINS: 'https://app.example.com, https://admin.example.com', MAX_BODY_BYTES: '4096' });

    // Assess
    expect(options).toEqual({ corsOrigins: ['https://app.example.com', 'https://admin.example.com'], maxBodyBytes: 4096 });
  });

  it('allows no origin and caps bodies at 256 KiB when nothing is set', () => {
    // Act
    const options = edgeOptionsFromEnv({});

    // Assess
    expect(options).toEqual({ corsOrigins: [], maxBodyBytes: 256 * 1024 });
  });

  it('refuses a body cap that is not a positive integer', () => {
    // Act
    const read = () => edgeOptionsFromEnv({ MAX_BODY_BYTES: 'lots' });

    // Assess
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(/MAX_BODY_BYTES/);
  });
});
