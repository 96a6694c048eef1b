import { z } from 'zod';
import { isPublic, type RouteContract } from './route';

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  /** The stage's base URL, when known (the handler derives it from the request). */
  readonly serverUrl?: string;
}

type JsonSchema = Record<string, unknown>;

const ProblemSchema: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'detail', 'correlationId'],
  properties: {
    type: { type: 'string', examples: ['urn:switchyard:problem:validation-failed'] },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    correlationId: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'rule'],
        properties: { field: { type: 'string', examples: ['body.url'] }, rule: { type: 'string' } },
      },
    },
    retryAfterSeconds: { type: 'integer' },
  },
};

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/**
 * Builds the OpenAPI 3.1 document from route contracts. OpenAPI 3.1 schemas are JSON
 * Schema 2020-12, which zod emits directly, so the document cannot drift from the
 * schemas the handlers validate with.
 */
export function buildOpenApiDocument(routes: readonly RouteContract[], info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, JsonSchema> = { Problem: ProblemSchema };
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    item[route.method.toLowerCase()] = operation(route, schemas);
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A usage-plan API key: meters and throttles a calling backend; never authorizes.' },
      },
    },
  };
}

function operation(route: RouteContract, schemas: Record<string, JsonSchema>): Record<string, unknown> {
  const toSchema = (schema: z.ZodType, io: 'input' | 'output') => componentSchema(schema, io, schemas);
  const parameters = [
    ...parametersOf(route.request?.params, 'path', toSchema),
    ...parametersOf(route.request?.query, 'query', toSchema),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.headers
        ? { headers: Object.fromEntries(Object.entries(response.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) }
        : {}),
      ...(response.body ? { content: { 'application/json': { schema: toSchema(response.body, 'output') } } } : {}),
    };
  }
  if (route.request?.body || route.request?.params || route.request?.query) responses['400'] ??= problemResponse('The request broke a rule');
  if (!isPublic(route)) {
    responses['401'] ??= problemResponse('Missing, invalid or expired token');
    responses['403'] ??= problemResponse('The token lacks a required scope');
  }
  if (route.request?.body) {
    responses['413'] ??= problemResponse('The body is larger than the route accepts');
    responses['415'] ??= problemResponse('The body is not JSON');
  }
  responses['429'] ??= problemResponse('Rate limit exceeded; see Retry-After');
  responses['500'] ??= problemResponse('Unexpected error; quote the correlation id');

  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [...route.tags],
    // Both schemes in one requirement object: a route that needs a key needs the token too.
    security: isPublic(route)
      ? route.apiKey
        ? [{ apiKey: [] }]
        : []
      : [{ bearer: 'scopes' in route.auth ? [...route.auth.scopes] : [], ...(route.apiKey ? { apiKey: [] } : {}) }],
    ...(parameters.length ? { parameters } : {}),
    ...(route.request?.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(route.request.body, 'input') } } } }
      : {}),
    responses,
  };
}

function parametersOf(
  schema: z.ZodType | undefined,
  location: 'path' | 'query',
  toSchema: (schema: z.ZodType, io: 'input') => JsonSchema,
): Record<string, unknown>[] {
  if (!schema) return [];
  const json = toSchema(schema, 'input');
  const properties = (json['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    ...(typeof property['description'] === 'string' ? { description: property['description'] } : {}),
    schema: property,
  }));
}

/**
 * A zod schema as JSON Schema. Schemas named with `.meta({ id })` come out of zod as local
 * `$defs`; they move to `components.schemas`, where references resolve from the document
 * root. An input shape that differs from the output shape of the same name (defaults make
 * fields optional on input) is kept apart as `<id>Input`.
 */
function componentSchema(schema: z.ZodType, io: 'input' | 'output', schemas: Record<string, JsonSchema>): JsonSchema {
  const generate = (mode: 'input' | 'output') => z.toJSONSchema(schema, { target: 'draft-2020-12', io: mode, unrepresentable: 'any' }) as JsonSchema;
  const json = generate(io);
  delete json['$schema'];
  const defs = (json['$defs'] ?? {}) as Record<string, JsonSchema>;
  delete json['$defs'];
  const outputDefs = io === 'input' && Object.keys(defs).length ? ((generate('output')['$defs'] ?? {}) as Record<string, JsonSchema>) : defs;
  const names = new Map<string, string>();
  for (const [id, definition] of Object.entries(defs)) {
    names.set(id, JSON.stringify(outputDefs[id]) === JSON.stringify(definition) ? id : `${id}Input`);
  }
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!node || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) =>
        key === '$ref' && typeof value === 'string' && value.startsWith('#/$defs/')
          ? [key, `#/components/schemas/${names.get(value.slice('#/$defs/'.length)) ?? value.slice('#/$defs/'.length)}`]
          : [key, rewrite(value)],
      ),
    );
  };
  for (const [id, definition] of Object.entries(defs)) schemas[names.get(id)!] ??= rewrite(definition) as JsonSchema;
  return rewrite(json) as JsonSchema;
}
