import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { sqsClient } from '#shared/clients/sqs';
import { PrioritySchema, redriveJobsRoute, type JobStatus, type Priority } from '#shared/contracts/jobs';
import { httpHandler } from '#shared/http/handler';
import { logger, metrics } from '#shared/powertools';
import { deadLetterUrl, enqueue, JobMessageSchema, type JobMessage } from './lanes';
import { requeueDeadJob } from './requeue';
import { readJob } from './store';

/** How long a received dead-letter message stays hidden while it is handled. */
const HOLD_SECONDS = 30;

/** Receives per lane and call: bounds the work of one request. */
const MAX_RECEIVES = 30;

/**
 * Takes the tenant's messages off one lane's dead-letter queue, up to `max`: each whose job has
 * not ended goes back to its lane (`redriveMessage`); the others are deleted as stale. Other tenants' messages stay hidden while the
 * call goes on (so later receives reach past them), and are made visible again at its end.
 */
async function redriveLane(tenantId: string, priority: Priority, max: number): Promise<{ redriven: number; skipped: number }> {
  const queueUrl = deadLetterUrl(priority);
  const others: Message[] = [];
  let redriven = 0;
  let skipped = 0;
  try {
    for (let receives = 0; receives < MAX_RECEIVES && redriven + skipped < max; receives++) {
      const { Messages = [] } = await sqsClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: HOLD_SECONDS, WaitTimeSeconds: 0 }));
      if (!Messages.length) break;
      for (const message of Messages) {
        const parsed = JobMessageSchema.safeParse(parseBody(message.Body));
        if (!parsed.success || parsed.data.tenantId !== tenantId || redriven + skipped >= max) {
          if (!parsed.success) logger.warn('dead-letter message is not a job message; left in place', { messageId: message.MessageId });
          others.push(message);
          continue;
        }
        if (await redriveMessage(parsed.data, message.MessageId ?? '')) redriven++;
        else skipped++;
        await sqsClient.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  } finally {
    await Promise.all(others.map((message) => sqsClient.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }))));
  }
  return { redriven, skipped };
}

/**
 * One dead-letter message of the tenant's: its job back on its lane when it has not ended.
 * - A dead job (whichever run's message this is) goes back as a new run.
 * - A job of this run still waiting or running lost its only message: SQS moved it here after
 *   `maxReceiveCount` receives (its group held back behind failing jobs). It goes back to the
 *   lane as it is, under a deduplication id of its own, so SQS does not drop it as a repeat.
 * - Anything else (succeeded, cancelled, retried since) is stale.
 * @returns whether the job went back to its lane
 */
async function redriveMessage(message: JobMessage, dlqMessageId: string): Promise<boolean> {
  const job = await readJob(message.tenantId, message.jobId);
  if (!job) return false;
  if (job.status === 'dead') return !!(await requeueDeadJob(job, logger)).queued;
  if (job.run === message.run && UNENDED.includes(job.status)) {
    await enqueue(job, `redrive-${dlqMessageId}`);
    logger.warn('unended job redriven with its own run', { jobId: job.jobId, run: job.run, status: job.status });
    return true;
  }
  return false;
}

const UNENDED: readonly JobStatus[] = ['queued', 'retrying', 'running'];

function parseBody(body: string | undefined): unknown {
  try {
    return JSON.parse(body ?? 'null');
  } catch {
    return undefined;
  }
}

/** POST /v1/jobs/dlq/redrive (scope `jobs:admin`): the tenant's dead jobs back to their lanes. */
export const handler = httpHandler(redriveJobsRoute, async ({ body, principal }) => {
  const lanes = body.priority ? [body.priority] : PrioritySchema.options;
  let redriven = 0;
  let skipped = 0;
  for (const lane of lanes) {
    const moved = await redriveLane(principal.tenantId, lane, body.max - redriven - skipped);
    redriven += moved.redriven;
    skipped += moved.skipped;
    if (redriven + skipped >= body.max) break;
  }
  metrics.addMetric('JobsRedriven', MetricUnit.Count, redriven);
  return { status: 200, body: { redriven, skipped } };
});
