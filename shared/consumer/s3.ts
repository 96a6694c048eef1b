import type { Context, EventBridgeEvent, S3Event, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { type ConsumerOptions, consumerHandler, jsonPayload, type RawPayload, type RecordRunner, recordRunner, runAll, type WorkItem } from './runner';
import { correlationAttribute, sqsBatch } from './sqs';

/** The object an S3 ObjectCreated event is about, the same whatever the event's shape. */
export const S3ObjectSchema = z.object({
  bucket: z.string().min(1),
  /** The real key, URL-decoded where the event encoded it. */
  key: z.string().min(1),
  size: z.number().int().nonnegative(),
  etag: z.string().min(1),
  versionId: z.string().min(1).optional(),
  sequencer: z.string().min(1).optional(),
});
export type S3Object = z.infer<typeof S3ObjectSchema>;

/** How an S3 event reached the consumer. */
export interface S3RecordMetadata {
  /** An EventBridge `Object Created` event, or an S3 event notification record. */
  readonly shape: 'eventbridge' | 'notification';
  /** `ObjectCreated:Put` for a notification, the `reason` (`PutObject`) for EventBridge. */
  readonly eventName: string;
  readonly eventTime: string;
  readonly region: string;
  readonly requestId?: string;
  /** The SQS message the event arrived in, when it came through a queue. */
  readonly messageId?: string;
}

/** Every event shape `s3ObjectCreatedConsumer` accepts. */
export type S3ConsumerEvent = SQSEvent | S3Event | EventBridgeEvent<string, unknown>;

/** Handler for S3 object events: a batch response when invoked by SQS, nothing otherwise. */
export type S3ConsumerHandler = (event: S3ConsumerEvent, context: Context) => Promise<SQSBatchResponse | void>;

/*
 * The outer shapes are read with our own lenient schemas rather than Powertools' S3 schemas:
 * those accept only an IPv4 source address, and an upload from an IPv6 client (dual-stack
 * endpoints) would make every such event a poison record.
 */
const NotificationRecordSchema = z.object({
  eventSource: z.literal('aws:s3'),
  awsRegion: z.string(),
  eventTime: z.string(),
  eventName: z.string(),
  responseElements: z.object({ 'x-amz-request-id': z.string().optional() }).optional(),
  s3: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({
      key: z.string(),
      size: z.number().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});
type NotificationRecord = z.infer<typeof NotificationRecordSchema>;

const EventBridgeObjectEventSchema = z.object({
  source: z.literal('aws.s3'),
  'detail-type': z.string(),
  time: z.string(),
  region: z.string(),
  detail: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({
      key: z.string(),
      size: z.number().optional(),
      etag: z.string().optional(),
      'version-id': z.string().optional(),
      sequencer: z.string().optional(),
    }),
    'request-id': z.string().optional(),
    reason: z.string().optional(),
  }),
});
type EventBridgeObjectEvent = z.infer<typeof EventBridgeObjectEventSchema>;

/** What S3 sends to a queue once when a notification configuration is saved. */
const TestEventSchema = z.object({ Event: z.literal('s3:TestEvent') });

type Items = readonly WorkItem<S3RecordMetadata>[];

/**
 * Turns one S3 event (any shape, or an SQS message body holding one) into work items, one per
 * object; events that are not object creations are reported to `ignore` and give none.
 */
function objectItems(event: unknown, runner: RecordRunner<S3RecordMetadata>, via?: SQSRecord): Items {
  const messageId = via ? { messageId: via.messageId } : {};
  const correlation = via ? [correlationAttribute(via)] : [];

  if (typeof event === 'object' && event !== null && 'Records' in event) {
    const records = Array.isArray(event.Records) ? event.Records : [];
    return records.flatMap((raw: unknown): Items => {
      const parsed = NotificationRecordSchema.safeParse(raw);
      if (!parsed.success) return [unreadable('notification', 'not an S3 event notification record', messageId)];
      const record = parsed.data;
      if (!record.eventName.startsWith('ObjectCreated:')) {
        runner.ignore('not an ObjectCreated event', { eventName: record.eventName, ...messageId });
        return [];
      }
      return [notificationItem(record, correlation, messageId)];
    });
  }
  if (TestEventSchema.safeParse(event).success) {
    runner.ignore('S3 test event', { ...messageId });
    return [];
  }
  const parsed = EventBridgeObjectEventSchema.safeParse(event);
  if (!parsed.success) return [unreadable('eventbridge', 'not an S3 event', messageId)];
  if (parsed.data['detail-type'] !== 'Object Created') {
    runner.ignore('not an Object Created event', { detailType: parsed.data['detail-type'], ...messageId });
    return [];
  }
  return [eventBridgeItem(parsed.data, correlation, messageId)];
}

function notificationItem(record: NotificationRecord, correlation: readonly unknown[], via: { messageId?: string }): WorkItem<S3RecordMetadata> {
  const { bucket, object } = record.s3;
  const requestId = record.responseElements?.['x-amz-request-id'];
  const key = formDecode(object.key);
  const metadata: S3RecordMetadata = {
    shape: 'notification',
    eventName: record.eventName,
    eventTime: record.eventTime,
    region: record.awsRegion,
    ...(requestId ? { requestId } : {}),
    ...via,
  };
  if (key === undefined) return { ...unreadable('notification', 'object key is not URL-encoded text', via), metadata };
  return objectItem({ bucket: bucket.name, key, size: object.size, etag: object.eTag, versionId: object.versionId, sequencer: object.sequencer }, [...correlation, requestId], metadata);
}

function eventBridgeItem(event: EventBridgeObjectEvent, correlation: readonly unknown[], via: { messageId?: string }): WorkItem<S3RecordMetadata> {
  const { bucket, object } = event.detail;
  const requestId = event.detail['request-id'];
  // Unlike notifications, EventBridge events carry the key as it is, not URL-encoded.
  return objectItem(
    { bucket: bucket.name, key: object.key, size: object.size, etag: object.etag, versionId: object['version-id'], sequencer: object.sequencer },
    [...correlation, requestId],
    {
      shape: 'eventbridge',
      eventName: event.detail.reason ?? event['detail-type'],
      eventTime: event.time,
      region: event.region,
      ...(requestId ? { requestId } : {}),
      ...via,
    },
  );
}

interface RawObject {
  readonly bucket: string;
  readonly key: string;
  readonly size: number | undefined;
  readonly etag: string | undefined;
  readonly versionId: string | undefined;
  readonly sequencer: string | undefined;
}

function objectItem(object: RawObject, correlationIds: readonly unknown[], metadata: S3RecordMetadata): WorkItem<S3RecordMetadata> {
  // The version this event is about: the version id in a versioned bucket, else the sequencer
  // (one per write, shared by every delivery of that write's event), else the content's etag.
  const version = object.versionId ?? object.sequencer ?? object.etag ?? '';
  const value = Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
  return { payload: { ok: true, value }, correlationIds, defaultKey: `${object.bucket}/${object.key}#${version}`, metadata };
}

function unreadable(shape: S3RecordMetadata['shape'], reason: string, via: { messageId?: string }): WorkItem<S3RecordMetadata> {
  const payload: RawPayload = { ok: false, reason };
  return { payload, correlationIds: [], defaultKey: '', metadata: { shape, eventName: 'unknown', eventTime: '', region: '', ...via } };
}

/** Notification keys are form-encoded (`red flower.jpg` arrives as `red+flower.jpg`). */
function formDecode(key: string): string | undefined {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function isSqsEvent(event: S3ConsumerEvent): event is SQSEvent {
  return 'Records' in event && (event.Records[0] as { eventSource?: string } | undefined)?.eventSource === 'aws:sqs';
}

/**
 * A consumer for S3 object creation, whichever way the event arrives:
 * - an EventBridge `Object Created` event (rule target, one per invocation);
 * - an S3 event notification (`Records[]`) invoking Lambda directly;
 * - an SQS batch whose bodies are either of those (S3 notifications to a queue, or a rule
 *   targeting a queue), answered with partial batch failures.
 * S3 test events and events that are not creations are logged and skipped.
 *
 * The payload `schema` validates is the object `{ bucket, key, size, etag, versionId?, sequencer? }`
 * (@default `S3ObjectSchema`; extend it to check key layout or size). The idempotency key is
 * bucket, key and version (version id, else sequencer, else etag); the correlation id is the
 * S3 request id of the upload, unless a queue message carries a `correlationId` attribute.
 *
 * Failure is reported as the source expects: failed SQS records in `batchItemFailures`, a thrown
 * error for direct invocations (async retries, then the on-failure destination).
 */
export function s3ObjectCreatedConsumer<S extends z.ZodType = typeof S3ObjectSchema>(
  options: Omit<ConsumerOptions<S, S3RecordMetadata>, 'schema'> & { readonly schema?: S },
): S3ConsumerHandler {
  const runner = recordRunner<S, S3RecordMetadata>({ ...options, schema: options.schema ?? (S3ObjectSchema as z.ZodType as S) });
  const batch = sqsBatch();
  return consumerHandler(async (event: S3ConsumerEvent, context: Context): Promise<SQSBatchResponse | void> => {
    runner.begin(context);
    if (isSqsEvent(event)) {
      return batch(event, context, async (record) => {
        const body = jsonPayload(record.body, 'message body');
        const items = body.ok ? objectItems(body.value, runner, record) : [unreadable('notification', body.reason, { messageId: record.messageId })];
        await runAll(runner, items);
      });
    }
    await runAll(runner, objectItems(event, runner));
  });
}
