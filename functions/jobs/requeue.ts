import type { Logger } from '@aws-lambda-powertools/logger';
import { enqueue } from './lanes';
import { readJob, transition, type JobItem } from './store';

/**
 * Sends a dead job back to its lane as a new run: attempts start again at 0, and the new run's
 * messages are the only ones its worker accepts (a stale message of the dead run is dropped).
 * Should the send fail, the job is put back exactly as it was (dead, its old run), so that its
 * dead-letter message still finds it for a redrive.
 * @param run when given, only a job dead in this run is requeued (a redrive's dead-letter message)
 * @returns the job as queued, or the job as it was when it is not dead (undefined when absent)
 */
export async function requeueDeadJob(tenantId: string, jobId: string, logger: Logger, run?: number): Promise<{ queued?: JobItem; before?: JobItem }> {
  const dead = await readJob(tenantId, jobId);
  if (!dead) return {};
  if (dead.status !== 'dead' || (run !== undefined && dead.run !== run)) return { before: dead };
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
    logger.error('requeued job could not be sent; put back as it was', { jobId, error: error as Error });
    await transition(tenantId, jobId, {
      from: ['queued'],
      to: 'dead',
      run: after.run,
      add: { run: -1 },
      set: { attempts: dead.attempts, finishedAt: dead.finishedAt, progress: dead.progress, runAt: dead.runAt },
    });
    throw error;
  }
  return { queued: after };
}
