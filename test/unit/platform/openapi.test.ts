import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allRoutes } from '#shared/contracts/index';
import { buildOpenApiDocument } from '#shared/contracts/openapi';
import { defineRoute, isPublic, type RouteContract } from '#shared/contracts/route';

const INFO = { title: 'Switchyard API', version: '1.2.3' };

const createLinkRoute = defineRoute({
  operationId: 'testCreateLink',
  method: 'POST',
  path: '/v1/workspaces/{workspaceId}/links/{code}',
  summary: 'Creates a short link under a chosen code',
  tags: ['links'],
  auth: { scopes: ['links:write'] },
  request: {
    params: z.object({ workspaceId: z.string().regex(/^ws-[a-z0-9]+$/), code: z.string().min(3).max(32) }),
    query: z.object({
      dryRun: z.enum(['true', 'false']).optional(),
      mode: z.enum(['strict', 'lenient']).meta({ description: 'How hard to check the target' }),
    }),
    body: z.object({
      url: z.url(),
      title: z.string().max(80).optional(),
      ttlSeconds: z.number().int().positive(),
      tags: z.array(z.string()).optional(),
    }),
    maxBodyBytes: 4096,
  },
  responses: { 201: { description: 'Created', headers: { Location: 'The new link' } } },
});

type Operation = {
  operationId: string;
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean; description?: string; schema: Record<string, unknown> }[];
  requestBody?: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: Record<string, unknown> }> }>;
};
type Document = {
  openapi: string;
  info: { title: string; version: string };
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, unknown> };
};

function build(routes: readonly RouteContract[], info: { title: string; version: string; serverUrl?: string } = INFO): Document {
  return buildOpenApiDocument(routes, info) as unknown as Document;
}

function operationOf(document: Document, route: RouteContract): Operation {
  const operation = document.paths[route.path]?.[route.method.toLowerCase()];
  expect(operation, `${route.method} ${route.path}`).toBeDefined();
  return operation!;
}

