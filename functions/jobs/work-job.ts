import { IdempotencyConfig, IdempotencyPersistenceLayerError } from '@aws-lambda-powertools/idempotency';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { s3Client } from '#shared/clients/s3';
import { sqsClient } from '#shared/clients/sqs';
import { PrioritySchema } from '#shared/contracts/jobs';
import { consumerHandler, recordRunner } from '#shared/consumer/runner';
import { sqsBatch, sqsWorkItem, type SqsRecordMetadata } from '#shared/consumer/sqs';
import { readEnv } from '#shared/env';
import { ConfigurationError } from '#shared/errors';
import { publishEvent } from '#shared/events';
import { metrics } from '#shared/powertools';
import { JobMessageSchema, laneUrl, sendToDeadLetters, type JobMessage } from './lanes';
import { jobTypes } from './registry';
import { PermanentJobError, type JobType } from './types/job-type';
import { JobRunStore, NoTimeToClaimError, runKey } from './run-store';
import { recordProgress, transition, type JobItem } from './store';

/** Results up to this many bytes of JSON are kept in the job record; larger ones go to S3. */
export const MAX_INLINE_RESULT_BYTES = 32 * 1024;
/**
 * The longest a retry can be put off: SQS hides a message at most 12 hours from when it was
 * received, and the attempt ran for up to a worker's timeout (at most 15 minutes) of those.
 */
const MAX_BACKOFF_SECONDS = 12 * 60 * 60 - 15 * 60;

let env: { readonly lane: z.infer<typeof PrioritySchema>; readonly resultsBucket: string } | undefined;

function workerEnv() {
  if (!env) {
    const read = readEnv({ JOBS_LANE: PrioritySchema, JOBS_RESULTS_BUCKET: z.string().min(1) });
    env = { lane: read.JOBS_LANE, resultsBucket: read.JOBS_RESULTS_BUCKET };
  }
  return env;
}

/** Thrown to hand a failed attempt back to SQS, which redelivers the message after the backoff. */
class RetryLaterError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RetryLaterError';
  }
}

/**
 * Seconds before attempt `attempt + 1`, with jitter: exponential doubles `baseSeconds` per attempt
 * and draws from the upper half of that (so a retry is never much earlier than planned, and
 * failures of many jobs at once spread out); fixed varies it by ±20 %. Capped at 11 h 45 min.
 */
export function backoffSeconds(backoff: JobItem['backoff'], attempt: number, random: () => number = Math.random): number {
  const planned = backoff.kind === 'exponential' ? backoff.baseSeconds * 2 ** (attempt - 1) : backoff.baseSeconds;
  const jittered = backoff.kind === 'exponential' ? planned / 2 + random() * (planned / 2) : planned * (0.8 + random() * 0.4);
  return Math.max(1, Math.min(MAX_BACKOFF_SECONDS, Math.round(jittered)));
}

