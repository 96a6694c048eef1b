import { z } from 'zod';
import { defineRoute } from './route';

/**
 * The rate limiter as a service, for other backends: take tokens from a bucket named by the
 * caller's own key (scoped to its tenant), read a bucket, reset one. A bucket is a policy from
 * stage configuration (subject `key`) or one the caller describes inline.
 */

/** Largest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 256;

export const LimitKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .refine((key) => Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES, `must be at most ${MAX_KEY_BYTES} bytes in UTF-8`)
  // C0 and C1 control characters: they break logs and keys, and no honest key holds one.
  .refine((key) => !/[\u0000-\u001f\u007f-\u009f]/.test(key), 'must not contain control characters')
  .meta({ description: `Your key for the bucket: any text up to ${MAX_KEY_BYTES} bytes without control characters, scoped to your tenant.`, example: 'login:alice@example.com' });

/** A bucket described in the request; the same numbers always address the same bucket. */
export const InlineBucketSchema = z
  .object({
    capacity: z.number().int('must be an integer').positive('must be positive').max(1_000_000_000, 'must be at most 1000000000'),
    refillPerSecond: z.number().nonnegative('must not be negative').max(1_000_000, 'must be at most 1000000'),
    periodSeconds: z.number().int('must be an integer').positive('must be positive').max(31_622_400, 'must be at most a year').optional(),
  })
  .strict()
  .refine((b) => b.periodSeconds === undefined || b.refillPerSecond === 0, { path: ['periodSeconds'], message: 'only applies to a quota (refillPerSecond 0)' })
  .meta({
    id: 'InlineBucket',
    description: 'A token bucket: `capacity` tokens, refilled at `refillPerSecond`; with `refillPerSecond: 0`, a quota that starts again every `periodSeconds` (never, if left out).',
  });
export type InlineBucket = z.infer<typeof InlineBucketSchema>;

const PolicyNameSchema = z.string().min(1, 'must not be empty').max(32, 'must be at most 32 characters');

export const CheckLimitRequestSchema = z
  .object({
    key: LimitKeySchema,
    policy: z.union([PolicyNameSchema, InlineBucketSchema], { error: 'must be a policy name or an object { capacity, refillPerSecond, periodSeconds? }' }),
    cost: z.number().int('must be an integer').positive('must be positive').default(1),
  })
  .strict()
  .meta({ id: 'CheckLimitRequest' });

export const LimitDecisionSchema = z
  .object({
    key: z.string(),
    policy: z.string().meta({ description: 'The policy name, or `custom` for an inline bucket.' }),
    allowed: z.boolean(),
    remaining: z.number().int().nonnegative(),
    limit: z.number().int().positive(),
    resetAt: z.number().int().nullable().meta({ description: 'When the bucket is full again, epoch seconds; null for a quota that never resets.' }),
    retryAfterSeconds: z.number().int().nonnegative().nullable().meta({ description: '0 when allowed; null when a spent quota never resets.' }),
  })
  .meta({ id: 'LimitDecision' });

export const LimitStateSchema = z
  .object({
    key: z.string(),
    policy: z.string(),
    remaining: z.number().int().nonnegative(),
    limit: z.number().int().positive(),
    resetAt: z.number().int().nullable(),
  })
  .meta({ id: 'LimitState' });

const KeyParamsSchema = z.object({ key: LimitKeySchema });

/** Names the bucket of a GET or DELETE: `?policy=name`, or the inline bucket's numbers. */
export const BucketQuerySchema = z
  .object({
    policy: PolicyNameSchema.optional(),
    capacity: z.coerce.number().optional(),
    refillPerSecond: z.coerce.number().optional(),
    periodSeconds: z.coerce.number().optional(),
  })
  .strict()
  .refine((q) => (q.policy === undefined) !== (q.capacity === undefined && q.refillPerSecond === undefined && q.periodSeconds === undefined), {
    path: ['policy'],
    message: 'give either policy, or capacity and refillPerSecond (and periodSeconds for a periodic quota)',
  });

const RATE_LIMIT_HEADERS = {
  RateLimit: 'What is left of the checked bucket (IETF httpapi draft): `"<policy>";r=<remaining>;t=<seconds>`',
  'RateLimit-Policy': 'The checked bucket: `"<policy>";q=<quota>;w=<window seconds>`',
  'X-RateLimit-Limit': 'The bucket capacity',
  'X-RateLimit-Remaining': 'Tokens left',
  'X-RateLimit-Reset': 'When the bucket is full again, epoch seconds',
};

export const checkLimitRoute = defineRoute({
  operationId: 'checkLimit',
  method: 'POST',
  path: '/v1/limits/check',
  summary: 'Take tokens from a bucket, atomically across every caller',
  description:
    'One conditional write decides. 200 when admitted, 429 (problem+json carrying the same decision, with `Retry-After`) when refused. Metered per API key by the usage plan.',
  tags: ['rate-limiter'],
  auth: { scopes: ['ratelimit:check'] },
  apiKey: true,
  request: { body: CheckLimitRequestSchema, maxBodyBytes: 4096 },
  rateLimit: { policies: ['api-key', 'tenant-daily'], defaults: false },
  responses: {
    200: { description: 'Admitted', body: LimitDecisionSchema, headers: RATE_LIMIT_HEADERS },
    429: { description: 'Refused: the problem carries the decision and `violatedPolicies`', headers: { ...RATE_LIMIT_HEADERS, 'Retry-After': 'Seconds until the same request would be admitted' } },
  },
});

export const getLimitRoute = defineRoute({
  operationId: 'getLimit',
  method: 'GET',
  path: '/v1/limits/{key}',
  summary: 'What a bucket holds now, without taking anything',
  description: 'Name the bucket as it was checked: `?policy=<name>`, or `?capacity=&refillPerSecond=` (and `periodSeconds`) for an inline one. The key is percent-encoded in the path.',
  tags: ['rate-limiter'],
  auth: { scopes: ['ratelimit:check'] },
  apiKey: true,
  request: { params: KeyParamsSchema, query: BucketQuerySchema },
  rateLimit: { policies: ['api-key', 'tenant-daily'], defaults: false },
  responses: {
    200: { description: 'The bucket now (a bucket never used is full)', body: LimitStateSchema },
  },
});

export const resetLimitRoute = defineRoute({
  operationId: 'resetLimit',
  method: 'DELETE',
  path: '/v1/limits/{key}',
  summary: 'Reset a bucket: the next request finds it full',
  description: 'Instances that remember the key as refused ask DynamoDB again within 60 s.',
  tags: ['rate-limiter'],
  auth: { scopes: ['ratelimit:admin'] },
  apiKey: true,
  request: { params: KeyParamsSchema, query: BucketQuerySchema },
  // A sensitive route: a tight per-user policy that fails closed comes first.
  rateLimit: { policies: ['admin', 'api-key'], defaults: false },
  responses: {
    204: { description: 'Reset (also when the bucket held nothing)' },
  },
});

export const rateLimiterRoutes = [checkLimitRoute, getLimitRoute, resetLimitRoute] as const;
