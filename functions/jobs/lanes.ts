import { createHash } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { sqsClient } from '#shared/clients/sqs';
import type { Priority } from '#shared/contracts/jobs';
import { readEnv } from '#shared/env';
import { sendMessageInput } from '#shared/events';
import type { JobItem } from './store';

/**
 * The queues jobs travel on: one SQS FIFO lane per priority (each with its dead-letter queue),
 * and a standard timer queue that holds delayed jobs (FIFO has no per-message delay).
 */

/** What every lane, dead-letter and timer message carries: which run of which job. */
export const JobMessageSchema = z.object({
  tenantId: z.string().min(1),
  jobId: z.string().regex(/^[0-9a-f]{32}$/),
  run: z.number().int().positive(),
});
export type JobMessage = z.infer<typeof JobMessageSchema>;

/** SQS holds a message back at most 15 minutes; later jobs wait in the table's `due` index. */
export const MAX_TIMER_SECONDS = 900;

const LaneEnv = {
  JOBS_LANE_HIGH_URL: z.url(),
  JOBS_LANE_NORMAL_URL: z.url(),
  JOBS_LANE_LOW_URL: z.url(),
  JOBS_DLQ_HIGH_URL: z.url(),
  JOBS_DLQ_NORMAL_URL: z.url(),
  JOBS_DLQ_LOW_URL: z.url(),
  JOBS_TIMER_URL: z.url(),
};
let queues: z.infer<z.ZodObject<typeof LaneEnv>> | undefined;

function queuesFromEnv(): z.infer<z.ZodObject<typeof LaneEnv>> {
  queues ??= readEnv(LaneEnv);
  return queues;
}

export const laneUrl = (priority: Priority): string => queuesFromEnv()[`JOBS_LANE_${priority.toUpperCase() as Uppercase<Priority>}_URL`];
export const deadLetterUrl = (priority: Priority): string => queuesFromEnv()[`JOBS_DLQ_${priority.toUpperCase() as Uppercase<Priority>}_URL`];

/**
 * The message group: jobs sharing a `groupKey` (within their tenant) run one at a time, in
 * order; a job without one is its own group, so it waits for no other. The group key is hashed
 * (SHA-256, base64url: 43 characters): SQS allows 128 characters in a group id, and a tenant id
 * (up to 64) and a group key (up to 128) together could exceed it.
 */
export const groupOf = (job: Pick<JobItem, 'tenantId' | 'jobId' | 'groupKey'>): string =>
  job.groupKey ? `${job.tenantId}#${createHash('sha256').update(job.groupKey).digest('base64url')}` : job.jobId;

const messageOf = (job: Pick<JobItem, 'tenantId' | 'jobId' | 'run'>): JobMessage => ({ tenantId: job.tenantId, jobId: job.jobId, run: job.run });

/**
 * Sends a job's run to its lane. The deduplication id is the job and run, so a repeated send
 * within SQS's 5 minutes is dropped; a send that must get through beside the run's first message
 * (a redrive of a message SQS gave up on) gives its own `deduplicationSuffix`.
 */
export async function enqueue(job: JobItem, deduplicationSuffix?: string): Promise<void> {
  await sqsClient.send(
    new SendMessageCommand(
      sendMessageInput({
        queueUrl: laneUrl(job.priority),
        body: messageOf(job),
        groupId: groupOf(job),
        deduplicationId: `${job.jobId}-${job.run}${deduplicationSuffix ? `-${deduplicationSuffix}` : ''}`,
        correlationId: job.correlationId,
      }),
    ),
  );
}

/** Puts a dead job's message in its lane's dead-letter queue, where redrive finds it. */
export async function sendToDeadLetters(job: JobItem): Promise<void> {
  await sqsClient.send(
    new SendMessageCommand(
      sendMessageInput({
        queueUrl: deadLetterUrl(job.priority),
        body: messageOf(job),
        groupId: groupOf(job),
        deduplicationId: `${job.jobId}-${job.run}-dead`,
        correlationId: job.correlationId,
      }),
    ),
  );
}

/** Holds a scheduled job on the timer queue until it is due (at most 15 minutes ahead). */
export async function startTimer(job: JobItem, delaySeconds: number): Promise<void> {
  await sqsClient.send(
    new SendMessageCommand(
      sendMessageInput({
        queueUrl: queuesFromEnv().JOBS_TIMER_URL,
        body: messageOf(job),
        delaySeconds: Math.max(0, Math.min(MAX_TIMER_SECONDS, Math.ceil(delaySeconds))),
        correlationId: job.correlationId,
      }),
    ),
  );
}