/** Runs a job's code with its timeout: the signal aborts, and the attempt fails even if the code ignores it. */
async function runWithTimeout(type: JobType, payload: unknown, job: JobItem, logger: Logger): Promise<unknown> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`timed out after ${job.timeoutSeconds} s`);
      controller.abort(error);
      reject(error);
    }, job.timeoutSeconds * 1000);
  });
  try {
    return await Promise.race([
      type.run(payload, {
        tenantId: job.tenantId,
        jobId: job.jobId,
        attempt: job.attempts,
        signal: controller.signal,
        logger,
        reportProgress: async (percent) => {
          await recordProgress(job.tenantId, job.jobId, job.run, percent).catch((error: unknown) => logger.warn('progress not recorded', { error: error as Error }));
        },
      }),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The result as the record keeps it: inline when small, else written to S3 and pointed at. */
async function storedResult(job: JobItem, result: unknown): Promise<{ result: unknown; resultKey: string | null }> {
  const json = JSON.stringify(result ?? null);
  if (Buffer.byteLength(json, 'utf8') <= MAX_INLINE_RESULT_BYTES) return { result: result ?? null, resultKey: null };
  const resultKey = `results/${job.tenantId}/${job.jobId}/${job.run}.json`;
  await s3Client.send(new PutObjectCommand({ Bucket: workerEnv().resultsBucket, Key: resultKey, Body: json, ContentType: 'application/json' }));
  return { result: null, resultKey };
}

const lifecycleEvent = (job: JobItem, detailType: 'JobSucceeded' | 'JobDead', data: Record<string, unknown>) =>
  publishEvent({
    source: 'switchyard.jobs',
    detailType,
    tenantId: job.tenantId,
    correlationId: job.correlationId,
    // One event per job run and outcome, however often the worker gets to say it.
    eventId: `${job.jobId}-${job.run}-${detailType}`,
    data: { jobId: job.jobId, type: job.type, run: job.run, attempts: job.attempts, ...data },
  });

/**
 * What a job's end tells the world: `JobSucceeded`, or `JobDead` with its message in the lane's
 * dead-letter queue. Both are idempotent (the event id and the FIFO deduplication id are the job,
 * run and outcome), so a delivery of an ended run's message says them again: that is how a
 * failure between ending the job and saying so is mended.
 */
async function announceEnd(job: JobItem): Promise<void> {
  if (job.status === 'dead') {
    await sendToDeadLetters(job);
    await lifecycleEvent(job, 'JobDead', { reason: job.lastError?.message ?? 'unknown' });
  } else if (job.status === 'succeeded') {
    await lifecycleEvent(job, 'JobSucceeded', { resultInS3: job.resultKey !== null });
  }
}

/** Ends a job for good: dead, then announced (its dead-letter message, an event), and a metric. */
async function bury(job: JobItem, reason: string, logger: Logger): Promise<void> {
  const at = new Date().toISOString();
  const { after } = await transition(job.tenantId, job.jobId, {
    from: ['running'],
    to: 'dead',
    run: job.run,
    set: { finishedAt: at, lastError: { message: reason, at, attempt: job.attempts } },
    remove: ['leaseUntil'],
  });
  if (!after) {
    logger.info('job changed while it ran (cancelled); not marked dead', { jobId: job.jobId });
    return;
  }
  metrics.addMetric('JobsDead', MetricUnit.Count, 1);
  logger.warn('job dead', { jobId: job.jobId, type: job.type, attempts: job.attempts, reason });
  await announceEnd(after);
}

/**
 * One attempt of a job's run, claimed (`running`, the attempt counted) by the worker's
 * idempotency store (`run-store.ts`):
 * 1. an unknown type or a payload its schema refuses is dead at once;
 * 2. run it within its timeout; success stores the result (S3 when large) and says `JobSucceeded`;
 * 3. a failure with attempts left sets the message's visibility to the backoff and hands it back
 *    to SQS (the record is reported failed); a permanent failure, or the last attempt, is dead.
 * A run that is not claimable (cancelled, ended, another run's, or running elsewhere) never gets
 * here: idempotency skips it, or fails the record while another worker holds it.
 */
async function runJob(job: JobItem, metadata: SqsRecordMetadata, logger: Logger): Promise<void> {
  logger.appendKeys({ jobId: job.jobId, jobType: job.type, attempt: job.attempts });

  // Every allowed attempt was claimed and none ended: each worker died under it (a crash, memory
  // running out), so running it again would only die again.
  if (job.attempts > job.maxAttempts) return bury(job, `no attempt of ${job.maxAttempts} ended: the worker died during each`, logger);

  const type = jobTypes().get(job.type);
  if (!type) return bury(job, `unknown job type ${job.type}`, logger);
  const payload = type.payload.safeParse(job.payload);
  if (!payload.success) return bury(job, `payload refused by ${job.type}: ${payload.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ')}`, logger);

  const started = Date.now();
  let result: unknown;
  try {
    result = await runWithTimeout(type, payload.data, job, logger);
  } catch (error) {
    return failAttempt(job, error, metadata, logger);
  }
  metrics.addMetric('JobDuration', MetricUnit.Milliseconds, Date.now() - started);
  const stored = await storedResult(job, result);
  const { after } = await transition(job.tenantId, job.jobId, {
    from: ['running'],
    to: 'succeeded',
    run: job.run,
    set: { finishedAt: new Date().toISOString(), progress: 100, result: stored.result, resultKey: stored.resultKey },
    remove: ['leaseUntil'],
  });
  if (!after) {
    logger.info('job cancelled while it ran; its result is dropped');
    return;
  }
  metrics.addMetric('JobsSucceeded', MetricUnit.Count, 1);
  await announceEnd(after);
}

/**
 * A delivery of a run that is not claimable and not in progress: when the run ended, say its end
 * again, in case saying it failed the first time (both sayings are idempotent); anything else
 * (cancelled, another run's message) is dropped.
 */
async function repeatEnd(message: JobMessage, logger: Logger): Promise<void> {
  // The claim that could not take the run found the job as it is.
  const job = runs.take(message);
  if (job && job.run === message.run && (job.status === 'succeeded' || job.status === 'dead')) {
    await announceEnd(job);
    logger.info('job already ended; its end announced again', { jobId: message.jobId, status: job.status });
    return;
  }
  logger.info('job not claimable; message dropped', { jobId: message.jobId, run: message.run, status: job?.status ?? 'absent', jobRun: job?.run });
}

/** A failed attempt: dead when permanent or the last; else retrying, its message back on the lane after the backoff. */
async function failAttempt(job: JobItem, error: unknown, metadata: SqsRecordMetadata, logger: Logger): Promise<void> {
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof PermanentJobError || job.attempts >= job.maxAttempts) {
    return bury(job, error instanceof PermanentJobError ? reason : `${reason} (attempt ${job.attempts} of ${job.maxAttempts})`, logger);
  }
  const delay = backoffSeconds(job.backoff, job.attempts);
  const at = new Date().toISOString();
  const { after } = await transition(job.tenantId, job.jobId, {
    from: ['running'],
    to: 'retrying',
    run: job.run,
    set: { lastError: { message: reason, at, attempt: job.attempts }, nextAttemptAt: new Date(Date.now() + delay * 1000).toISOString() },
    remove: ['leaseUntil'],
  });
  if (!after) {
    logger.info('job cancelled while it ran; not retried');
    return;
  }
  await sqsClient.send(new ChangeMessageVisibilityCommand({ QueueUrl: laneUrl(workerEnv().lane), ReceiptHandle: metadata.receiptHandle, VisibilityTimeout: delay }));
  groupDelays.set(metadata.messageGroupId ?? '', delay);
  metrics.addMetric('JobRetries', MetricUnit.Count, 1);
  throw new RetryLaterError(`attempt ${job.attempts} failed (${reason}); retrying in ${delay} s`, { cause: error });
}

/** Per invocation: the records the FIFO processor handed over (not skipped), and the backoff each failed group waits. */
const attempted = new Set<string>();
const groupDelays = new Map<string, number>();

/** Where the worker's idempotency records live: the job records (see `run-store.ts`). */
const runs = new JobRunStore();
// The store's save-in-progress is the claim, so the worker cannot run with idempotency switched
// off (`POWERTOOLS_IDEMPOTENCY_DISABLED`): no job would ever be claimed. Refuse to start instead.
if (!new IdempotencyConfig({}).isEnabled()) {
  throw new ConfigurationError('the job worker needs Powertools idempotency (its claims are the idempotency records): unset POWERTOOLS_IDEMPOTENCY_DISABLED');
}

const runner = recordRunner<typeof JobMessageSchema, SqsRecordMetadata>({
  name: 'jobs.work',
  schema: JobMessageSchema,
  dedupKey: runKey,
  persistenceStore: runs,
  process: (message, { metadata, logger }) => {
    const claimed = runs.take(message);
    if (claimed?.status !== 'running') throw new Error(`job ${message.jobId} run ${message.run} ran without its claim`);
    return runJob(claimed, metadata, logger);
  },
  onDuplicate: (message, { logger }) => repeatEnd(message, logger),
});
const batch = sqsBatch();

const consume = consumerHandler(async (event: SQSEvent, context: Context) => {
  runner.begin(context);
  return batch(event, context, async (record) => {
    attempted.add(record.messageId);
    try {
      await runner.run(sqsWorkItem(record));
    } catch (error) {
      // Not claimed for want of time: released at once with the records skipped behind it.
      if (error instanceof IdempotencyPersistenceLayerError && error.cause instanceof NoTimeToClaimError) attempted.delete(record.messageId);
      throw error;
    }
  });
});

/**
 * A lane's worker: Powertools FIFO batch processing (a failed record skips the rest of its
 * message group in the batch, never other groups) with Powertools idempotency per job run, its
 * records kept in the job records, so a message delivered again after its run ended does nothing
 * but announce that end again.
 *
 * The records skipped behind a failed one would otherwise stay hidden for the lane's whole
 * visibility timeout: they are made visible again when the failed job's backoff ends, so the
 * group goes on in order as soon as it can.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  attempted.clear();
  groupDelays.clear();
  runs.forget();
  let response: SQSBatchResponse;
  try {
    response = await consume(event, context);
  } catch (error) {
    // Every record failed (Powertools throws then): the skipped ones still get their delay.
    await releaseSkipped(event, new Set(event.Records.map((record) => record.messageId)));
    throw error;
  }
  await releaseSkipped(event, new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier)));
  return response;
}

async function releaseSkipped(event: SQSEvent, failed: ReadonlySet<string>): Promise<void> {
  const skipped = event.Records.filter((record) => failed.has(record.messageId) && !attempted.has(record.messageId));
  await Promise.all(
    skipped.map((record) =>
      sqsClient.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: laneUrl(workerEnv().lane),
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: groupDelays.get(record.attributes.MessageGroupId ?? '') ?? 0,
        }),
      ),
    ),
  );
}
