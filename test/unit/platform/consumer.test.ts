import { readFileSync } from 'node:fs';
import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import type { EventBridgeEvent, S3Event, SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

// Logger and Metrics pick their console when the shared singletons are built: in dev mode they
// write through the global console, which the tests capture. This must run before any import.
vi.hoisted(() => {
  process.env['POWERTOOLS_DEV'] = 'true';
  process.env['POWERTOOLS_SERVICE_NAME'] = 'consumer-test';
  process.env['POWERTOOLS_METRICS_NAMESPACE'] = 'SwitchyardTest';
  // Dev mode turns metrics off unless told otherwise; the tests read the EMF they flush.
  process.env['POWERTOOLS_METRICS_DISABLED'] = 'false';
  delete process.env['IDEMPOTENCY_TABLE_NAME'];
});

import { eventBridgeConsumer } from '#shared/consumer/eventbridge';
import { InMemoryPersistenceLayer } from '#shared/consumer/in-memory-persistence';
import { RecordSchemaError } from '#shared/consumer/runner';
import { S3ObjectSchema, s3ObjectCreatedConsumer } from '#shared/consumer/s3';
import { sqsConsumer } from '#shared/consumer/sqs';
import { lambdaContext } from '../../support/lambda-context';

const ClickSchema = z.object({ clickId: z.string().min(1), code: z.string().min(1) });
const JobSchema = z.object({ jobId: z.string(), kind: z.string() });
const LinkClickedSchema = z.object({ code: z.string(), clickedAt: z.iso.datetime() });

/** A fresh copy of a fixture, so a test may change it without touching the others. */
function fixture<T>(path: string): T {
  return JSON.parse(readFileSync(new URL(`../../events/${path}`, import.meta.url), 'utf8')) as T;
}

const consumerContext = (remainingMs = 30_000) => lambdaContext('switchyard-consumer-test', remainingMs);

type Line = Record<string, unknown>;
let output: Line[] = [];

/** Every JSON line written through the console: log entries and EMF metric blobs. */
beforeEach(() => {
  output = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      for (const arg of args) {
        if (typeof arg !== 'string') continue;
        try {
          output.push(JSON.parse(arg) as Line);
        } catch {
          // Powertools Batch writes plain-text warnings; only JSON lines matter here.
        }
      }
    });
  }
});

afterEach(() => {
  vi.unstubAllEnvs();
});

const logs = (message: string) => output.filter((l) => l['message'] === message);

/** The total of one metric across the EMF blobs flushed for one consumer. */
function metricTotal(name: string, consumer: string): number {
  return output
    .filter((l) => '_aws' in l && l['consumer'] === consumer && name in l)
    .flatMap((l) => [l[name]].flat() as number[])
    .reduce((sum, v) => sum + v, 0);
}

