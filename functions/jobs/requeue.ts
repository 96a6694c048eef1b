import type { Logger } from '@aws-lambda-powertools/logger';
import { enqueue } from './lanes';
import { transition, type JobItem } from './store';

/**
 * Sends a dead job back to its lane as a new run: attempts start again at 0, and the new run's
 * messages are the only ones its worker accepts (a stale message of an earlier run is dropped).
 * Should the send fail, the job is dead again, as it was but for its run, which moves on once
 * more: had the send reached SQS after all, its message is of a run the job never had (so the
 * worker drops it, and does not take the job's death for that run's), and the next requeue's
 * send, of yet another run, is not mistaken for it as a duplicate.
 * @param dead the job as read; nothing happens unless it is dead (and still is at the write)
 * @returns the job as queued, or the job as it was when it was not dead (undefined when absent)
 */
export async function requeueDeadJob(dead: JobItem, logger: Logger): Promise<{ queued?: JobItem; before?: JobItem }> {
  if (dead.status !== 'dead') return { before: dead };
  const { tenantId, jobId } = dead;
  const { after, before } = await transition(tenantId, jobId, {
    from: ['dead'],
    to: 'queued',
    run: dead.run,
    add: { run: 1 },
    set: { attempts: 0, finishedAt: null, nextAttemptAt: null, progress: 0, runAt: new Date().toISOString() },
  });
  if (!after) return before ? { before } : {};
  try {
    await enqueue(after);
  } catch (error) {
    logger.error('requeued job could not be sent; dead again, under a run of its own', { jobId, error: error as Error });
    await transition(tenantId, jobId, {
      from: ['queued'],
      to: 'dead',
      run: after.run,
      add: { run: 1 },
      set: { attempts: dead.attempts, finishedAt: dead.finishedAt, progress: dead.progress, runAt: dead.runAt },
    });
    throw error;
  }
  return { queued: after };
}
