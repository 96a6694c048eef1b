import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { s3Client } from '#shared/clients/s3';
import { sqsClient } from '#shared/clients/sqs';
import { PrioritySchema } from '#shared/contracts/jobs';
import { sqsConsumer, type SqsRecordMetadata } from '#shared/consumer/sqs';
import { readEnv } from '#shared/env';
import { publishEvent } from '#shared/events';
import { metrics } from '#shared/powertools';
import { JobMessageSchema, laneUrl, sendToDeadLetters, type JobMessage } from './lanes';
import { jobTypes } from './registry';
import { PermanentJobError, type JobType } from './types/job-type';
import { jobSettings } from './settings';
import { recordProgress, transition, type JobItem } from './store';

/** Results up to this many bytes of JSON are kept in the job record; larger ones go to S3. */
export const MAX_INLINE_RESULT_BYTES = 32 * 1024;
/** A worker that died holds its job this long past the attempt's timeout before a redelivery may take it. */
const LEASE_MARGIN_SECONDS = 30;
/** SQS's longest visibility timeout: the longest a retry can be put off. */
const MAX_BACKOFF_SECONDS = 12 * 60 * 60;

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
 * failures of many jobs at once spread out); fixed varies it by ±20 %. Capped at 12 hours.
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
 * One delivery of a job's run:
 * 1. claim it (`queued`, `retrying` or `scheduled`, or `running` under an expired lease, of this
 *    run) as `running`, counting the attempt; anything else (cancelled, finished, another run)
 *    is skipped and the message dropped;
 * 2. an unknown type or a payload its schema refuses is dead at once;
 * 3. run it within its timeout; success stores the result (S3 when large) and says `JobSucceeded`;
 * 4. a failure with attempts left sets the message's visibility to the backoff and hands it back
 *    to SQS (the record is reported failed); a permanent failure, or the last attempt, is dead.
 */
export async function workJob(message: JobMessage, metadata: SqsRecordMetadata, logger: Logger): Promise<void> {
  const now = new Date();
  // The lease outlasts any attempt (the stage's longest timeout and a margin); the message itself
  // comes back only after the lane's visibility timeout, which is longer still.
  const leaseUntil = new Date(now.getTime() + (jobSettings().maxTimeoutSeconds + LEASE_MARGIN_SECONDS) * 1000).toISOString();
  const claim = await transition(message.tenantId, message.jobId, {
    from: ['scheduled', 'queued', 'retrying'],
    leaseExpiredBefore: now.toISOString(),
    to: 'running',
    run: message.run,
    add: { attempts: 1 },
    set: { startedAt: now.toISOString(), nextAttemptAt: null, leaseUntil },
  });
  if (!claim.after) {
    const before = claim.before;
    if (before && before.run === message.run && (before.status === 'succeeded' || before.status === 'dead')) {
      // This run ended; say so again, in case saying it failed the first time.
      await announceEnd(before);
      logger.info('job already ended; its end announced again', { jobId: message.jobId, status: before.status });
      return;
    }
    logger.info('job not claimed; message dropped', { jobId: message.jobId, run: message.run, status: before?.status ?? 'absent', jobRun: before?.run });
    return;
  }
  const job = claim.after;
  logger.appendKeys({ jobId: job.jobId, jobType: job.type, attempt: job.attempts });

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

/** Per invocation: the records that ran, and the backoff each failed group waits. */
const attempted = new Set<string>();
const groupDelays = new Map<string, number>();

const consume = sqsConsumer({
  name: 'jobs.work',
  schema: JobMessageSchema,
  dedupKey: (message) => `${message.tenantId}#${message.jobId}#${message.run}`,
  process: (message, { metadata, logger }) => {
    attempted.add(metadata.messageId);
    return workJob(message, metadata, logger);
  },
});

/**
 * A lane's worker: Powertools FIFO batch processing (a failed record skips the rest of its
 * message group in the batch, never other groups) with idempotency per job run, so a message
 * delivered again after its run ended does nothing but announce that end again.
 *
 * The records skipped behind a failed one would otherwise stay hidden for the lane's whole
 * visibility timeout: they are made visible again when the failed job's backoff ends, so the
 * group goes on in order as soon as it can.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  attempted.clear();
  groupDelays.clear();
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
