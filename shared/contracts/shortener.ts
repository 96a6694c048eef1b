import { z } from 'zod';
import { defineRoute } from './route';

/**
 * The URL shortener: tenants create short links, anyone follows them, and every click is counted
 * off the redirect path. See lib/shortener/README.md.
 */

/** A random code (8 base62 characters) or an alias (3 to 64 of `[A-Za-z0-9_-]`). */
export const CodeSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{3,64}$/, 'must be 3 to 64 of A-Z, a-z, 0-9, _ and -')
  .meta({ description: 'The link code: random, or the alias chosen at creation.', example: 'k3Xq9bTz' });

const TagSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,32}$/, 'must be 1 to 32 of A-Z, a-z, 0-9, _ . : -');

export const RedirectTypeSchema = z
  .union([z.literal(301), z.literal(302), z.literal(307)], { error: 'must be 301, 302 or 307' })
  .meta({ description: '302 (the default) keeps every click counted; 301 is cached by browsers, so repeat clicks never reach us; 307 keeps the method.' });

const FutureInstant = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' })
  .refine((value) => Date.parse(value) > Date.now(), 'must be in the future');

export const CreateLinkRequestSchema = z
  .object({
    url: z.string().meta({ description: 'The target: absolute http(s), at most 2048 characters, public host.', example: 'https://example.com/a/long/path?q=1' }),
    alias: z.string().optional().meta({ description: 'A code of your choosing: 3 to 64 of A-Z, a-z, 0-9, _ and -, not a reserved word.' }),
    expiresAt: FutureInstant.optional(),
    maxClicks: z.number().int('must be an integer').positive('must be positive').max(1_000_000_000, 'must be at most 1000000000').optional(),
    redirectType: RedirectTypeSchema.default(302),
    tags: z.array(TagSchema).max(10, 'must have at most 10 tags').default([]),
  })
  .strict()
  .meta({ id: 'CreateLinkRequest' });

