import { gzipSync } from 'node:zlib';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

vi.hoisted(() => {
  process.env['POWERTOOLS_SERVICE_NAME'] = 'logs-consumer-test';
  process.env['POWERTOOLS_LOG_LEVEL'] = 'SILENT';
  process.env['POWERTOOLS_METRICS_DISABLED'] = 'true';
  delete process.env['IDEMPOTENCY_TABLE_NAME'];
});

import { InMemoryPersistenceLayer } from '#shared/consumer/in-memory-persistence';
import { decodeLogsEvent, logsConsumer, type LogRecordMetadata } from '#shared/consumer/logs';
import { RecordSchemaError, type ConsumerContext } from '#shared/consumer/runner';
import { lambdaContext } from '../../support/lambda-context';

const context = lambdaContext('switchyard-logs-consumer');
const LOG_GROUP = '/aws/lambda/switchyard-dev-FollowLink';
const LOG_STREAM = '2026/11/23/[$LATEST]0123456789abcdef';
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

const EventSchema = z.object({ id: z.string().min(1), n: z.number().int() });
type Event = z.infer<typeof EventSchema>;

/** One log event of a delivery: its CloudWatch Logs id and its message (a string, or JSON of an object). */
type Line = readonly [id: string, message: string | object];

/** A subscription delivery as Lambda receives it: `awslogs.data` is base64 of gzipped JSON. */
function delivery(lines: readonly Line[], messageType: 'DATA_MESSAGE' | 'CONTROL_MESSAGE' = 'DATA_MESSAGE'): CloudWatchLogsEvent {
  const data = {
    messageType,
    owner: '123456789012',
    logGroup: LOG_GROUP,
    logStream: LOG_STREAM,
    subscriptionFilters: ['switchyard-dev-Clicks'],
    logEvents: lines.map(([id, message], i) => ({ id, timestamp: T0 + i, message: typeof message === 'string' ? message : JSON.stringify(message) })),
  };
  return { awslogs: { data: gzipSync(Buffer.from(JSON.stringify(data))).toString('base64') } };
}

/** A consumer on a store of its own, recording what it processed. */
function consumer(options: { dedupKey?: (event: Event) => string; fail?: (event: Event) => boolean } = {}) {
  const store = new InMemoryPersistenceLayer();
  const process = vi.fn(async (event: Event, _context: ConsumerContext<LogRecordMetadata>) => {
    if (options.fail?.(event)) throw new Error(`downstream refused ${event.id}`);
  });
  const handler = logsConsumer({ name: `logs-test-${Math.random()}`, schema: EventSchema, process, persistenceStore: store, ...(options.dedupKey ? { dedupKey: options.dedupKey } : {}) });
  return { store, process, handler, processed: () => process.mock.calls.map(([event]) => event.id) };
}

describe('decodeLogsEvent', () => {
  it('reads a delivery: base64 of gzipped JSON', () => {
    // Prepare
    const event = delivery([['1', { id: 'a', n: 1 }]]);

    // Act
    const data = decodeLogsEvent(event);

    // Assess
    expect(data).toMatchObject({ messageType: 'DATA_MESSAGE', logGroup: LOG_GROUP, logStream: LOG_STREAM, logEvents: [{ id: '1', timestamp: T0, message: '{"id":"a","n":1}' }] });
  });

  it('refuses data that is not gzipped, or holds no log events', () => {
    // Prepare
    const plain = { awslogs: { data: Buffer.from('{"logEvents":[]}').toString('base64') } };
    const empty = { awslogs: { data: gzipSync(Buffer.from('{"messageType":"DATA_MESSAGE"}')).toString('base64') } };

    // Act
    const decodePlain = () => decodeLogsEvent(plain);
    const decodeEmpty = () => decodeLogsEvent(empty);

    // Assess
    expect(decodePlain).toThrow();
    expect(decodeEmpty).toThrow('awslogs.data holds no logEvents');
  });
});

