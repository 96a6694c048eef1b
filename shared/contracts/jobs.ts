import { z } from 'zod';
import { defineRoute } from './route';

/**
 * The job queue: tenants submit jobs of registered types, workers run them from priority lanes
 * with retries, backoff and a dead-letter queue. See lib/jobs/README.md.
 */

/** Largest payload, in UTF-8 bytes of its JSON. */
export const MAX_PAYLOAD_BYTES = 200 * 1024;
/** Farthest a job may be scheduled ahead. */
export const MAX_DELAY_SECONDS = 365 * 24 * 60 * 60;
/** The longest attempt any stage allows (a worker runs at most 15 minutes); each stage sets its own, lower. */
export const MAX_TIMEOUT_SECONDS = 840;
/** An attempt's timeout when the job names none (or the stage's longest, if shorter). */
export const DEFAULT_TIMEOUT_SECONDS = 30;

export const PrioritySchema = z.enum(['high', 'normal', 'low'], { error: 'must be high, normal or low' });
export type Priority = z.infer<typeof PrioritySchema>;

export const JobStatusSchema = z.enum(['scheduled', 'queued', 'running', 'retrying', 'succeeded', 'dead', 'cancelled'], {
  error: 'must be scheduled, queued, running, retrying, succeeded, dead or cancelled',
});
export type JobStatus = z.infer<typeof JobStatusSchema>;

