import { randomUUID } from 'node:crypto';
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { MessageAttributeValue, SendMessageCommandInput } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { eventBridgeClient } from './clients/eventbridge';
import { readEnv } from './env';

/**
 * The producer side of the async platform: domain events onto the EventBridge bus and
 * messages onto SQS, both carrying the correlation id of the request that caused them.
 */

/** Every event Switchyard publishes names its bounded context: `switchyard.chat`, `switchyard.uploads`. */
export type EventSource = `switchyard.${string}`;

/**
 * What every Switchyard event carries in `detail.metadata`. `eventId` is set by the producer
 * (EventBridge's own envelope `id` changes on a producer retry), so consumers dedupe on it.
 */
export const EventMetadataSchema = z.object({
  correlationId: z.string().min(1),
  tenantId: z.string().min(1).optional(),
  eventId: z.string().min(1),
  occurredAt: z.iso.datetime({ offset: true }),
});
export type EventMetadata = z.infer<typeof EventMetadataSchema>;

/**
 * The schema of a Switchyard event `detail` (`{ metadata, data }`) around a given data schema.
 * Consumers of a queue fed by a rule with `RuleTargetInput.fromEventPath('$.detail')` validate
 * the message body with it.
 */
export function eventEnvelopeSchema<S extends z.ZodType>(data: S) {
  return z.object({ metadata: EventMetadataSchema, data });
}

/** One domain event to publish. */
export interface DomainEvent<T = unknown> {
  readonly source: EventSource;
  /** What happened, in the past tense: `UploadCompleted`, `MessagePosted`. */
  readonly detailType: string;
  readonly data: T;
  readonly correlationId: string;
  readonly tenantId?: string;
  /**
   * Set it when the caller may publish the same fact twice (a retried request, an outbox
   * relay): the same id lets consumers drop the second copy. @default a new UUID
   */
  readonly eventId?: string;
  /** @default now */
  readonly occurredAt?: Date;
  readonly resources?: readonly string[];
}

export interface PublishOptions {
  /** @default the `EVENT_BUS_NAME` environment variable */
  readonly busName?: string;
  /** Attempts per entry, the first included. @default 3 */
  readonly maxAttempts?: number;
  /** First backoff before retrying failed entries; doubles each attempt, with full jitter. @default 100 */
  readonly baseDelayMs?: number;
}

/** One event that could not be put on the bus. */
export interface FailedEvent {
  readonly eventId: string;
  readonly detailType: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  /** The event as it was sent (its `eventId` filled in), so a caller can republish exactly it. */
  readonly event: DomainEvent & { readonly eventId: string };
}

/** PutEvents refused some entries even after retries; `failures` names every one of them. */
export class EventPublishError extends Error {
  constructor(
    readonly failures: readonly FailedEvent[],
    readonly publishedEventIds: readonly string[],
  ) {
    super(
      `${failures.length} event(s) not published: ${failures.map((f) => `${f.eventId} (${f.detailType}): ${f.errorCode}`).join('; ')}`,
    );
    this.name = 'EventPublishError';
  }
}

/** A message for a FIFO queue without a group, or with a per-message delay (FIFO has none). */
export class QueueMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueMessageError';
  }
}

/** PutEvents accepts at most 10 entries per call. */
const MAX_ENTRIES_PER_PUT = 10;

/**
 * Entry error codes the EventBridge API reference lists as non-retryable; retrying them only
 * delays the error. Anything else (InternalFailure, ThrottlingException, codes added later)
 * is retried, boundedly.
 */
const PERMANENT_ERROR_CODES = new Set([
  'AccessDeniedException',
  'InvalidAccountIdException',
  'InvalidArgument',
  'MalformedDetail',
  'RedactionFailure',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
]);

interface PendingEntry {
  readonly event: DomainEvent & { readonly eventId: string };
  readonly entry: PutEventsRequestEntry;
}

/**
 * Puts domain events on the bus with the Switchyard envelope `{ metadata, data }` as `detail`,
 * at most 10 per PutEvents call. Entries PutEvents refuses are retried with backoff
 * (`maxAttempts` in all) unless their error is permanent; whatever still fails is thrown as
 * one `EventPublishError` after every batch has been tried, so one bad batch does not stop
 * the others.
 *
 * @param events the events, published in this order (EventBridge does not promise delivery order)
 * @param client the EventBridge client; tests pass a mocked one
 * @param options bus name and retry bounds
 * @returns the `eventId` of each event, in input order
 * @throws EventPublishError naming every event that could not be published
 * @throws ConfigurationError when no bus name is given and `EVENT_BUS_NAME` is not set
 */
export async function publishEvents(
  events: readonly DomainEvent[],
  client: EventBridgeClient = eventBridgeClient,
  options: PublishOptions = {},
): Promise<string[]> {
  if (events.length === 0) return [];
  const busName = options.busName ?? readEnv({ EVENT_BUS_NAME: z.string().min(1) }).EVENT_BUS_NAME;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const baseDelayMs = options.baseDelayMs ?? 100;

  const pending = events.map((event) => toEntry(event, busName));
  const failures: FailedEvent[] = [];
  for (let start = 0; start < pending.length; start += MAX_ENTRIES_PER_PUT) {
    const batch = pending.slice(start, start + MAX_ENTRIES_PER_PUT);
    failures.push(...(await putWithRetries(batch, client, maxAttempts, baseDelayMs)));
  }

  if (failures.length > 0) {
    const failed = new Set(failures.map((f) => f.event));
    throw new EventPublishError(
      failures,
      pending.filter((p) => !failed.has(p.event)).map((p) => p.event.eventId),
    );
  }
  return pending.map((p) => p.event.eventId);
}

