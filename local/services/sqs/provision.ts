/**
 * The CreateQueue requests that make a model's queues, in an order AWS would accept: a
 * dead-letter queue before the queues that redrive to it.
 */
import type { QueueModel } from '../../model';

/** One CreateQueue request body, in the clients' form (public ARNs). */
export interface CreateQueueRequest {
  readonly QueueName: string;
  readonly Attributes: Readonly<Record<string, string>>;
}

/** CreateQueue requests for `queues`, each dead-letter queue before its sources. */
export function createQueueRequests(queues: readonly QueueModel[]): CreateQueueRequest[] {
  return orderDeadLettersFirst(queues).map((queue) => ({ QueueName: queue.name, Attributes: queueAttributes(queue) }));
}

/** The queue's settings as CreateQueue attributes (all strings, as the API takes them). */
export function queueAttributes(queue: QueueModel): Record<string, string> {
  const attributes: Record<string, string> = {
    VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(queue.messageRetentionSeconds),
    DelaySeconds: String(queue.delaySeconds),
    ReceiveMessageWaitTimeSeconds: String(queue.receiveWaitTimeSeconds),
  };
  // SQS refuses the FIFO attributes on a standard queue, so they are only named for FIFO ones.
  if (queue.fifo) {
    attributes['FifoQueue'] = 'true';
    attributes['ContentBasedDeduplication'] = String(queue.contentBasedDeduplication);
    if (queue.deduplicationScope) attributes['DeduplicationScope'] = queue.deduplicationScope;
    if (queue.fifoThroughputLimit) attributes['FifoThroughputLimit'] = queue.fifoThroughputLimit;
  }
  if (queue.redrive) {
    attributes['RedrivePolicy'] = JSON.stringify({ deadLetterTargetArn: queue.redrive.deadLetterArn, maxReceiveCount: queue.redrive.maxReceiveCount });
  }
  return attributes;
}

/** Depth-first: every queue after the queue it redrives to. A cycle (which CloudFormation would refuse) is cut where found. */
function orderDeadLettersFirst(queues: readonly QueueModel[]): QueueModel[] {
  const byArn = new Map(queues.map((queue) => [queue.arn, queue]));
  const ordered: QueueModel[] = [];
  const placed = new Set<QueueModel>();
  const visiting = new Set<QueueModel>();
  const place = (queue: QueueModel): void => {
    if (placed.has(queue) || visiting.has(queue)) return;
    visiting.add(queue);
    const deadLetter = queue.redrive && byArn.get(queue.redrive.deadLetterArn);
    if (deadLetter) place(deadLetter);
    visiting.delete(queue);
    placed.add(queue);
    ordered.push(queue);
  };
  queues.forEach(place);
  return ordered;
}