describe('sqsConsumer on a standard queue', () => {
  it('reports exactly the failed message ids and still runs the others', async () => {
    // Prepare
    const event = fixture<SQSEvent>('sqs/standard-batch.json');
    const process = vi.fn(async (click: z.infer<typeof ClickSchema>) => {
      if (click.clickId === 'click-2') throw new Error('downstream refused');
    });
    const handler = sqsConsumer({ name: 'clicks-partial', schema: ClickSchema, process, persistenceStore: new InMemoryPersistenceLayer() });

    // Act
    const response = await handler(event, consumerContext());

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '2e1424d4-f796-459a-8184-9c92662be6da' }]);
    expect(process.mock.calls.map(([click]) => click.clickId)).toEqual(['click-1', 'click-2', 'click-3']);
    expect(logs('Record processing failed')).toHaveLength(1);
  });

  it('runs a redelivered message once, and the redelivery succeeds', async () => {
    // Prepare
    const store = new InMemoryPersistenceLayer();
    const process = vi.fn();
    const handler = sqsConsumer({ name: 'clicks-redelivery', schema: ClickSchema, process, persistenceStore: store });
    const first = fixture<SQSEvent>('sqs/standard-batch.json');
    const redelivered = fixture<SQSEvent>('sqs/standard-batch.json');
    for (const record of redelivered.Records) record.attributes.ApproximateReceiveCount = '2';

    // Act
    await handler(first, consumerContext());
    const response = await handler(redelivered, consumerContext());

    // Assess
    expect(process).toHaveBeenCalledTimes(3);
    expect(response.batchItemFailures).toEqual([]);
    expect(store.records().map((r) => r.getStatus())).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    expect(metricTotal('DuplicateRecords', 'clicks-redelivery')).toBe(3);
  });

  it('hands a redelivered message to onDuplicate instead of process, and fails the record when onDuplicate fails', async () => {
    // Prepare
    const process = vi.fn();
    let duplicateFails = true;
    const onDuplicate = vi.fn(async (_click: { clickId: string }) => {
      if (duplicateFails) throw new Error('announcement failed');
    });
    const handler = sqsConsumer({ name: 'clicks-on-duplicate', schema: ClickSchema, process, onDuplicate, persistenceStore: new InMemoryPersistenceLayer() });
    const first = fixture<SQSEvent>('sqs/standard-batch.json');

    // Act
    await handler(first, consumerContext());
    const failing = await handler(fixture<SQSEvent>('sqs/standard-batch.json'), consumerContext()).then(
      () => 'succeeded',
      () => 'failed',
    );
    duplicateFails = false;
    const again = await handler(fixture<SQSEvent>('sqs/standard-batch.json'), consumerContext());

    // Assess
    expect(process).toHaveBeenCalledTimes(3);
    expect(failing).toBe('failed');
    expect(again.batchItemFailures).toEqual([]);
    expect(onDuplicate.mock.calls.map(([click]) => click.clickId)).toEqual(['click-1', 'click-2', 'click-3', 'click-1', 'click-2', 'click-3']);
  });

  it('runs a failed message again when it is redelivered', async () => {
    // Prepare
    const event = fixture<SQSEvent>('sqs/standard-batch.json');
    let outage = true;
    const process = vi.fn(async () => {
      if (outage) throw new Error('table unavailable');
    });
    const handler = sqsConsumer({ name: 'clicks-retry', schema: ClickSchema, process, persistenceStore: new InMemoryPersistenceLayer() });
    await expect(handler({ Records: [event.Records[0]!] }, consumerContext())).rejects.toBeInstanceOf(FullBatchFailureError);
    outage = false;

    // Act
    const response = await handler({ Records: [event.Records[0]!] }, consumerContext());

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(process).toHaveBeenCalledTimes(2);
  });

  it('keys on dedupKey when given, so the same fact sent twice runs once', async () => {
    // Prepare
    const event = fixture<SQSEvent>('sqs/standard-batch.json');
    const resent = structuredClone(event.Records[0]!);
    resent.messageId = 'f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9';
    const process = vi.fn();
    const handler = sqsConsumer({
      name: 'clicks-dedup',
      schema: ClickSchema,
      dedupKey: (click) => click.clickId,
      process,
      persistenceStore: new InMemoryPersistenceLayer(),
    });

    // Act
    const response = await handler({ Records: [event.Records[0]!, resent] }, consumerContext());

    // Assess
    expect(process).toHaveBeenCalledTimes(1);
    expect(response.batchItemFailures).toEqual([]);
  });

  it('reports a record that fails its schema as failed, so it reaches the DLQ, and logs why', async () => {
    // Prepare
    const event = fixture<SQSEvent>('sqs/standard-batch.json');
    event.Records[0]!.body = JSON.stringify({ clickId: 42, code: 'abc123' });
    event.Records[1]!.body = 'not json {';
    const store = new InMemoryPersistenceLayer();
    const process = vi.fn();
    const handler = sqsConsumer({ name: 'clicks-poison', schema: ClickSchema, process, persistenceStore: store });

    // Act
    const response = await handler(event, consumerContext());

    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([event.Records[0]!.messageId, event.Records[1]!.messageId]);
    expect(process.mock.calls.map(([click]) => click.clickId)).toEqual(['click-3']);
    const poisonLogs = logs('Record failed its schema; failing it so it reaches the dead-letter queue');
    expect(poisonLogs.map((l) => [l['level'], l['issues']])).toEqual([
      ['ERROR', [{ path: 'clickId', message: expect.stringContaining('string') }]],
      ['ERROR', [{ path: '', message: 'message body is not valid JSON' }]],
    ]);
    expect(metricTotal('PoisonRecords', 'clicks-poison')).toBe(2);
    expect(store.size).toBe(1);
  });

  it('hands the correlation id from the message attribute to the domain function and its log lines', async () => {
    // Prepare
    const event = fixture<SQSEvent>('sqs/standard-batch.json');
    const seen: string[] = [];
    const handler = sqsConsumer({
      name: 'clicks-correlation',
      schema: ClickSchema,
      persistenceStore: new InMemoryPersistenceLayer(),
      process: (click, { correlationId, logger, metadata }) => {
        seen.push(correlationId);
        logger.info('click recorded', { clickId: click.clickId, messageId: metadata.messageId });
      },
    });

    // Act
    await handler(event, consumerContext());

    // Assess
    expect(seen[0]).toBe('req-7f3a2c');
    expect(seen[1]).toBe('req-body-55');
    expect(seen[2]).toMatch(/^[0-9a-f-]{36}$/);
    expect(logs('click recorded').map((l) => [l['clickId'], l['correlationId']])).toEqual([
      ['click-1', 'req-7f3a2c'],
      ['click-2', 'req-body-55'],
      ['click-3', seen[2]],
    ]);
  });

  it('flushes processed and failed counts with the consumer as dimension', async () => {
    // Prepare
    const event = fixture<SQSEvent>('sqs/standard-batch.json');
    const process = vi.fn(async (click: z.infer<typeof ClickSchema>) => {
      if (click.code === 'zz9') throw new Error('unknown code');
    });
    const handler = sqsConsumer({ name: 'clicks-metrics', schema: ClickSchema, process, persistenceStore: new InMemoryPersistenceLayer() });

    // Act
    await handler(event, consumerContext());

    // Assess
    expect(metricTotal('RecordsProcessed', 'clicks-metrics')).toBe(2);
    expect(metricTotal('RecordsFailed', 'clicks-metrics')).toBe(1);
  });

  it('fails the invocation when every record fails, so Lambda counts the error', async () => {
    // Prepare
    const event = fixture<SQSEvent>('sqs/standard-batch.json');
    const handler = sqsConsumer({
      name: 'clicks-all-fail',
      schema: ClickSchema,
      process: () => Promise.reject(new Error('down')),
      persistenceStore: new InMemoryPersistenceLayer(),
    });

    // Act
    const invocation = handler(event, consumerContext());

    // Assess
    await expect(invocation).rejects.toBeInstanceOf(FullBatchFailureError);
    expect(metricTotal('RecordsFailed', 'clicks-all-fail')).toBe(3);
  });

  it('lets an in-progress record expire with the invocation, not after the idempotency TTL', async () => {
    // Prepare
    const event = fixture<SQSEvent>('sqs/standard-batch.json');
    const store = new InMemoryPersistenceLayer();
    let inProgress: { status: string; expiresInMs: number } | undefined;
    const handler = sqsConsumer({
      name: 'clicks-in-progress',
      schema: ClickSchema,
      persistenceStore: store,
      process: () => {
        const [record] = store.records();
        inProgress = { status: record!.getStatus(), expiresInMs: (record!.inProgressExpiryTimestamp ?? 0) - Date.now() };
      },
    });

    // Act
    await handler({ Records: [event.Records[0]!] }, consumerContext(12_000));

    // Assess
    expect(inProgress?.status).toBe('INPROGRESS');
    expect(inProgress?.expiresInMs).toBeGreaterThan(11_000);
    expect(inProgress?.expiresInMs).toBeLessThanOrEqual(12_000);
  });

  it('reads IDEMPOTENCY_TABLE_NAME only when no store is given, and fails loudly without it', async () => {
    // Prepare
    const event = fixture<SQSEvent>('sqs/standard-batch.json');
    const process = vi.fn();
    const handler = sqsConsumer({ name: 'clicks-no-table', schema: ClickSchema, process });

    // Act
    const invocation = handler({ Records: [event.Records[0]!] }, consumerContext());

    // Assess
    await expect(invocation).rejects.toBeInstanceOf(FullBatchFailureError);
    expect(logs('Record processing failed')[0]?.['error']).toMatchObject({ name: 'ConfigurationError' });
    expect(process).not.toHaveBeenCalled();
  });
});

