import { z } from 'zod';
import { defineRoute } from './route';

const CheckSchema = z.object({
  status: z.enum(['pass', 'fail']),
  latencyMs: z.number().int().nonnegative(),
  error: z.string().optional().meta({ description: 'Why the check failed; absent when it passed.' }),
});

export const HealthSchema = z
  .object({
    status: z.enum(['pass', 'fail']),
    version: z.string(),
    uptimeSeconds: z.number().int().nonnegative().meta({ description: 'Seconds since this function instance started.' }),
    checks: z.record(z.string(), CheckSchema),
  })
  .meta({ id: 'Health' });

export const getHealthRoute = defineRoute({
  operationId: 'getHealth',
  method: 'GET',
  path: '/health',
  summary: 'Readiness: checks every dependency with a short timeout',
  tags: ['platform'],
  auth: { public: true },
  responses: {
    200: { description: 'Every dependency answered in time', body: HealthSchema },
    503: { description: 'At least one dependency failed or timed out', body: HealthSchema },
  },
});

export const getLivenessRoute = defineRoute({
  operationId: 'getLiveness',
  method: 'GET',
  path: '/health/live',
  summary: 'Liveness: the API answers, without touching dependencies',
  tags: ['platform'],
  auth: { public: true },
  responses: {
    200: { description: 'Alive', body: HealthSchema },
  },
});

export const getOpenApiRoute = defineRoute({
  operationId: 'getOpenApi',
  method: 'GET',
  path: '/openapi.json',
  summary: 'This API, described in OpenAPI 3.1',
  tags: ['platform'],
  auth: { public: true },
  responses: {
    200: { description: 'The OpenAPI document', body: z.record(z.string(), z.unknown()) },
  },
});

export const PrincipalSchema = z
  .object({
    userId: z.string(),
    tenantId: z.string(),
    scopes: z.array(z.string()),
  })
  .meta({ id: 'Principal' });

export const getMeRoute = defineRoute({
  operationId: 'getMe',
  method: 'GET',
  path: '/v1/me',
  summary: 'Who the token says you are: user, tenant and scopes',
  description: 'Any valid token may call it; clients use it to check a token and read its scopes.',
  tags: ['platform'],
  auth: { scopes: [] },
  responses: {
    200: { description: 'The verified principal', body: PrincipalSchema },
  },
});

export const platformRoutes = [getHealthRoute, getLivenessRoute, getOpenApiRoute, getMeRoute] as const;
