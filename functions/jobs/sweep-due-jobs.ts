import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, UpdateCommand, type DynamoDBDocumentClient, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { documentClient } from '#shared/clients/dynamodb';
import { consumerHandler } from '#shared/consumer/runner';
import { logger, metrics } from '#shared/powertools';
import { startTimer } from './lanes';
import { DUE_SHARDS, jobsTable, type JobItem } from './store';

/**
 * How far ahead a sweep looks: jobs due within it go on the timer queue. One minute short of
 * SQS's 15-minute delay cap, so a job is swept (by the every-minute rule) before it is due even
 * when a sweep runs late.
 */
export const SWEEP_HORIZON_MS = 14 * 60 * 1000;
/** Most jobs one sweep moves; the rest wait for the next minute, earliest first. */
export const MAX_JOBS_PER_SWEEP = 500;
/** A sweep stops taking jobs when the invocation has this little time left. */
export const TIME_RESERVE_MS = 20_000;
/** Jobs moved at once: each is a timer send and a write. */
const CONCURRENCY = 10;

/** What bounds one sweep. */
export interface SweepLimits {
  /** Most jobs to take, shared evenly by the shards so that none starves. */
  readonly maxJobs: number;
  /** Whether there is time for another page. */
  readonly hasTime: () => boolean;
}

/** What one sweep did. */
export interface SweepOutcome {
  /** Jobs put on the timer queue (and taken out of the `due` index, unless they changed meanwhile). */
  readonly moved: number;
  /** Index entries of jobs no longer scheduled (the index lags the table): removed, no timer. */
  readonly stale: number;
  /** Jobs that could not be moved; they stay in the index for the next sweep. */
  readonly failed: number;
  /** False when the sweep stopped at its limits with due jobs possibly left. */
  readonly complete: boolean;
}

/**
 * Moves jobs due within `SWEEP_HORIZON_MS` from the table's `due` index to the timer queue, each
 * with the delay left until its `runAt`, shard by shard, earliest first.
 *
 * For each job the timer starts first, and only then are its index keys removed (on condition
 * that it is still this run, scheduled, and this entry), so a crash between the two leaves the
 * job in the index and the next sweep sends a second timer. That is harmless: the release is
 * idempotent, since whichever timer comes second finds the job no longer `scheduled`.
 */
export async function sweepDueJobs(limits: SweepLimits, client: DynamoDBDocumentClient = documentClient): Promise<SweepOutcome> {
  // `~` sorts after `#`, so every entry whose `runAt` is at most the horizon is in range.
  const until = `${new Date(Date.now() + SWEEP_HORIZON_MS).toISOString()}~`;
  const perShard = Math.ceil(limits.maxJobs / DUE_SHARDS);
  const tally = { moved: 0, stale: 0, failed: 0 };
  let complete = true;
  for (let shard = 0; shard < DUE_SHARDS; shard++) {
    let taken = 0;
    let start: QueryCommandOutput['LastEvaluatedKey'];
    do {
      if (taken >= perShard || !limits.hasTime()) {
        complete = false;
        logger.warn('sweep stopped with due jobs left; the next one goes on', { shard, taken, outOfTime: taken < perShard });
        break;
      }
      const page = await client.send(
        new QueryCommand({
          TableName: jobsTable(),
          IndexName: 'due',
          KeyConditionExpression: '#duePk = :shard AND #dueSk <= :until',
          ExpressionAttributeNames: { '#duePk': 'duePk', '#dueSk': 'dueSk' },
          ExpressionAttributeValues: { ':shard': `DUE#${shard}`, ':until': until },
          Limit: Math.min(100, perShard - taken),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const jobs = (page.Items ?? []) as JobItem[];
      taken += jobs.length;
      for (let i = 0; i < jobs.length; i += CONCURRENCY) {
        const outcomes = await Promise.all(jobs.slice(i, i + CONCURRENCY).map((job) => moveJob(job, client)));
        for (const outcome of outcomes) tally[outcome]++;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return { ...tally, complete };
}

/** Starts one job's timer, then takes it out of the index; a job no longer scheduled only leaves the index. */
async function moveJob(job: JobItem, client: DynamoDBDocumentClient): Promise<'moved' | 'stale' | 'failed'> {
  try {
    if (job.status !== 'scheduled') {
      // Cancelling removes the keys itself; the index may still show the entry for a while.
      await forgetDue(job, client, 'not scheduled');
      return 'stale';
    }
    await startTimer(job, (Date.parse(job.runAt) - Date.now()) / 1000);
    await forgetDue(job, client, 'still this run, scheduled');
    return 'moved';
  } catch (error) {
    logger.error('due job not moved; the next sweep tries again', { jobId: job.jobId, tenantId: job.tenantId, error: error as Error });
    return 'failed';
  }
}

/**
 * Removes a job's `due` index keys if it is (or is no longer) the scheduled run that was swept,
 * and the entry is still the one read. A failed condition is ignored: the job changed since the
 * index was read, and the timer just sent (if any) finds it changed too.
 */
async function forgetDue(job: JobItem, client: DynamoDBDocumentClient, when: 'still this run, scheduled' | 'not scheduled'): Promise<void> {
  const stillScheduled = when === 'still this run, scheduled';
  try {
    await client.send(
      new UpdateCommand({
        TableName: jobsTable(),
        Key: { pk: job.pk, sk: job.sk },
        UpdateExpression: 'REMOVE #duePk, #dueSk',
        ConditionExpression: `${stillScheduled ? '#status = :scheduled AND #run = :run' : '#status <> :scheduled'} AND #dueSk = :dueSk`,
        ExpressionAttributeNames: { '#status': 'status', '#duePk': 'duePk', '#dueSk': 'dueSk', ...(stillScheduled ? { '#run': 'run' } : {}) },
        ExpressionAttributeValues: { ':scheduled': 'scheduled', ':dueSk': job.dueSk, ...(stillScheduled ? { ':run': job.run } : {}) },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * The every-minute schedule rule's target. Not an `eventBridgeConsumer`: a sweep is idempotent as
 * it is, needs the invocation's remaining time, and a retried invocation should sweep again.
 * Failed jobs fail the invocation (after the others were moved), so they show in its errors.
 */
export const handler = consumerHandler(async (_event: ScheduledEvent, context: Context): Promise<SweepOutcome> => {
  const outcome = await sweepDueJobs({ maxJobs: MAX_JOBS_PER_SWEEP, hasTime: () => context.getRemainingTimeInMillis() > TIME_RESERVE_MS });
  metrics.addMetric('JobsReleasedFromDue', MetricUnit.Count, outcome.moved);
  logger.info('due jobs swept', { ...outcome });
  if (outcome.failed > 0) throw new Error(`${outcome.failed} due jobs could not be moved; they stay in the due index for the next sweep`);
  return outcome;
});
