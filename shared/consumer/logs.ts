import { gunzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent, Context } from 'aws-lambda';
import type { z } from 'zod';
import { type ConsumerOptions, consumerHandler, jsonPayload, type RecordRunner, recordRunner, runAll, type WorkItem } from './runner';

/** Where a log event came from. */
export interface LogRecordMetadata {
  /** CloudWatch Logs' id of the event: unique, and the default idempotency key. */
  readonly eventId: string;
  readonly logGroup: string;
  readonly logStream: string;
  /** When the line was written, epoch ms. */
  readonly timestamp: number;
}

export type LogsHandler = (event: CloudWatchLogsEvent, context: Context) => Promise<void>;

/**
 * Decodes a subscription delivery (`awslogs.data`: base64 of gzipped JSON).
 * @throws Error when the data is not what CloudWatch Logs sends
 */
export function decodeLogsEvent(event: CloudWatchLogsEvent): CloudWatchLogsDecodedData {
  const data = JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8')) as CloudWatchLogsDecodedData;
  if (!Array.isArray(data.logEvents)) throw new Error('awslogs.data holds no logEvents');
  return data;
}

/** Turns each log event of a DATA_MESSAGE into a work item whose payload is the line, parsed as JSON. */
export function logsWorkItems(data: CloudWatchLogsDecodedData): WorkItem<LogRecordMetadata>[] {
  return data.logEvents.map((logEvent) => {
    const payload = jsonPayload(logEvent.message, 'log line');
    const value = payload.ok ? payload.value : undefined;
    return {
      payload,
      correlationIds: [typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['correlationId'] : undefined],
      defaultKey: logEvent.id,
      metadata: { eventId: logEvent.id, logGroup: data.logGroup, logStream: data.logStream, timestamp: logEvent.timestamp },
    };
  });
}

/**
 * A consumer for a CloudWatch Logs subscription filter's Lambda destination: each matching line
 * is a record, parsed as JSON and validated by `schema`. This is how a hot path emits events
 * without a network call: it writes a line to stdout, and the subscription delivers it.
 *
 * Deliveries are asynchronous invocations, at least once, in any order: each record runs once per
 * idempotency key (the log event id unless `dedupKey` names the business identity). Failure is
 * thrown once every record was tried: Lambda's async retries redo only the failed records (the
 * others are known done), then the function's on-failure destination receives the delivery.
 * `CONTROL_MESSAGE` deliveries (CloudWatch Logs checking the destination) are ignored.
 */
export function logsConsumer<S extends z.ZodType>(options: ConsumerOptions<S, LogRecordMetadata>): LogsHandler {
  const runner: RecordRunner<LogRecordMetadata> = recordRunner(options);
  return consumerHandler(async (event: CloudWatchLogsEvent, context: Context) => {
    runner.begin(context);
    const data = decodeLogsEvent(event);
    if (data.messageType === 'CONTROL_MESSAGE') {
      runner.ignore('CloudWatch Logs control message', { logGroup: data.logGroup });
      return;
    }
    await runAll(runner, logsWorkItems(data));
  });
}