describe('logsConsumer', () => {
  it('processes each line of a delivery, parsed and validated, with where it came from', async () => {
    // Prepare
    const { handler, process } = consumer();

    // Act
    await handler(delivery([['e-1', { id: 'a', n: 1 }], ['e-2', { id: 'b', n: 2 }]]), context);

    // Assess
    expect(process.mock.calls.map(([event, ctx]) => [event, ctx.metadata])).toEqual([
      [{ id: 'a', n: 1 }, { eventId: 'e-1', logGroup: LOG_GROUP, logStream: LOG_STREAM, timestamp: T0 }],
      [{ id: 'b', n: 2 }, { eventId: 'e-2', logGroup: LOG_GROUP, logStream: LOG_STREAM, timestamp: T0 + 1 }],
    ]);
  });

  it("carries the line's correlationId into the record's context when it is safe, else makes one", async () => {
    // Prepare
    const { handler, process } = consumer();

    // Act
    await handler(
      delivery([
        ['e-1', { id: 'a', n: 1, correlationId: 'corr-1' }],
        ['e-2', { id: 'b', n: 2, correlationId: 'not safe\n' }],
      ]),
      context,
    );

    // Assess
    const [first, second] = process.mock.calls.map(([, ctx]) => ctx.correlationId);
    expect(first).toBe('corr-1');
    expect(second).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('runs each log event once: a delivery that comes again is skipped', async () => {
    // Prepare
    const { handler, processed, store } = consumer();
    const event = delivery([['e-1', { id: 'a', n: 1 }], ['e-2', { id: 'b', n: 2 }]]);
    await handler(event, context);

    // Act
    await handler(event, context);

    // Assess
    expect(processed()).toEqual(['a', 'b']);
    expect(store.records().map((record) => record.getStatus())).toEqual(['COMPLETED', 'COMPLETED']);
  });

  it('keys on dedupKey when given: the same fact under another log event id runs once', async () => {
    // Prepare
    const { handler, processed } = consumer({ dedupKey: (event) => event.id });
    await handler(delivery([['e-1', { id: 'a', n: 1 }]]), context);

    // Act
    await handler(delivery([['e-9', { id: 'a', n: 1 }], ['e-10', { id: 'c', n: 3 }]]), context);

    // Assess
    expect(processed()).toEqual(['a', 'c']);
  });

  it('ignores a control message', async () => {
    // Prepare
    const { handler, process, store } = consumer();

    // Act
    await handler(delivery([['', 'CWL CONTROL MESSAGE: Checking health of destination Lambda.']], 'CONTROL_MESSAGE'), context);

    // Assess
    expect(process).not.toHaveBeenCalled();
    expect(store.size).toBe(0);
  });

  it('throws a RecordSchemaError for a line its schema refuses, after running the other lines', async () => {
    // Prepare
    const { handler, processed } = consumer();

    // Act
    const result = handler(delivery([['e-1', { id: 'a', n: 1 }], ['e-2', { id: 'b', n: 'two' }], ['e-3', { id: 'c', n: 3 }]]), context);

    // Assess
    await expect(result).rejects.toBeInstanceOf(RecordSchemaError);
    await expect(result).rejects.toMatchObject({ issues: [{ path: 'n', message: expect.any(String) }] });
    expect(processed()).toEqual(['a', 'c']);
  });

  it('throws for a line that is not JSON', async () => {
    // Prepare
    const { handler, processed } = consumer();

    // Act
    const result = handler(delivery([['e-1', 'REPORT RequestId: 0f5d3c2e Duration: 2.1 ms'], ['e-2', { id: 'b', n: 2 }]]), context);

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'RecordSchemaError', issues: [{ path: '', message: 'log line is not valid JSON' }] });
    expect(processed()).toEqual(['b']);
  });

  it('throws every failure at once, and on the retry runs only the lines that failed', async () => {
    // Prepare: the downstream refuses `a` and `c` once.
    let outage = true;
    const { handler, processed } = consumer({ fail: (event) => outage && event.id !== 'b' });
    const event = delivery([['e-1', { id: 'a', n: 1 }], ['e-2', { id: 'b', n: 2 }], ['e-3', { id: 'c', n: 3 }]]);
    const first = await handler(event, context).catch((error: unknown) => error);
    outage = false;

    // Act
    await handler(event, context);

    // Assess
    expect(first).toBeInstanceOf(AggregateError);
    expect((first as AggregateError).errors).toHaveLength(2);
    expect(processed()).toEqual(['a', 'b', 'c', 'a', 'c']);
  });
});
