import { randomBytes } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DEFAULT_TIMEOUT_SECONDS, submitJobRoute } from '#shared/contracts/jobs';
import { ValidationError } from '#shared/errors';
import { httpHandler } from '#shared/http/handler';
import { idempotentPost } from '#shared/http/idempotency';
import { apiUrlOf } from '#shared/http/urls';
import { toViolations } from '#shared/http/validation';
import { logger, metrics } from '#shared/powertools';
import { enqueue, MAX_TIMER_SECONDS, startTimer } from './lanes';
import { jobTypes } from './registry';
import { jobSettings } from './settings';
import { deleteJob, indexKeys, insertJob, jobKey, type JobItem } from './store';

const idempotency = idempotentPost('jobs.submitJob');

/** A job due within this much of now runs now: it is queued, not scheduled. */
const NOW_SLACK_MS = 1_000;

/**
 * POST /v1/jobs: checks the type and its payload, stores the job, then queues it on its lane, or
 * holds it until `runAt`: on the timer queue when that is within 15 minutes, else in the table's
 * `due` index, which the sweeper moves to the timer queue when its time comes near.
 */
export const handler = httpHandler(submitJobRoute, async (request) =>
  idempotency.run(request, request.principal.tenantId, async () => {
    const { body, principal, correlationId, event, headers } = request;
    const type = jobTypes().get(body.type);
    if (!type) throw new ValidationError([{ field: 'body.type', rule: `must be one of ${[...jobTypes().keys()].sort().join(', ')}` }]);
    const payload = type.payload.safeParse(body.payload);
    if (!payload.success) throw new ValidationError(toViolations(payload.error, 'body').map((v) => ({ ...v, field: v.field.replace(/^body/, 'body.payload') })));
    const refused = type.admit?.(payload.data) ?? [];
    if (refused.length) throw new ValidationError(refused.map((v) => ({ field: `body.payload.${v.field}`, rule: v.rule })));
    const { maxTimeoutSeconds } = jobSettings();
    if (body.timeoutSeconds !== undefined && body.timeoutSeconds > maxTimeoutSeconds) {
      throw new ValidationError([{ field: 'body.timeoutSeconds', rule: `must be at most ${maxTimeoutSeconds}` }]);
    }

    const now = Date.now();
    const createdAt = new Date(now).toISOString();
    const due = body.runAt !== undefined ? Date.parse(body.runAt) : now + (body.delaySeconds ?? 0) * 1000;
    const scheduled = due > now + NOW_SLACK_MS;
    const runAt = new Date(Math.max(due, now)).toISOString();
    const jobId = randomBytes(16).toString('hex');
    const status = scheduled ? 'scheduled' : 'queued';
    const job: JobItem = {
      ...jobKey(principal.tenantId, jobId),
      tenantId: principal.tenantId,
      jobId,
      type: type.name,
      payload: body.payload,
      status,
      priority: body.priority,
      groupKey: body.groupKey ?? null,
      runAt,
      run: 1,
      attempts: 0,
      maxAttempts: body.maxAttempts,
      backoff: body.backoff,
      timeoutSeconds: body.timeoutSeconds ?? Math.min(DEFAULT_TIMEOUT_SECONDS, maxTimeoutSeconds),
      progress: 0,
      createdAt,
      createdBy: principal.userId,
      startedAt: null,
      finishedAt: null,
      nextAttemptAt: null,
      lastError: null,
      result: null,
      resultKey: null,
      correlationId,
      // Jobs far ahead wait in the `due` index; nearer ones go on the timer queue now.
      ...indexKeys(principal.tenantId, jobId, createdAt, status, runAt, scheduled && due - now > MAX_TIMER_SECONDS * 1000),
    };
    if (!(await insertJob(job))) throw new Error(`job id ${jobId} taken`);
    try {
      if (!scheduled) await enqueue(job);
      else if (due - now <= MAX_TIMER_SECONDS * 1000) await startTimer(job, (due - now) / 1000);
    } catch (error) {
      // Nothing may stay stored that no queue holds: the client sees a 5xx and may retry.
      logger.error('job could not be queued; removed', { jobId, error: error as Error });
      await deleteJob(principal.tenantId, jobId);
      throw error;
    }
    metrics.addMetric('JobsSubmitted', MetricUnit.Count, 1);
    return { status: 202, body: { jobId, status }, headers: { location: `${apiUrlOf(event, headers)}/v1/jobs/${jobId}` } };
  }),
);