const placeholdersOf = (path: string) => [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();

describe('buildOpenApiDocument', () => {
  it('declares OpenAPI 3.1.0 with the given title and version, the Problem schema and the bearer scheme', () => {
    // Act
    const document = build(allRoutes);

    // Assess
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toEqual(INFO);
    expect(document.components.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }),
    });
    expect(document.components.schemas['Problem']).toMatchObject({ type: 'object', required: ['type', 'title', 'detail', 'correlationId'] });
  });

  it('lists the server only when its URL is known', () => {
    // Act
    const withServer = build(allRoutes, { ...INFO, serverUrl: 'https://api.example.com/dev' });
    const without = build(allRoutes);

    // Assess
    expect(withServer.servers).toEqual([{ url: 'https://api.example.com/dev' }]);
    expect(without).not.toHaveProperty('servers');
  });

  it.each(allRoutes.map((route) => [route.operationId, route] as const))('puts %s under its path and method', (operationId, route) => {
    // Act
    const document = build(allRoutes);

    // Assess
    expect(operationOf(document, route).operationId).toBe(operationId);
  });

  it('documents every route of allRoutes and nothing else', () => {
    // Act
    const document = build(allRoutes);

    // Assess
    const documented = Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(allRoutes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('gives public routes no security and protected ones the bearer scheme with their scopes, and the API key where the route needs one', () => {
    // Act
    const document = build([...allRoutes, createLinkRoute]);

    // Assess
    const publicRoutes = allRoutes.filter(isPublic);
    const protectedRoutes = allRoutes.filter((r) => !isPublic(r));
    expect(publicRoutes.length).toBeGreaterThan(0);
    expect(protectedRoutes.length).toBeGreaterThan(0);
    for (const route of publicRoutes) expect(operationOf(document, route).security, route.operationId).toEqual([]);
    for (const route of protectedRoutes) {
      const scopes = 'scopes' in route.auth ? [...route.auth.scopes] : [];
      expect(operationOf(document, route).security, route.operationId).toEqual([{ bearer: scopes, ...(route.apiKey ? { apiKey: [] } : {}) }]);
    }
    expect(protectedRoutes.filter((r) => r.apiKey).length).toBeGreaterThan(0);
    expect(operationOf(document, createLinkRoute).security).toEqual([{ bearer: ['links:write'] }]);
  });

  it('turns path params into required path parameters and query fields into query parameters', () => {
    // Act
    const operation = operationOf(build([createLinkRoute]), createLinkRoute);

    // Assess
    expect(operation.parameters).toEqual([
      { name: 'workspaceId', in: 'path', required: true, schema: { type: 'string', pattern: '^ws-[a-z0-9]+$' } },
      { name: 'code', in: 'path', required: true, schema: { type: 'string', minLength: 3, maxLength: 32 } },
      { name: 'dryRun', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } },
      {
        name: 'mode',
        in: 'query',
        required: true,
        description: 'How hard to check the target',
        schema: { type: 'string', enum: ['strict', 'lenient'], description: 'How hard to check the target' },
      },
    ]);
  });

  it("describes the body with a JSON schema whose required fields and types match the zod schema", () => {
    // Act
    const operation = operationOf(build([createLinkRoute]), createLinkRoute);

    // Assess
    expect(operation.requestBody?.required).toBe(true);
    const schema = operation.requestBody?.content['application/json']?.schema;
    expect(schema).toMatchObject({
      type: 'object',
      properties: {
        url: { type: 'string', format: 'uri' },
        title: { type: 'string', maxLength: 80 },
        ttlSeconds: { type: 'integer', exclusiveMinimum: 0 },
        tags: { type: 'array', items: { type: 'string' } },
      },
    });
    expect((schema?.['required'] as string[]).sort()).toEqual(['ttlSeconds', 'url']);
    expect(schema).not.toHaveProperty('$schema');
  });

  it('gives a route without request parts neither parameters nor a request body', () => {
    // Prepare
    const health = allRoutes.find((r) => r.operationId === 'getHealth')!;

    // Act
    const operation = operationOf(build(allRoutes), health);

    // Assess
    expect(operation).not.toHaveProperty('parameters');
    expect(operation).not.toHaveProperty('requestBody');
    expect(operation.responses).not.toHaveProperty('400');
  });

  it('adds the error responses a route can give, each a Problem', () => {
    // Act
    const operation = operationOf(build([createLinkRoute]), createLinkRoute);

    // Assess
    expect(Object.keys(operation.responses).sort()).toEqual(['201', '400', '401', '403', '413', '415', '429', '500']);
    for (const status of ['400', '401', '403', '413', '415', '429', '500']) {
      expect(operation.responses[status]?.content, status).toEqual({ 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } });
    }
    expect(operation.responses['201']).toEqual({ description: 'Created', headers: { Location: { description: 'The new link', schema: { type: 'string' } } } });
  });

  it('leaves auth problems off public routes and body problems off routes without a body', () => {
    // Prepare
    const health = allRoutes.find((r) => r.operationId === 'getHealth')!;
    const me = allRoutes.find((r) => r.operationId === 'getMe')!;

    // Act
    const document = build(allRoutes);

    // Assess
    expect(Object.keys(operationOf(document, health).responses)).not.toEqual(expect.arrayContaining(['401']));
    expect(Object.keys(operationOf(document, health).responses)).not.toEqual(expect.arrayContaining(['403']));
    expect(Object.keys(operationOf(document, me).responses)).toEqual(expect.arrayContaining(['401', '403']));
    expect(Object.keys(operationOf(document, me).responses)).not.toEqual(expect.arrayContaining(['413']));
    expect(Object.keys(operationOf(document, me).responses)).not.toEqual(expect.arrayContaining(['415']));
  });

  it("keeps a route's own response for a status instead of the default problem", () => {
    // Prepare
    const health = allRoutes.find((r) => r.operationId === 'getHealth')!;

    // Act
    const operation = operationOf(build(allRoutes), health);

    // Assess
    expect(operation.responses['503']?.description).toBe('At least one dependency failed or timed out');
    expect(operation.responses['503']?.content).toHaveProperty('application/json');
    expect(operation.responses['503']?.content).not.toHaveProperty('application/problem+json');
  });

  it("keeps a route's own response for a status that otherwise gets a default problem", () => {
    // Prepare
    const route = defineRoute({
      operationId: 'testConsume',
      method: 'POST',
      path: '/v1/quota/consume',
      summary: 'Consumes tokens',
      tags: ['test'],
      auth: { scopes: ['quota:write'] },
      request: { body: z.object({ tokens: z.number().int().positive() }) },
      responses: {
        200: { description: 'Consumed' },
        401: { description: 'The token expired; refresh it' },
        429: { description: 'Bucket empty', headers: { 'Retry-After': 'Seconds until a token is free' } },
      },
    });

    // Act
    const operation = operationOf(build([route]), route);

    // Assess
    expect(operation.responses['401']).toEqual({ description: 'The token expired; refresh it' });
    expect(operation.responses['429']).toEqual({
      description: 'Bucket empty',
      headers: { 'Retry-After': { description: 'Seconds until a token is free', schema: { type: 'string' } } },
    });
    expect(operation.responses['403']?.content).toHaveProperty('application/problem+json');
  });

  it('documents path parameters as required even when the schema lets one be left out, as OpenAPI demands', () => {
    // Prepare
    const route = defineRoute({
      operationId: 'testGetPage',
      method: 'GET',
      path: '/v1/pages/{slug}',
      summary: 'Reads a page',
      tags: ['test'],
      auth: { public: true },
      request: { params: z.object({ slug: z.string().optional() }) },
      responses: { 200: { description: 'The page' } },
    });

    // Act
    const operation = operationOf(build([route]), route);

    // Assess
    expect(operation.parameters).toEqual([{ name: 'slug', in: 'path', required: true, schema: { type: 'string' } }]);
  });

  it('points every problem+json response of allRoutes at the Problem component', () => {
    // Act
    const document = build(allRoutes);

    // Assess
    const problems = Object.values(document.paths)
      .flatMap((item) => Object.values(item))
      .flatMap((operation) => Object.values(operation.responses))
      .flatMap((response) => (response.content?.['application/problem+json'] ? [response.content['application/problem+json'].schema] : []));
    expect(problems.length).toBeGreaterThan(0);
    for (const schema of problems) expect(schema).toEqual({ $ref: '#/components/schemas/Problem' });
  });
});