describe('sqsConsumer on a FIFO queue', () => {
  it('fails the rest of a failed message group only; other groups proceed', async () => {
    // Prepare
    const event = fixture<SQSEvent>('sqs/fifo-batch.json');
    const process = vi.fn(async (job: z.infer<typeof JobSchema>) => {
      if (job.jobId === 'job-a2') throw new Error('renderer crashed');
    });
    const handler = sqsConsumer({ name: 'jobs-fifo', schema: JobSchema, process, persistenceStore: new InMemoryPersistenceLayer() });

    // Act
    const response = await handler(event, consumerContext());

    // Assess
    const idOf = (jobId: string) => event.Records.find((r) => r.body.includes(jobId))!.messageId;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: idOf('job-a2') }, { itemIdentifier: idOf('job-a3') }]);
    expect(process.mock.calls.map(([job]) => job.jobId)).toEqual(['job-a1', 'job-b1', 'job-a2', 'job-b2']);
  });

  it('hands each message its group in the metadata', async () => {
    // Prepare
    const event = fixture<SQSEvent>('sqs/fifo-batch.json');
    const groups: (string | undefined)[] = [];
    const handler = sqsConsumer({
      name: 'jobs-fifo-metadata',
      schema: JobSchema,
      persistenceStore: new InMemoryPersistenceLayer(),
      process: (_job, { metadata }) => {
        groups.push(metadata.messageGroupId);
      },
    });

    // Act
    await handler(event, consumerContext());

    // Assess
    expect(groups).toEqual(['tenant-a', 'tenant-b', 'tenant-a', 'tenant-b', 'tenant-a']);
  });
});

