import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { type ConsumerOptions, consumerHandler, pathOf, recordRunner, type WorkItem } from './runner';

/** Where an EventBridge event came from. */
export interface EventBridgeRecordMetadata {
  /** The producer's `metadata.eventId`, else EventBridge's own `id`. */
  readonly eventId: string;
  /** EventBridge's envelope `id`: new for every PutEvents, so a producer retry gets a new one. */
  readonly id: string;
  readonly source: string;
  readonly detailType: string;
  readonly time: string;
  readonly tenantId?: string;
  readonly occurredAt?: string;
}

/** An EventBridge rule-target handler. */
export type EventBridgeHandler = (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<void>;

/**
 * Envelope metadata read field by field: one bad field must not cost the others (a missing
 * eventId falls back to the event id; a malformed correlation id to a new one).
 */
const LooseMetadataSchema = z.object({
  eventId: z.string().min(1).optional().catch(undefined),
  correlationId: z.string().optional().catch(undefined),
  tenantId: z.string().min(1).optional().catch(undefined),
  occurredAt: z.string().optional().catch(undefined),
});

/**
 * Turns an EventBridge event into a work item. With the Switchyard envelope (`detail` is
 * `{ metadata, data }`) the payload is `detail.data`; any other event (from AWS services or
 * partners) gives its whole `detail`.
 */
export function eventBridgeWorkItem(event: unknown): WorkItem<EventBridgeRecordMetadata> {
  const outer = EventBridgeSchema.safeParse(event);
  if (!outer.success) {
    return {
      payload: { ok: false, reason: 'not an EventBridge event' },
      correlationIds: [],
      defaultKey: String(pathOf(event, 'id') ?? ''),
      metadata: {
        eventId: String(pathOf(event, 'id') ?? 'unknown'),
        id: String(pathOf(event, 'id') ?? 'unknown'),
        source: String(pathOf(event, 'source') ?? 'unknown'),
        detailType: String(pathOf(event, 'detail-type') ?? 'unknown'),
        time: String(pathOf(event, 'time') ?? ''),
      },
    };
  }
  const { id, source, time, detail } = outer.data;
  const enveloped = isEnvelope(detail);
  const metadata = enveloped ? LooseMetadataSchema.parse(detail.metadata) : undefined;
  const eventId = metadata?.eventId ?? id;
  return {
    payload: { ok: true, value: enveloped ? detail.data : detail },
    correlationIds: [metadata?.correlationId],
    defaultKey: eventId,
    metadata: {
      eventId,
      id,
      source,
      detailType: outer.data['detail-type'],
      time,
      ...(metadata?.tenantId ? { tenantId: metadata.tenantId } : {}),
      ...(metadata?.occurredAt ? { occurredAt: metadata.occurredAt } : {}),
    },
  };
}

function isEnvelope(detail: unknown): detail is { metadata: unknown; data: unknown } {
  const metadata = pathOf(detail, 'metadata');
  return typeof metadata === 'object' && metadata !== null && Object.hasOwn(detail as object, 'data');
}

/**
 * A consumer for a Lambda target of an EventBridge rule: one event per invocation. The payload
 * validated by `schema` is `detail.data` of a Switchyard event (else the whole `detail`); the
 * idempotency key is `detail.metadata.eventId`, else the event `id`, so the same fact published
 * twice runs once. Correlation id: `detail.metadata.correlationId`, else a new one.
 *
 * Failure, a schema failure included, is thrown: Lambda's async retries run, then the function's
 * on-failure destination or DLQ receives the event. Configure one on every consumer function, or
 * a failing event is dropped after the retries.
 */
export function eventBridgeConsumer<S extends z.ZodType>(options: ConsumerOptions<S, EventBridgeRecordMetadata>): EventBridgeHandler {
  const runner = recordRunner(options);
  return consumerHandler(async (event: EventBridgeEvent<string, unknown>, context: Context) => {
    runner.begin(context);
    await runner.run(eventBridgeWorkItem(event));
  });
}