const JobTypeName = z.string().regex(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)+$/, 'must be a registered type such as webhook.deliver');
const GroupKey = z.string().regex(/^[A-Za-z0-9_.:#-]{1,128}$/, 'must be 1 to 128 of A-Z, a-z, 0-9, _ . : # -');

const utf8Bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/** DynamoDB nests attributes 32 levels deep; the job record's `payload` is the first of them. */
const MAX_PAYLOAD_DEPTH = 31;

/**
 * Where a payload holds what the job record cannot keep as it was sent, and why: a JSON number
 * becomes a double, so one beyond ±(2^53 − 1) has already lost digits (the SDK refuses it, and
 * `1e400` is Infinity); and maps and lists nest at most 32 levels in DynamoDB.
 */
function unstorable(value: unknown, path: (string | number)[], depth: number): { path: (string | number)[]; message: string } | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER
      ? undefined
      : { path, message: `must be a number within ±${Number.MAX_SAFE_INTEGER} (larger ones lose digits; send them as strings)` };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > MAX_PAYLOAD_DEPTH) return { path, message: `nests deeper than ${MAX_PAYLOAD_DEPTH} levels` };
  for (const [key, child] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
    const problem = unstorable(child, [...path, key], depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

export const SubmitJobRequestSchema = z
  .object({
    type: JobTypeName.meta({ description: 'A registered job type: `webhook.deliver`, `report.export` (and `test.*` outside production).' }),
    payload: z
      .record(z.string(), z.unknown())
      .default({})
      .refine((payload) => utf8Bytes(payload) <= MAX_PAYLOAD_BYTES, `must be at most ${MAX_PAYLOAD_BYTES} bytes of JSON`)
      .superRefine((payload, ctx) => {
        const problem = unstorable(payload, [], 1);
        if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
      })
      .meta({ description: "The job's input, checked against its type's schema." }),
    priority: PrioritySchema.default('normal'),
    runAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' }).optional(),
    delaySeconds: z.number().int('must be an integer').min(0, 'must not be negative').max(MAX_DELAY_SECONDS, 'must be at most one year').optional(),
    groupKey: GroupKey.optional().meta({ description: 'Jobs sharing it run one at a time, in submission order.' }),
    maxAttempts: z.number().int('must be an integer').min(1, 'must be at least 1').max(20, 'must be at most 20').default(5),
    backoff: z
      .object({
        kind: z.enum(['exponential', 'fixed'], { error: 'must be exponential or fixed' }),
        baseSeconds: z.number().int('must be an integer').min(1, 'must be at least 1').max(3600, 'must be at most 3600'),
      })
      .strict()
      .default({ kind: 'exponential', baseSeconds: 2 }),
    timeoutSeconds: z
      .number()
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(MAX_TIMEOUT_SECONDS, `must be at most ${MAX_TIMEOUT_SECONDS}`)
      .optional()
      .meta({ description: `Seconds one attempt may run: at most the stage's limit (\`jobs.maxTimeoutSeconds\`); default ${DEFAULT_TIMEOUT_SECONDS}, or that limit if lower.` }),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.runAt !== undefined && body.delaySeconds !== undefined) ctx.addIssue({ code: 'custom', path: ['delaySeconds'], message: 'give runAt or delaySeconds, not both' });
    if (body.runAt !== undefined) {
      const ahead = (Date.parse(body.runAt) - Date.now()) / 1000;
      if (ahead > MAX_DELAY_SECONDS) ctx.addIssue({ code: 'custom', path: ['runAt'], message: 'must be at most one year ahead' });
    }
  })
  .meta({ id: 'SubmitJobRequest' });
export type SubmitJobRequest = z.output<typeof SubmitJobRequestSchema>;

export const JobSchema = z
  .object({
    jobId: z.string(),
    type: z.string(),
    status: JobStatusSchema,
    priority: PrioritySchema,
    groupKey: z.string().nullable(),
    runAt: z.string().meta({ description: 'When the job may start (its submission time unless delayed).' }),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    backoff: z.object({ kind: z.enum(['exponential', 'fixed']), baseSeconds: z.number().int() }),
    timeoutSeconds: z.number().int(),
    progress: z.number().int().min(0).max(100),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable().meta({ description: 'When a retrying job runs again.' }),
    lastError: z.object({ message: z.string(), at: z.string(), attempt: z.number().int() }).nullable(),
    result: z.unknown().nullable().meta({ description: 'What the job returned, when it is small; see resultUrl otherwise.' }),
    resultUrl: z.string().nullable().meta({ description: 'A presigned download of a large result (valid one hour from this response).' }),
  })
  .meta({ id: 'Job' });
export type Job = z.infer<typeof JobSchema>;

export const SubmittedJobSchema = z.object({ jobId: z.string(), status: JobStatusSchema }).meta({ id: 'SubmittedJob' });

const JobIdParams = z.object({ jobId: z.string().regex(/^[0-9a-f]{32}$/, 'must be a job id') });

export const ListJobsQuerySchema = z
  .object({
    status: JobStatusSchema.optional(),
    type: JobTypeName.optional(),
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(25),
    cursor: z.string().max(1024, 'must be at most 1024 characters').optional(),
  })
  .strict();

export const JobPageSchema = z
  .object({
    items: z.array(JobSchema),
    nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last.' }),
  })
  .meta({ id: 'JobPage' });

export const RedriveRequestSchema = z
  .object({
    priority: PrioritySchema.optional().meta({ description: 'One lane; every lane when left out.' }),
    max: z.number().int('must be an integer').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(100),
  })
  .strict()
  .meta({ id: 'RedriveRequest' });

export const RedriveResultSchema = z
  .object({ redriven: z.number().int(), skipped: z.number().int().meta({ description: 'Dead-letter messages of jobs no longer dead (cancelled, or retried since): deleted.' }) })
  .meta({ id: 'RedriveResult' });

const IDEMPOTENCY_HEADER = {
  'Idempotent-Replayed': '`true` when this is the stored answer to an earlier request with the same Idempotency-Key',
};

export const submitJobRoute = defineRoute({
  operationId: 'submitJob',
  method: 'POST',
  path: '/v1/jobs',
  summary: 'Submit a job',
  description:
    'Queued at once, or held until `runAt` / `delaySeconds` (up to a year). Send `Idempotency-Key` to make retries safe: the same key and body within 24 h return the first answer (one job); the same key with another body is 422.',
  tags: ['jobs'],
  auth: { scopes: ['jobs:write'] },
  request: { body: SubmitJobRequestSchema, maxBodyBytes: MAX_PAYLOAD_BYTES + 16 * 1024 },
  // Backends submit in bursts: a tenant-wide bucket instead of the per-user and per-IP defaults.
  rateLimit: { policies: ['jobs-submit', 'tenant-daily'], defaults: false },
  responses: {
    202: { description: 'Accepted', body: SubmittedJobSchema, headers: { Location: 'The job resource', ...IDEMPOTENCY_HEADER } },
    422: { description: 'The Idempotency-Key was used with another body' },
  },
});

export const getJobRoute = defineRoute({
  operationId: 'getJob',
  method: 'GET',
  path: '/v1/jobs/{jobId}',
  summary: 'One job: status, attempts, progress, result',
  tags: ['jobs'],
  auth: { scopes: ['jobs:read'] },
  request: { params: JobIdParams },
  // Clients poll job status: a roomier per-user bucket instead of the defaults.
  rateLimit: { policies: ['jobs-read', 'tenant-daily'], defaults: false },
  responses: { 200: { description: 'The job', body: JobSchema } },
});

export const listJobsRoute = defineRoute({
  operationId: 'listJobs',
  method: 'GET',
  path: '/v1/jobs',
  summary: "Your tenant's jobs, newest first, by status and type",
  tags: ['jobs'],
  auth: { scopes: ['jobs:read'] },
  request: { query: ListJobsQuerySchema },
  rateLimit: { policies: ['jobs-read', 'tenant-daily'], defaults: false },
  responses: { 200: { description: 'A page of jobs', body: JobPageSchema } },
});

export const cancelJobRoute = defineRoute({
  operationId: 'cancelJob',
  method: 'DELETE',
  path: '/v1/jobs/{jobId}',
  summary: 'Cancel a scheduled, queued or retrying job',
  description: 'A running job finishes its attempt and is not retried. 409 for a job that already ended.',
  tags: ['jobs'],
  auth: { scopes: ['jobs:write'] },
  request: { params: JobIdParams },
  responses: { 200: { description: 'The job, cancelled', body: JobSchema }, 409: { description: 'The job already ended' } },
});

export const retryJobRoute = defineRoute({
  operationId: 'retryJob',
  method: 'POST',
  path: '/v1/jobs/{jobId}/retry',
  summary: 'Send a dead job back to its lane, with its attempts counted afresh',
  tags: ['jobs'],
  auth: { scopes: ['jobs:write'] },
  request: { params: JobIdParams },
  responses: { 202: { description: 'Queued again', body: SubmittedJobSchema }, 409: { description: 'The job is not dead' } },
});

export const redriveJobsRoute = defineRoute({
  operationId: 'redriveDeadJobs',
  method: 'POST',
  path: '/v1/jobs/dlq/redrive',
  summary: "Move the tenant's dead jobs from the dead-letter queues back to their lanes",
  tags: ['jobs'],
  auth: { scopes: ['jobs:admin'] },
  request: { body: RedriveRequestSchema, maxBodyBytes: 1024 },
  responses: { 200: { description: 'What was moved', body: RedriveResultSchema } },
});

export const jobRoutes = [submitJobRoute, listJobsRoute, getJobRoute, cancelJobRoute, retryJobRoute, redriveJobsRoute] as const;