/**
 * Puts one domain event on the bus; see {@link publishEvents}.
 * @returns the event's `eventId`
 */
export async function publishEvent(
  event: DomainEvent,
  client: EventBridgeClient = eventBridgeClient,
  options: PublishOptions = {},
): Promise<string> {
  const [eventId] = await publishEvents([event], client, options);
  return eventId as string;
}

function toEntry(event: DomainEvent, busName: string): PendingEntry {
  const eventId = event.eventId ?? randomUUID();
  const occurredAt = event.occurredAt ?? new Date();
  const metadata: EventMetadata = {
    correlationId: event.correlationId,
    ...(event.tenantId === undefined ? {} : { tenantId: event.tenantId }),
    eventId,
    occurredAt: occurredAt.toISOString(),
  };
  // Lambda sets the X-Ray header of the current invocation; handing it on joins the trace across the bus.
  const traceHeader = process.env['_X_AMZN_TRACE_ID'];
  return {
    event: { ...event, eventId },
    entry: {
      EventBusName: busName,
      Source: event.source,
      DetailType: event.detailType,
      Detail: JSON.stringify({ metadata, data: event.data }),
      Time: occurredAt,
      ...(event.resources ? { Resources: [...event.resources] } : {}),
      ...(traceHeader ? { TraceHeader: traceHeader } : {}),
    },
  };
}

async function putWithRetries(
  batch: readonly PendingEntry[],
  client: EventBridgeClient,
  maxAttempts: number,
  baseDelayMs: number,
): Promise<FailedEvent[]> {
  const permanent: FailedEvent[] = [];
  let pending = batch;
  let lastFailures: FailedEvent[] = [];
  for (let attempt = 1; attempt <= maxAttempts && pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(backoff(attempt - 1, baseDelayMs));
    const response = await client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
    if (!response.FailedEntryCount) return permanent;

    const outcomes = pending.map((p, i): FailedEvent | undefined => {
      const result = response.Entries?.[i];
      // A result list that does not line up with the request tells us nothing about this entry: treat it as failed.
      if (result && !result.ErrorCode && result.EventId) return undefined;
      return {
        eventId: p.event.eventId,
        detailType: p.event.detailType,
        errorCode: result?.ErrorCode ?? 'Unknown',
        errorMessage: result?.ErrorMessage ?? 'no result for this entry',
        event: p.event,
      };
    });
    const retryable = (f: FailedEvent | undefined): f is FailedEvent => f !== undefined && !PERMANENT_ERROR_CODES.has(f.errorCode);
    permanent.push(...outcomes.filter((f): f is FailedEvent => f !== undefined && PERMANENT_ERROR_CODES.has(f.errorCode)));
    lastFailures = outcomes.filter(retryable);
    pending = pending.filter((_, i) => retryable(outcomes[i]));
  }
  return [...permanent, ...lastFailures];
}

/** Full jitter: a random wait up to base * 2^(retry-1), so retrying producers do not move in step. */
function backoff(retry: number, baseDelayMs: number): number {
  return Math.random() * baseDelayMs * 2 ** (retry - 1);
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** One message to send to a queue. */
export interface QueueMessage<T = unknown> {
  readonly queueUrl: string;
  /** Serialized as JSON. */
  readonly body: T;
  /** Carried as the `correlationId` message attribute, which the consumer helpers read. */
  readonly correlationId: string;
  /** Required for FIFO queues: messages of one group are delivered in order, one at a time. */
  readonly groupId?: string;
  /**
   * FIFO only: SQS drops a second message with the same id within 5 minutes. Derive it from
   * the business fact (job id, event id) so a retried send is dropped.
   * @default none (the queue must then have content-based deduplication)
   */
  readonly deduplicationId?: string;
  /** Standard queues only. */
  readonly delaySeconds?: number;
  /** More message attributes; SQS allows 10 in all, `correlationId` included. */
  readonly attributes?: Readonly<Record<string, MessageAttributeValue>>;
}

/**
 * Builds the `SendMessage` input for one message, with the correlation id as the
 * `correlationId` string attribute and, for FIFO queues, the group and deduplication ids.
 *
 * @throws QueueMessageError for a FIFO queue without `groupId`, or with `delaySeconds`
 */
export function sendMessageInput<T>(message: QueueMessage<T>): SendMessageCommandInput {
  const fifo = message.queueUrl.endsWith('.fifo');
  if (fifo && !message.groupId) throw new QueueMessageError(`a message for FIFO queue ${message.queueUrl} needs a groupId`);
  if (fifo && message.delaySeconds !== undefined) {
    throw new QueueMessageError(`FIFO queue ${message.queueUrl} has no per-message delay`);
  }
  return {
    QueueUrl: message.queueUrl,
    MessageBody: JSON.stringify(message.body),
    MessageAttributes: {
      ...message.attributes,
      correlationId: { DataType: 'String', StringValue: message.correlationId },
    },
    ...(message.groupId ? { MessageGroupId: message.groupId } : {}),
    ...(message.deduplicationId ? { MessageDeduplicationId: message.deduplicationId } : {}),
    ...(message.delaySeconds !== undefined ? { DelaySeconds: message.delaySeconds } : {}),
  };
}
