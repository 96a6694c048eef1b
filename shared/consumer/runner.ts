import { randomUUID } from 'node:crypto';
import { IdempotencyAlreadyInProgressError, IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { CORRELATION_HEADER, correlationIdFrom } from '../correlation';
import { logger, metrics, tracer } from '../powertools';
import { idempotencyTableStore } from './idempotency';

/**
 * The part every consumer shares, whatever the source: per record it sets the correlation id
 * on the logger, validates the payload, runs the domain function at most once per idempotency
 * key, and counts the outcome. Source adapters (`sqs.ts`, `eventbridge.ts`, `s3.ts`) only turn
 * their events into `WorkItem`s and decide what a failure does to the delivery.
 */

/** What a domain function receives besides the payload. */
export interface ConsumerContext<M> {
  /** From the producer when it sent one (see each adapter), else new. */
  readonly correlationId: string;
  /** Where the record came from: message id, event id, object version... */
  readonly metadata: M;
  /** The shared logger; it carries `correlationId` while the record runs. */
  readonly logger: Logger;
}

/** The domain function a consumer runs once per record. Its return value is not kept. */
export type RecordProcessor<T, M> = (payload: T, context: ConsumerContext<M>) => Promise<void> | void;

/** Options every consumer takes. */
export interface ConsumerOptions<S extends z.ZodType, M> {
  /**
   * Names the consumer in logs, in the `consumer` metric dimension and in idempotency keys, so
   * it must be unique in the app and stable across deploys (renaming it forgets what was done).
   */
  readonly name: string;
  /** Validates the payload; see each consumer for what the payload is. */
  readonly schema: S;
  readonly process: RecordProcessor<z.output<S>, M>;
  /**
   * The idempotency key of a record, when the source's default is not the business identity:
   * an SQS message id changes when the producer sends the same fact again, a job id does not.
   * @default per source: SQS message id, EventBridge `metadata.eventId` (else event id), S3 object version
   */
  readonly dedupKey?: (payload: z.output<S>, metadata: M) => string;
  /**
   * Runs instead of `process` for a record whose idempotency key is already done (a duplicate),
   * for a consumer that must repeat something idempotent then: the job worker says an ended
   * run's end again, in case saying it failed the first time.
   * @default nothing: a duplicate is only logged and counted
   */
  readonly onDuplicate?: RecordProcessor<z.output<S>, M>;
  /**
   * Where idempotency records live. Give each consumer its own instance, and never use it for
   * another idempotent function (the domain function included): nested idempotent calls on one
   * store share its first configuration and can collide.
   * @default the DynamoDB table named by `IDEMPOTENCY_TABLE_NAME`, read on the first record
   */
  readonly persistenceStore?: BasePersistenceLayer;
  /**
   * How long a completed record suppresses duplicates. It must outlast every way a record comes
   * back: SQS redelivery, EventBridge and Lambda async retries (up to 24 h and 6 h).
   * @default 86400 (24 hours)
   */
  readonly idempotencyTtlSeconds?: number;
}

/** The payload an adapter could read out of a record, or why it could not. */
export type RawPayload = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

/** One unit of work as an adapter hands it over: a message, an event, an S3 object. */
export interface WorkItem<M> {
  readonly payload: RawPayload;
  /** Correlation id candidates, best first; the first in the safe alphabet wins. */
  readonly correlationIds: readonly unknown[];
  /** The source's idempotency key, used unless the consumer gives `dedupKey`. */
  readonly defaultKey: string;
  readonly metadata: M;
}

/** One problem the schema found, without the offending value (payloads may hold personal data). */
export interface SchemaIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A record that can never succeed as it is: unreadable, or refused by the consumer's schema.
 *
 * It still fails through the normal path, so it ends in the source's dead-letter queue: for SQS,
 * reported in `batchItemFailures` until `maxReceiveCount` moves it to the queue's DLQ; for
 * EventBridge and S3 invoking Lambda directly, thrown, so Lambda's async retries run out and the
 * function's on-failure destination (or DLQ) receives the event. We never drop it: a record
 * refused by its schema is most often a producer deployed ahead of its consumer, and once the
 * consumer is fixed the DLQ can be redriven; a dropped event is gone. The cost, a few useless
 * retries (and, on a FIFO queue, a group held until the record moves to the DLQ), is bounded by
 * `maxReceiveCount` or the async retry count, and the `PoisonRecords` metric alarms earlier
 * than DLQ depth does.
 */
export class RecordSchemaError extends Error {
  constructor(
    readonly consumer: string,
    readonly issues: readonly SchemaIssue[],
  ) {
    super(`record refused by consumer ${consumer}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'RecordSchemaError';
  }
}

/** Runs work items for one consumer. */
export interface RecordRunner<M> {
  /** Once per invocation, before any record: idempotency learns the remaining time, metrics the consumer. */
  begin(context: Context): void;
  /** Processes one item; throws when it failed, so the adapter can report it. */
  run(item: WorkItem<M>): Promise<void>;
  /** Notes a record that is deliberately not processed (an S3 test event, a non-create event). */
  ignore(reason: string, details: Record<string, unknown>): void;
}

interface IdempotencyKeyPayload {
  readonly idempotencyKey: string;
}

const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/**
 * Builds the record runner of one consumer. Call it once, at module load, with the consumer's
 * options; the idempotency store is created on the first record.
 */
export function recordRunner<S extends z.ZodType, M>(options: ConsumerOptions<S, M>): RecordRunner<M> {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'idempotencyKey',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: options.idempotencyTtlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  });
  // Only the key object is hashed; the work travels as a second argument so the event itself
  // is never what idempotency hashes (and never mutated after it was).
  let runOnce: ((key: IdempotencyKeyPayload, work: () => Promise<void>) => Promise<void>) | undefined;
  const idempotent = () =>
    (runOnce ??= makeIdempotent(async (_key: IdempotencyKeyPayload, work: () => Promise<void>): Promise<void> => work(), {
      persistenceStore: options.persistenceStore ?? idempotencyTableStore(),
      config,
      keyPrefix: `consumer.${options.name}`,
    }));

  return {
    begin(context) {
      config.registerLambdaContext(context);
      metrics.addDimension('consumer', options.name);
    },

    async run(item) {
      const correlationId = correlationIdOf(item.correlationIds);
      logger.appendKeys({ correlationId });
      try {
        const payload = validate(options, item);
        const idempotencyKey = options.dedupKey ? options.dedupKey(payload, item.metadata) : item.defaultKey;
        let ran = false;
        await idempotent()({ idempotencyKey }, async () => {
          ran = true;
          await options.process(payload, { correlationId, metadata: item.metadata, logger });
        });
        if (ran) {
          metrics.addMetric('RecordsProcessed', MetricUnit.Count, 1);
        } else {
          metrics.addMetric('DuplicateRecords', MetricUnit.Count, 1);
          logger.info('Duplicate record skipped', { consumer: options.name, record: item.metadata });
          await options.onDuplicate?.(payload, { correlationId, metadata: item.metadata, logger });
        }
      } catch (error) {
        metrics.addMetric('RecordsFailed', MetricUnit.Count, 1);
        if (error instanceof IdempotencyAlreadyInProgressError) {
          // Another instance holds this record right now; ours comes back later and finds it done.
          logger.warn('Record already in progress elsewhere; it will be retried', { consumer: options.name, record: item.metadata });
        } else if (!(error instanceof RecordSchemaError)) {
          logger.error('Record processing failed', { consumer: options.name, record: item.metadata, error });
        }
        throw error;
      } finally {
        logger.removeKeys(['correlationId']);
      }
    },

    ignore(reason, details) {
      metrics.addMetric('RecordsIgnored', MetricUnit.Count, 1);
      logger.warn(`Record ignored: ${reason}`, { consumer: options.name, ...details });
    },
  };
}

/** Validates an item's payload; a failure is logged, counted and thrown as a `RecordSchemaError`. */
function validate<S extends z.ZodType, M>(options: ConsumerOptions<S, M>, item: WorkItem<M>): z.output<S> {
  const issues: SchemaIssue[] = [];
  if (item.payload.ok) {
    const parsed = options.schema.safeParse(item.payload.value);
    if (parsed.success) return parsed.data;
    issues.push(...parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })));
  } else {
    issues.push({ path: '', message: item.payload.reason });
  }
  metrics.addMetric('PoisonRecords', MetricUnit.Count, 1);
  logger.error('Record failed its schema; failing it so it reaches the dead-letter queue', {
    consumer: options.name,
    record: item.metadata,
    issues,
  });
  throw new RecordSchemaError(options.name, issues);
}

/** The first candidate in the safe alphabet of `shared/correlation`, else a new id. */
function correlationIdOf(candidates: readonly unknown[]): string {
  for (const candidate of candidates) {
    if (typeof candidate !== 'string') continue;
    const id = candidate.trim();
    // correlationIdFrom keeps a given id only when it is safe to echo; reuse that rule rather than copy it.
    if (id && correlationIdFrom({ [CORRELATION_HEADER]: id }) === id) return id;
  }
  return randomUUID();
}

/**
 * Wraps a consumer's core in the platform middleware: X-Ray segment, Lambda context on every log
 * line (temporary keys reset per invocation), and metrics flushed after every invocation, thrown
 * errors included, with a cold-start metric.
 */
export function consumerHandler<E, R>(core: (event: E, context: Context) => Promise<R>): (event: E, context: Context) => Promise<R> {
  return middy<E, R>()
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .handler(core);
}

/** Parses a JSON string into a `RawPayload`. */
export function jsonPayload(text: string, what: string): RawPayload {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: `${what} is not valid JSON` };
  }
}

/** Reads a nested property of an unknown value, or undefined. */
export function pathOf(value: unknown, ...path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * Runs every item of one delivery, each on its own, and throws when any failed: one error as it
 * is, several as an `AggregateError`. Items that succeeded are not redone when the delivery comes
 * back, because each has its own idempotency record.
 */
export async function runAll<M>(runner: RecordRunner<M>, items: readonly WorkItem<M>[]): Promise<void> {
  const errors: unknown[] = [];
  for (const item of items) {
    try {
      await runner.run(item);
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} of ${items.length} records failed`);
}
