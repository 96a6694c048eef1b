import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '#shared/errors';
import {
  type DomainEvent,
  EventPublishError,
  eventEnvelopeSchema,
  publishEvent,
  publishEvents,
  QueueMessageError,
  sendMessageInput,
} from '#shared/events';
import { z } from 'zod';

const client = new EventBridgeClient({ region: 'us-east-1' });
const eventBridge = mockClient(client);
const fast = { busName: 'switchyard-bus', baseDelayMs: 1 };

function clicked(n: number): DomainEvent<{ code: string; n: number }> {
  return { source: 'switchyard.links', detailType: 'LinkClicked', data: { code: 'abc123', n }, correlationId: 'req-7f3a2c', tenantId: 'tenant-a' };
}

/** The entries of every PutEvents call, in call order. */
function putCalls(): PutEventsRequestEntry[][] {
  return eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);
}

/** Answers each PutEvents call with success for every entry. */
function acceptAll() {
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
    FailedEntryCount: 0,
    Entries: input.Entries.map((_, i) => ({ EventId: `eb-${i}` })),
  }));
}

beforeEach(() => {
  eventBridge.reset();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('publishEvents', () => {
  it('puts the Switchyard envelope in detail, with a producer-set event id', async () => {
    // Prepare
    acceptAll();
    const occurredAt = new Date('2026-03-01T11:59:59.870Z');

    // Act
    const [eventId] = await publishEvents([{ ...clicked(1), occurredAt }], client, fast);

    // Assess
    const [entry] = putCalls()[0]!;
    expect(entry).toMatchObject({ EventBusName: 'switchyard-bus', Source: 'switchyard.links', DetailType: 'LinkClicked', Time: occurredAt });
    const detail = eventEnvelopeSchema(z.object({ code: z.string(), n: z.number() })).parse(JSON.parse(entry!.Detail!));
    expect(detail).toEqual({
      metadata: { correlationId: 'req-7f3a2c', tenantId: 'tenant-a', eventId, occurredAt: '2026-03-01T11:59:59.870Z' },
      data: { code: 'abc123', n: 1 },
    });
    expect(eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keeps an event id the caller chose, so a republished fact can be deduplicated', async () => {
    // Prepare
    acceptAll();

    // Act
    const eventId = await publishEvent({ ...clicked(1), eventId: 'job-42-completed' }, client, fast);

    // Assess
    expect(eventId).toBe('job-42-completed');
    expect(JSON.parse(putCalls()[0]![0]!.Detail!).metadata.eventId).toBe('job-42-completed');
  });

  it('splits events into PutEvents calls of at most 10, in order', async () => {
    // Prepare
    acceptAll();
    const events = Array.from({ length: 23 }, (_, n) => clicked(n));

    // Act
    const eventIds = await publishEvents(events, client, fast);

    // Assess
    const calls = putCalls();
    expect(calls.map((entries) => entries.length)).toEqual([10, 10, 3]);
    const sent = calls.flat().map((entry) => JSON.parse(entry.Detail!));
    expect(sent.map((d) => d.data.n)).toEqual(events.map((e) => e.data.n));
    expect(sent.map((d) => d.metadata.eventId)).toEqual(eventIds);
  });

  it('retries only the entries PutEvents refused, then succeeds', async () => {
    // Prepare
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'eb-0' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }, { EventId: 'eb-2' }] })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'eb-1' }] });

    // Act
    const eventIds = await publishEvents([clicked(0), clicked(1), clicked(2)], client, fast);

    // Assess
    const calls = putCalls();
    expect(calls).toHaveLength(2);
    expect(JSON.parse(calls[1]![0]!.Detail!).metadata.eventId).toBe(eventIds[1]);
    expect(calls[1]).toHaveLength(1);
  });

  it('throws an EventPublishError naming the entries still refused after maxAttempts', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => ({
      FailedEntryCount: 1,
      Entries: input.Entries.map((entry) =>
        JSON.parse(entry.Detail!).data.n === 1 ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' } : { EventId: 'eb' },
      ),
    }));

    // Act
    const publishing = publishEvents([clicked(0), clicked(1)], client, { ...fast, maxAttempts: 3 });

    // Assess
    const error = await publishing.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventPublishError);
    const { failures, publishedEventIds } = error as EventPublishError;
    expect(failures.map((f) => [f.errorCode, f.event.data])).toEqual([['InternalFailure', { code: 'abc123', n: 1 }]]);
    expect((error as Error).message).toContain(failures[0]!.eventId);
    expect(publishedEventIds).toHaveLength(1);
    expect(putCalls().map((entries) => entries.length)).toEqual([2, 1, 1]);
  });

  it('does not retry an entry refused for good, and still publishes the next batches', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      const entries = input.Entries.map((entry) =>
        JSON.parse(entry.Detail!).data.n === 0 ? { ErrorCode: 'MalformedDetail', ErrorMessage: 'bad JSON' } : { EventId: 'eb' },
      );
      return { FailedEntryCount: entries.filter((e) => 'ErrorCode' in e).length, Entries: entries };
    });
    const events = Array.from({ length: 12 }, (_, n) => clicked(n));

    // Act
    const publishing = publishEvents(events, client, fast);

    // Assess
    await expect(publishing).rejects.toMatchObject({ failures: [{ errorCode: 'MalformedDetail' }] });
    expect(putCalls().map((entries) => entries.length)).toEqual([10, 2]);
  });

  it('treats entries with no matching result as failed', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [] });

    // Act
    const publishing = publishEvent(clicked(0), client, { ...fast, maxAttempts: 2 });

    // Assess
    await expect(publishing).rejects.toMatchObject({ failures: [{ errorCode: 'Unknown' }] });
    expect(putCalls()).toHaveLength(2);
  });

  it('reads EVENT_BUS_NAME only when it publishes, and fails loudly without it', async () => {
    // Prepare
    acceptAll();
    vi.stubEnv('EVENT_BUS_NAME', undefined);

    // Act
    const withoutBus = publishEvent(clicked(0), client);

    // Assess
    await expect(withoutBus).rejects.toBeInstanceOf(ConfigurationError);
    expect(putCalls()).toHaveLength(0);
    vi.stubEnv('EVENT_BUS_NAME', 'switchyard-dev-bus');
    await publishEvent(clicked(0), client);
    expect(putCalls()[0]![0]!.EventBusName).toBe('switchyard-dev-bus');
  });

  it('hands on the X-Ray trace header of the invocation', async () => {
    // Prepare
    acceptAll();
    vi.stubEnv('_X_AMZN_TRACE_ID', 'Root=1-65f2a3b4-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1');

    // Act
    await publishEvent(clicked(0), client, fast);

    // Assess
    expect(putCalls()[0]![0]!.TraceHeader).toBe('Root=1-65f2a3b4-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1');
  });

  it('sends nothing for no events', async () => {
    // Act
    const eventIds = await publishEvents([], client, fast);

    // Assess
    expect(eventIds).toEqual([]);
    expect(putCalls()).toHaveLength(0);
  });
});

