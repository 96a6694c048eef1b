import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { sqsClient } from '#shared/clients/sqs';
import { PrioritySchema, redriveJobsRoute, type Priority } from '#shared/contracts/jobs';
import { httpHandler } from '#shared/http/handler';
import { logger, metrics } from '#shared/powertools';
import { deadLetterUrl, JobMessageSchema } from './lanes';
import { requeueDeadJob } from './requeue';

/** How long a received dead-letter message stays hidden while it is handled. */
const HOLD_SECONDS = 30;

/** Receives per lane and call: bounds the work of one request. */
const MAX_RECEIVES = 30;

/**
 * Takes the tenant's messages off one lane's dead-letter queue, up to `max`: each whose job is
 * still dead (of that run) goes back to its lane as a new run; each whose job is not (retried
 * through the API, cancelled) is deleted as stale. Other tenants' messages stay hidden while the
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
        const { queued } = await requeueDeadJob(tenantId, parsed.data.jobId, logger, parsed.data.run);
        if (queued) redriven++;
        else skipped++;
        await sqsClient.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  } finally {
    await Promise.all(others.map((message) => sqsClient.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }))));
  }
  return { redriven, skipped };
}

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
