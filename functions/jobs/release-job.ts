import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { sqsConsumer } from '#shared/consumer/sqs';
import { metrics } from '#shared/powertools';
import { enqueue, JobMessageSchema, startTimer, type JobMessage } from './lanes';
import { readJob, transition } from './store';

/** A timer arriving this close to `runAt` releases the job: SQS delays are whole seconds, and clocks differ a little. */
const EARLY_SLACK_MS = 1_000;

/** What a timer message did. */
export type ReleaseOutcome = 'released' | 'rearmed' | 'skipped';

/**
 * One timer message: moves a scheduled job to its lane once `runAt` has come.
 *
 * - A job gone, no longer `scheduled` (cancelled, or released by an earlier copy of this
 *   message), or of another run is left alone: the message is stale.
 * - A job still more than a second ahead gets a new timer for the rest and stays scheduled: the
 *   sweeper starts timers up to 14 minutes early, and SQS caps a delay at 15 minutes.
 * - Otherwise the job is sent to its lane first, and only then marked `queued` (its `due` index
 *   keys dropped in the same write, in case a sweep died before removing them). The order makes a
 *   crash between the two writes harmless: the worker claims a job still `scheduled`, and the
 *   timer message comes back, whose second send the FIFO lane drops (deduplicated by job and run
 *   for 5 minutes). A failed `queued` write is ignored: the job was cancelled meanwhile, and the
 *   worker drops the lane message of a cancelled job; or the worker already claimed it.
 */
export async function releaseJob(message: JobMessage, logger: Logger): Promise<ReleaseOutcome> {
  const job = await readJob(message.tenantId, message.jobId);
  if (!job || job.status !== 'scheduled' || job.run !== message.run) {
    logger.info('timer of a job no longer waiting; dropped', { jobId: message.jobId, run: message.run, status: job?.status ?? 'absent', jobRun: job?.run });
    return 'skipped';
  }
  const aheadMs = Date.parse(job.runAt) - Date.now();
  if (aheadMs > EARLY_SLACK_MS) {
    await startTimer(job, aheadMs / 1000);
    logger.info('job not due yet; timer started again', { jobId: job.jobId, runAt: job.runAt });
    return 'rearmed';
  }
  await enqueue(job);
  const { after, before } = await transition(job.tenantId, job.jobId, { from: ['scheduled'], to: 'queued', run: job.run, remove: ['duePk', 'dueSk'] });
  if (!after) logger.info('job changed while it was released; left as it is', { jobId: job.jobId, status: before?.status ?? 'absent' });
  // How late the timer released the job: the precision of scheduling, worth an alarm when it grows.
  metrics.addMetric('JobReleaseLag', MetricUnit.Milliseconds, Math.max(0, -aheadMs));
  return 'released';
}

/**
 * The timer queue's consumer. Its idempotency key is the message id, not the job and run: a job
 * far ahead gets several timers of one run in turn (each at most 15 minutes), and keying on the
 * run would take the second for a duplicate and leave the job scheduled for good. Two sends of
 * one timer (a sweep that died between its writes) are harmless: the second finds the job queued.
 */
export const handler = sqsConsumer({
  name: 'jobs.release',
  schema: JobMessageSchema,
  dedupKey: (_message, metadata) => metadata.messageId,
  process: async (message, { logger }) => {
    await releaseJob(message, logger);
  },
});
