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
 * its outcome is neither stored nor retried. Cancelling a cancelled job answers it again, and says
 * `JobCancelled` again under the same event id: a client whose first call failed after the
 * write (the event unsaid) repeats the call, and consumers drop the repeat by its id.
 */
export const handler = httpHandler(cancelJobRoute, async ({ params, principal, correlationId }) => {
  const { after, before } = await transition(principal.tenantId, params.jobId, {
    from: ['scheduled', 'queued', 'retrying', 'running'],
    to: 'cancelled',
    set: { finishedAt: new Date().toISOString(), nextAttemptAt: null },
    remove: ['duePk', 'dueSk', 'leaseUntil'],
  });
  if (!after && !before) throw new NotFoundError(`no job ${params.jobId}`);
  const cancelled = after ?? before!;
  if (cancelled.status !== 'cancelled') throw new ConflictError(`job ${params.jobId} is already ${cancelled.status}`);
  await publishEvent({
    source: 'switchyard.jobs',
    detailType: 'JobCancelled',
    tenantId: cancelled.tenantId,
    correlationId,
    eventId: `${cancelled.jobId}-${cancelled.run}-JobCancelled`,
    data: { jobId: cancelled.jobId, type: cancelled.type, run: cancelled.run, attempts: cancelled.attempts },
  });
  if (after) metrics.addMetric('JobsCancelled', MetricUnit.Count, 1);
  return { status: 200, body: toJob(cancelled) };
});