describe('eventBridgeConsumer', () => {
  it('validates detail.data and hands over the envelope metadata and correlation id', async () => {
    // Prepare
    const event = fixture<EventBridgeEvent<string, unknown>>('eventbridge/link-clicked.json');
    const process = vi.fn();
    const handler = eventBridgeConsumer({ name: 'link-clicked', schema: LinkClickedSchema, process, persistenceStore: new InMemoryPersistenceLayer() });

    // Act
    await handler(event, consumerContext());

    // Assess
    expect(process).toHaveBeenCalledWith(
      { code: 'abc123', clickedAt: '2026-03-01T11:59:59.850Z' },
      expect.objectContaining({
        correlationId: 'req-9b1c4e',
        metadata: expect.objectContaining({ eventId: '0b7f3a52-9c1d-4e8f-a6b2-5d4c3e2f1a09', tenantId: 'tenant-a', detailType: 'LinkClicked' }),
      }),
    );
  });

  it('runs the same fact published twice (same eventId, new envelope id) once', async () => {
    // Prepare
    const first = fixture<EventBridgeEvent<string, unknown>>('eventbridge/link-clicked.json');
    const republished = { ...fixture<EventBridgeEvent<string, unknown>>('eventbridge/link-clicked.json'), id: '9d3c1b2a-7e6f-4a5b-8c9d-0e1f2a3b4c5d' };
    const process = vi.fn();
    const handler = eventBridgeConsumer({ name: 'link-clicked-dedup', schema: LinkClickedSchema, process, persistenceStore: new InMemoryPersistenceLayer() });

    // Act
    await handler(first, consumerContext());
    const second = handler(republished, consumerContext());

    // Assess
    await expect(second).resolves.toBeUndefined();
    expect(process).toHaveBeenCalledTimes(1);
  });

  it('keys an event without Switchyard metadata on its envelope id', async () => {
    // Prepare
    const event = fixture<EventBridgeEvent<string, unknown>>('eventbridge/link-clicked.json');
    const foreign = { ...event, detail: { code: 'abc123', clickedAt: '2026-03-01T11:59:59.850Z' } };
    const process = vi.fn();
    const handler = eventBridgeConsumer({ name: 'link-clicked-foreign', schema: LinkClickedSchema, process, persistenceStore: new InMemoryPersistenceLayer() });

    // Act
    await handler(foreign, consumerContext());
    await handler(foreign, consumerContext());
    await handler({ ...foreign, id: 'another-delivery-id' }, consumerContext());

    // Assess
    expect(process).toHaveBeenCalledTimes(2);
    expect(process.mock.calls.map(([, context]) => context.metadata.eventId)).toEqual([event.id, 'another-delivery-id']);
  });

  it('throws a record that fails its schema, for Lambda async retries and the DLQ', async () => {
    // Prepare
    const event = fixture<EventBridgeEvent<string, { data: Record<string, unknown> }>>('eventbridge/link-clicked.json');
    event.detail.data['clickedAt'] = 'yesterday';
    const process = vi.fn();
    const handler = eventBridgeConsumer({ name: 'link-clicked-poison', schema: LinkClickedSchema, process, persistenceStore: new InMemoryPersistenceLayer() });

    // Act
    const invocation = handler(event, consumerContext());

    // Assess
    await expect(invocation).rejects.toBeInstanceOf(RecordSchemaError);
    expect(process).not.toHaveBeenCalled();
    expect(logs('Record failed its schema; failing it so it reaches the dead-letter queue')[0]).toMatchObject({
      level: 'ERROR',
      correlationId: 'req-9b1c4e',
      issues: [{ path: 'clickedAt' }],
    });
  });

  it('throws when the domain function fails, and runs the event again on the retry', async () => {
    // Prepare
    const event = fixture<EventBridgeEvent<string, unknown>>('eventbridge/link-clicked.json');
    const process = vi.fn().mockRejectedValueOnce(new Error('throttled')).mockResolvedValueOnce(undefined);
    const handler = eventBridgeConsumer({ name: 'link-clicked-retry', schema: LinkClickedSchema, process, persistenceStore: new InMemoryPersistenceLayer() });
    await expect(handler(event, consumerContext())).rejects.toThrow('throttled');

    // Act
    await handler(event, consumerContext());

    // Assess
    expect(process).toHaveBeenCalledTimes(2);
  });
});