describe('allRoutes', () => {
  it('uses each operationId once', () => {
    // Act
    const ids = allRoutes.map((r) => r.operationId);

    // Assess
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uses each method and path once', () => {
    // Act
    const keys = allRoutes.map((r) => `${r.method} ${r.path}`);

    // Assess
    expect(new Set(keys).size).toBe(keys.length);
  });

  it.each(allRoutes.map((route) => [route.operationId, route] as const))(
    '%s declares exactly the path params its path names',
    (_, route) => {
      // Prepare
      const declared = route.request?.params ? Object.keys((z.toJSONSchema(route.request.params)['properties'] ?? {}) as object).sort() : [];

      // Act
      const inPath = placeholdersOf(route.path);

      // Assess
      expect(declared).toEqual(inPath);
    },
  );

  it('documents each path placeholder of a contract with params as a path parameter', () => {
    // Act
    const operation = operationOf(build([createLinkRoute]), createLinkRoute);

    // Assess
    const documented = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name).sort();
    expect(documented).toEqual(placeholdersOf(createLinkRoute.path));
  });
});

describe('references', () => {
  function refsIn(value: unknown): string[] {
    if (Array.isArray(value)) return value.flatMap(refsIn);
    if (value && typeof value === 'object') {
      return Object.entries(value).flatMap(([key, v]) => (key === '$ref' && typeof v === 'string' ? [v] : refsIn(v)));
    }
    return [];
  }

  function resolve(document: unknown, ref: string): unknown {
    return ref
      .slice(2)
      .split('/')
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), document);
  }

  it('resolves every $ref from the document root, named schemas included', () => {
    // Act
    const document = buildOpenApiDocument(allRoutes, { title: 'Switchyard API', version: '1.2.3' });

    // Assess
    const refs = [...new Set(refsIn(document))];
    expect(refs).toContain('#/components/schemas/Health');
    expect(refs.filter((ref) => !ref.startsWith('#/') || resolve(document, ref) === undefined)).toEqual([]);
  });

  it('keeps an input shape apart from the output shape of the same name when they differ', () => {
    // Prepare
    const Item = z.object({ name: z.string(), qty: z.number().int().default(1) }).meta({ id: 'Item' });
    const route = defineRoute({
      operationId: 'putItem',
      method: 'PUT',
      path: '/items',
      summary: 'Replace an item',
      tags: ['test'],
      auth: { scopes: [] },
      request: { body: Item },
      responses: { 200: { description: 'The item', body: Item } },
    });

    const postRoute = { ...route, operationId: 'postItem', method: 'POST' as const, responses: {} };

    // Act: the request body comes first in one document, the response first in the other.
    for (const routes of [[postRoute, route], [route, postRoute]]) {
      const document = buildOpenApiDocument(routes as RouteContract[], { title: 't', version: '1' }) as {
        components: { schemas: Record<string, { required?: string[] }> };
      };

      // Assess
      expect(document.components.schemas['Item']?.required).toEqual(['name', 'qty']);
      expect(document.components.schemas['ItemInput']?.required).toEqual(['name']);
    }
  });
});
