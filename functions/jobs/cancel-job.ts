import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { cancelJobRoute } from '#shared/contracts/jobs';
import { ConflictError, NotFoundError } from '#shared/errors';
import { publishEvent } from '#shared/events';
import { httpHandler } from '#shared/http/handler';
import { metrics } from '#shared/powertools';
import { toJob, transition } from './store';

/**
 * DELETE /v1/jobs/{jobId}: cancels a job that has not ended. Its message, wherever it is (lane,
 * timer queue, `due` index), finds it cancelled and is dropped; a running attempt finishes, and
 * its outcome is neither stored nor retried.
 */
export const handler = httpHandler(cancelJobRoute, async ({ params, principal, correlationId }) => {
  const { after, before } = await transition(principal.tenantId, params.jobId, {
    from: ['scheduled', 'queued', 'retrying', 'running'],
    to: 'cancelled',
    set: { finishedAt: new Date().toISOString(), nextAttemptAt: null },
    remove: ['duePk', 'dueSk', 'leaseUntil'],
  });
  if (!after) {
    if (!before) throw new NotFoundError(`no job ${params.jobId}`);
    throw new ConflictError(`job ${params.jobId} is already ${before.status}`);
  }
  await publishEvent({
    source: 'switchyard.jobs',
    detailType: 'JobCancelled',
    tenantId: after.tenantId,
    correlationId,
    eventId: `${after.jobId}-${after.run}-JobCancelled`,
    data: { jobId: after.jobId, type: after.type, run: after.run, attempts: after.attempts },
  });
  metrics.addMetric('JobsCancelled', MetricUnit.Count, 1);
  return { status: 200, body: toJob(after) };
});