describe('s3ObjectCreatedConsumer', () => {
  it('reads an EventBridge Object Created event (an IPv6 uploader included)', async () => {
    // Prepare
    const event = fixture<EventBridgeEvent<string, unknown>>('s3/eventbridge-object-created.json');
    const process = vi.fn();
    const handler = s3ObjectCreatedConsumer({ name: 'uploads-eb', process, persistenceStore: new InMemoryPersistenceLayer() });

    // Act
    const result = await handler(event, consumerContext());

    // Assess
    expect(result).toBeUndefined();
    expect(process).toHaveBeenCalledWith(
      {
        bucket: 'switchyard-uploads',
        key: 'tenant-a/uploads/7c1e/holiday photo.jpg',
        size: 524288,
        etag: 'b1946ac92492d2347c6235b4d2611184',
        sequencer: '00617F08299329D189',
      },
      expect.objectContaining({
        correlationId: 'N4N7GDK58NMKJ12R',
        metadata: expect.objectContaining({ shape: 'eventbridge', eventName: 'PutObject' }),
      }),
    );
  });

  it('reads an S3 notification and decodes its form-encoded key', async () => {
    // Prepare
    const event = fixture<S3Event>('s3/notification.json');
    const process = vi.fn();
    const handler = s3ObjectCreatedConsumer({ name: 'uploads-notification', process, persistenceStore: new InMemoryPersistenceLayer() });

    // Act
    await handler(event, consumerContext());

    // Assess
    expect(process).toHaveBeenCalledWith(
      expect.objectContaining({ bucket: 'switchyard-uploads', key: 'tenant-a/uploads/9d2f/red flower(1).png', size: 1024 }),
      expect.objectContaining({ correlationId: 'C3D13FE58DE4C810', metadata: expect.objectContaining({ shape: 'notification', eventName: 'ObjectCreated:Put' }) }),
    );
  });

  it('reads notifications through SQS, skips the S3 test event, and answers with a batch response', async () => {
    // Prepare
    const event = fixture<SQSEvent>('s3/sqs-notification.json');
    const process = vi.fn();
    const handler = s3ObjectCreatedConsumer({ name: 'uploads-sqs', process, persistenceStore: new InMemoryPersistenceLayer() });

    // Act
    const response = await handler(event, consumerContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(process).toHaveBeenCalledTimes(1);
    expect(process.mock.calls[0]![1].metadata).toMatchObject({ messageId: event.Records[0]!.messageId, requestId: 'C3D13FE58DE4C810' });
    expect(metricTotal('RecordsIgnored', 'uploads-sqs')).toBe(1);
  });

  it('takes the correlation id of one record off the logger before the next', async () => {
    // Prepare
    const event = fixture<SQSEvent>('s3/sqs-notification.json');
    const handler = s3ObjectCreatedConsumer({ name: 'uploads-correlation', process: vi.fn(), persistenceStore: new InMemoryPersistenceLayer() });

    // Act
    await handler(event, consumerContext());

    // Assess
    const ignored = logs('Record ignored: S3 test event');
    expect(ignored).toHaveLength(1);
    expect(ignored[0]).not.toHaveProperty('correlationId');
  });

  it('reports the SQS message of an object that fails the consumer schema', async () => {
    // Prepare
    const event = fixture<SQSEvent>('s3/sqs-notification.json');
    const process = vi.fn();
    const handler = s3ObjectCreatedConsumer({
      name: 'uploads-too-large',
      schema: S3ObjectSchema.extend({ size: z.number().max(512) }),
      process,
      persistenceStore: new InMemoryPersistenceLayer(),
    });

    // Act
    const response = await handler(event, consumerContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] });
    expect(process).not.toHaveBeenCalled();
  });

  it('runs an upload once when its event is delivered twice', async () => {
    // Prepare
    const process = vi.fn();
    const handler = s3ObjectCreatedConsumer({ name: 'uploads-dedup', process, persistenceStore: new InMemoryPersistenceLayer() });
    const overwrite = fixture<S3Event>('s3/notification.json');
    overwrite.Records[0]!.s3.object.sequencer = '0055AED6DCD90281F0';

    // Act
    await handler(fixture<S3Event>('s3/notification.json'), consumerContext());
    await handler(fixture<S3Event>('s3/notification.json'), consumerContext());
    await handler(overwrite, consumerContext());

    // Assess
    expect(process).toHaveBeenCalledTimes(2);
  });
});