export const LinkSchema = z
  .object({
    code: z.string(),
    shortUrl: z.string(),
    url: z.string(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    maxClicks: z.number().int().nullable(),
    /** Redirects counted against `maxClicks`; null when the link has none (see its stats). */
    clicksUsed: z.number().int().nullable(),
    redirectType: z.union([z.literal(301), z.literal(302), z.literal(307)]),
    tags: z.array(z.string()),
    disabled: z.boolean(),
  })
  .meta({ id: 'Link' });
export type Link = z.infer<typeof LinkSchema>;

export const UpdateLinkRequestSchema = z
  .object({
    disabled: z.boolean().optional(),
    expiresAt: FutureInstant.nullable().optional().meta({ description: 'A new expiry, or null to remove it.' }),
    maxClicks: z.number().int('must be an integer').positive('must be positive').max(1_000_000_000, 'must be at most 1000000000').nullable().optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, 'must change at least one of disabled, expiresAt, maxClicks')
  .meta({ id: 'UpdateLinkRequest' });

const CodeParamsSchema = z.object({ code: CodeSchema });

export const ListLinksQuerySchema = z
  .object({
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(25),
    cursor: z.string().max(1024, 'must be at most 1024 characters').optional(),
  })
  .strict();

export const LinkPageSchema = z
  .object({
    items: z.array(LinkSchema),
    nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last.' }),
  })
  .meta({ id: 'LinkPage' });

const counts = { clicks: z.number().int(), bots: z.number().int() };
const CountSchema = z.object(counts);

export const LinkStatsSchema = z
  .object({
    code: z.string(),
    total: CountSchema,
    byDay: z.array(z.object({ day: z.string(), ...counts })),
    byReferrer: z.array(z.object({ referrer: z.string(), ...counts })),
    byCountry: z.array(z.object({ country: z.string(), ...counts })),
    byAgent: z.array(z.object({ agent: z.string(), ...counts })),
  })
  .meta({
    id: 'LinkStats',
    description: 'Human clicks and bot clicks apart, in total and per UTC day, referrer host, viewer country and agent class. Eventually consistent: clicks arrive within seconds.',
  });

const IDEMPOTENCY_HEADER = {
  'Idempotent-Replayed': '`true` when this is the stored answer to an earlier request with the same Idempotency-Key',
};

export const createLinkRoute = defineRoute({
  operationId: 'createLink',
  method: 'POST',
  path: '/v1/links',
  summary: 'Create a short link',
  description: 'Send `Idempotency-Key` (1 to 255 printable characters) to make retries safe: the same key and body within 24 h return the first answer; the same key with another body is 422.',
  tags: ['shortener'],
  auth: { scopes: ['links:write'] },
  request: { body: CreateLinkRequestSchema, maxBodyBytes: 8192 },
  responses: {
    201: { description: 'Created', body: LinkSchema, headers: { Location: 'The link resource', ...IDEMPOTENCY_HEADER } },
    409: { description: 'The alias is taken' },
    422: { description: 'The Idempotency-Key was used with another body' },
  },
});

export const listLinksRoute = defineRoute({
  operationId: 'listLinks',
  method: 'GET',
  path: '/v1/links',
  summary: "Your tenant's links, newest first",
  tags: ['shortener'],
  auth: { scopes: ['links:read'] },
  request: { query: ListLinksQuerySchema },
  responses: { 200: { description: 'A page of links', body: LinkPageSchema } },
});

export const getLinkRoute = defineRoute({
  operationId: 'getLink',
  method: 'GET',
  path: '/v1/links/{code}',
  summary: 'One link',
  tags: ['shortener'],
  auth: { scopes: ['links:read'] },
  request: { params: CodeParamsSchema },
  responses: { 200: { description: 'The link', body: LinkSchema } },
});

export const updateLinkRoute = defineRoute({
  operationId: 'updateLink',
  method: 'PATCH',
  path: '/v1/links/{code}',
  summary: 'Disable or enable a link, change its expiry or click limit',
  description: 'Other function instances may serve the old version of the link for up to the redirect cache TTL (10 s by default).',
  tags: ['shortener'],
  auth: { scopes: ['links:write'] },
  request: { params: CodeParamsSchema, body: UpdateLinkRequestSchema, maxBodyBytes: 4096 },
  responses: { 200: { description: 'The link as it is now', body: LinkSchema } },
});

export const deleteLinkRoute = defineRoute({
  operationId: 'deleteLink',
  method: 'DELETE',
  path: '/v1/links/{code}',
  summary: 'Delete a link and its statistics',
  description: 'The code then answers 404 (after at most the redirect cache TTL) and is never given out again.',
  tags: ['shortener'],
  auth: { scopes: ['links:write'] },
  request: { params: CodeParamsSchema },
  responses: { 204: { description: 'Deleted' } },
});

export const getLinkStatsRoute = defineRoute({
  operationId: 'getLinkStats',
  method: 'GET',
  path: '/v1/links/{code}/stats',
  summary: "A link's clicks",
  tags: ['shortener'],
  auth: { scopes: ['links:read'] },
  request: { params: CodeParamsSchema },
  responses: { 200: { description: 'Click counts', body: LinkStatsSchema } },
});

export const redirectRoute = defineRoute({
  operationId: 'followLink',
  method: 'GET',
  path: '/{code}',
  summary: 'Follow a short link',
  description: 'Public. 302 (or the link\'s redirect type) to the target; 404 for an unknown code; 410 for a link expired, disabled or past its click limit. Rate-limited per client IP.',
  tags: ['shortener'],
  auth: { public: true },
  request: { params: CodeParamsSchema },
  responses: {
    301: { description: 'Permanent redirect (cached by browsers)', headers: { Location: 'The target URL' } },
    302: { description: 'Redirect', headers: { Location: 'The target URL' } },
    307: { description: 'Temporary redirect keeping the method', headers: { Location: 'The target URL' } },
    404: { description: 'No such link' },
    410: { description: 'Expired, disabled or past its click limit' },
  },
});

export const shortenerRoutes = [createLinkRoute, listLinksRoute, getLinkRoute, updateLinkRoute, deleteLinkRoute, getLinkStatsRoute, redirectRoute] as const;
