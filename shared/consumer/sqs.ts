import { BatchProcessor, EventType, processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import { type ConsumerOptions, consumerHandler, jsonPayload, pathOf, recordRunner, type WorkItem } from './runner';

/** Where an SQS record came from. */
export interface SqsRecordMetadata {
  readonly messageId: string;
  readonly queueArn: string;
  /** For `ChangeMessageVisibility` (a consumer that sets its own retry delay). */
  readonly receiptHandle: string;
  /** FIFO queues only. */
  readonly messageGroupId?: string;
  readonly deduplicationId?: string;
  /** 1 on the first delivery; it grows towards the queue's `maxReceiveCount`. */
  readonly receiveCount: number;
  readonly sentAt: string;
}

/** An SQS-triggered handler with partial batch responses (`ReportBatchItemFailures`). */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * Runs records of one SQS batch and reports the failed ones in `batchItemFailures`.
 *
 * A standard queue's records run one after another, not in parallel: the correlation id rides on
 * the one shared logger, and concurrent records would stamp each other's log lines. Throughput
 * comes from the event source mapping's concurrency instead.
 *
 * A FIFO queue (its ARN ends in `.fifo`, which SQS requires of every FIFO queue, so a flag could
 * only disagree with it) keeps order per message group: after a failure, the rest of that group
 * in the batch is reported failed without running, while other groups go on.
 *
 * When every record fails, Powertools throws instead of reporting them all, so the invocation
 * counts as an error for Lambda's metrics and the event source mapping backs off.
 */
export function sqsBatch(): (event: SQSEvent, context: Context, handle: (record: SQSRecord) => Promise<void>) => Promise<SQSBatchResponse> {
  // Processors keep per-invocation state, so each consumer owns its own pair.
  const standard = new BatchProcessor(EventType.SQS);
  const fifo = new SqsFifoPartialProcessorAsync();
  return (event, context, handle) =>
    event.Records[0]?.eventSourceARN.endsWith('.fifo')
      ? processPartialResponse(event, handle, fifo, { context, skipGroupOnError: true })
      : processPartialResponse(event, handle, standard, { context, processInParallel: false });
}

/** The metadata of an SQS record. */
export function sqsMetadata(record: SQSRecord): SqsRecordMetadata {
  const { MessageGroupId, MessageDeduplicationId, ApproximateReceiveCount, SentTimestamp } = record.attributes;
  return {
    messageId: record.messageId,
    queueArn: record.eventSourceARN,
    receiptHandle: record.receiptHandle,
    ...(MessageGroupId ? { messageGroupId: MessageGroupId } : {}),
    ...(MessageDeduplicationId ? { deduplicationId: MessageDeduplicationId } : {}),
    receiveCount: Number(ApproximateReceiveCount),
    sentAt: new Date(Number(SentTimestamp)).toISOString(),
  };
}

/** The `correlationId` message attribute that `sendMessageInput` sets. */
export function correlationAttribute(record: SQSRecord): string | undefined {
  return record.messageAttributes?.['correlationId']?.stringValue;
}

/** An SQS record as a work item for a `RecordRunner` (what `sqsConsumer` does per record). */
export function sqsWorkItem(record: SQSRecord): WorkItem<SqsRecordMetadata> {
  const payload = jsonPayload(record.body, 'message body');
  const body = payload.ok ? payload.value : undefined;
  return {
    payload,
    correlationIds: [
      correlationAttribute(record),
      // A Switchyard envelope sent as the body (a rule target with `$.detail` as input) ...
      pathOf(body, 'metadata', 'correlationId'),
      // ... or the whole EventBridge event, when the rule forwards it as it is.
      pathOf(body, 'detail', 'metadata', 'correlationId'),
    ],
    // The message id identifies one send: a producer that sends the same fact twice makes two.
    // Consumers that must absorb that give `dedupKey` with the business identity.
    defaultKey: record.messageId,
    metadata: sqsMetadata(record),
  };
}

/**
 * An SQS consumer (standard or FIFO) for an event source mapping with `ReportBatchItemFailures`.
 * Each message body is parsed as JSON and validated by `schema`; `process` runs once per
 * idempotency key (the message id unless `dedupKey` says otherwise). Failed records, those that
 * fail their schema included, are reported in `batchItemFailures`, so SQS redelivers them until
 * `maxReceiveCount` moves them to the DLQ.
 *
 * Correlation id: the `correlationId` message attribute, else the body's `metadata.correlationId`
 * (or `detail.metadata.correlationId` for a forwarded EventBridge event), else a new one.
 *
 * @example
 * export const handler = sqsConsumer({
 *   name: 'click-aggregator',
 *   schema: ClickSchema,
 *   dedupKey: (click) => click.clickId,
 *   process: (click, { correlationId }) => recordClick(click),
 * });
 */
export function sqsConsumer<S extends z.ZodType>(options: ConsumerOptions<S, SqsRecordMetadata>): SqsHandler {
  const runner = recordRunner(options);
  const batch = sqsBatch();
  return consumerHandler(async (event: SQSEvent, context: Context) => {
    runner.begin(context);
    return batch(event, context, (record) => runner.run(sqsWorkItem(record)));
  });
}