describe('sendMessageInput', () => {
  it('carries the correlation id as the correlationId attribute and the body as JSON', () => {
    // Act
    const input = sendMessageInput({
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/switchyard-clicks',
      body: { clickId: 'click-1', code: 'abc123' },
      correlationId: 'req-7f3a2c',
      attributes: { tenantId: { DataType: 'String', StringValue: 'tenant-a' } },
    });

    // Assess
    expect(input).toEqual({
      QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/switchyard-clicks',
      MessageBody: '{"clickId":"click-1","code":"abc123"}',
      MessageAttributes: {
        tenantId: { DataType: 'String', StringValue: 'tenant-a' },
        correlationId: { DataType: 'String', StringValue: 'req-7f3a2c' },
      },
    });
  });

  it('sets the group and deduplication ids for a FIFO queue', () => {
    // Act
    const input = sendMessageInput({
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/switchyard-jobs-high.fifo',
      body: { jobId: 'job-a1' },
      correlationId: 'req-1',
      groupId: 'tenant-a',
      deduplicationId: 'job-a1',
    });

    // Assess
    expect(input).toMatchObject({ MessageGroupId: 'tenant-a', MessageDeduplicationId: 'job-a1' });
    expect(input.MessageAttributes?.['correlationId']?.StringValue).toBe('req-1');
  });

  it('does not let a caller attribute replace the correlation id', () => {
    // Act
    const input = sendMessageInput({
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/switchyard-clicks',
      body: {},
      correlationId: 'req-real',
      attributes: { correlationId: { DataType: 'String', StringValue: 'req-stale' } },
    });

    // Assess
    expect(input.MessageAttributes?.['correlationId']?.StringValue).toBe('req-real');
  });

  it('refuses a FIFO message without a group, or with a per-message delay', () => {
    // Prepare
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/switchyard-jobs-high.fifo';

    // Act
    const withoutGroup = () => sendMessageInput({ queueUrl, body: {}, correlationId: 'req-1' });
    const delayed = () => sendMessageInput({ queueUrl, body: {}, correlationId: 'req-1', groupId: 'g', delaySeconds: 30 });

    // Assess
    expect(withoutGroup).toThrow(QueueMessageError);
    expect(delayed).toThrow(QueueMessageError);
  });
});
