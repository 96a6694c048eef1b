import { createHash } from 'node:crypto';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { ENV, eventually, FakeFunction, FUNCTION_ARN, mappingModel, queueModel, sendAll, startScenario, type Scenario } from './support';

let scenario: Scenario | undefined;

afterEach(async () => {
  await scenario?.stop();
  scenario = undefined;
});

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

describe('the SQS event', () => {
  it('gives a FIFO record every system attribute, the message attributes in lower case, the MD5s and the source', async () => {
    // Prepare
    const jobs = queueModel('jobs.fifo');
    scenario = await startScenario({ queues: [jobs] });
    const fn = new FakeFunction();
    const mappings = scenario.startMappings([mappingModel(jobs)], fn);
    const body = '{"jobId":"j1"}';

    // Act
    const sent = await scenario.client.send(
      new SendMessageCommand({
        QueueUrl: jobs.url,
        MessageBody: body,
        MessageGroupId: 'tenant-a',
        MessageDeduplicationId: 'j1',
        MessageAttributes: {
          correlationId: { DataType: 'String', StringValue: 'req-1' },
          attempt: { DataType: 'Number', StringValue: '3' },
          thumbprint: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) },
        },
      }),
    );
    await mappings.idle();

    // Assess
    expect(fn.invocations).toHaveLength(1);
    expect(fn.invocations[0]!.target).toBe(FUNCTION_ARN);
    const record = fn.invocations[0]!.records[0]!;
    expect(record).toEqual({
      messageId: sent.MessageId,
      receiptHandle: expect.any(String),
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SequenceNumber: sent.SequenceNumber,
        MessageGroupId: 'tenant-a',
        SenderId: ENV.account,
        MessageDeduplicationId: 'j1',
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      },
      messageAttributes: {
        correlationId: { stringValue: 'req-1', stringListValues: [], binaryListValues: [], dataType: 'String' },
        attempt: { stringValue: '3', stringListValues: [], binaryListValues: [], dataType: 'Number' },
        thumbprint: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
      md5OfMessageAttributes: sent.MD5OfMessageAttributes,
      md5OfBody: md5(body),
      eventSource: 'aws:sqs',
      eventSourceARN: jobs.arn,
      awsRegion: ENV.region,
    });
  });

  it('gives a standard record no FIFO attributes and no attribute MD5 when it has no attributes', async () => {
    // Prepare
    const clicks = queueModel('clicks');
    scenario = await startScenario({ queues: [clicks] });
    const fn = new FakeFunction();
    const mappings = scenario.startMappings([mappingModel(clicks)], fn);

    // Act
    await scenario.client.send(new SendMessageCommand({ QueueUrl: clicks.url, MessageBody: 'click' }));
    await mappings.idle();

    // Assess
    const record = fn.invocations[0]!.records[0]!;
    expect(Object.keys(record.attributes)).toEqual(['ApproximateReceiveCount', 'SentTimestamp', 'SenderId', 'ApproximateFirstReceiveTimestamp']);
    expect(record.messageAttributes).toEqual({});
    expect(record).not.toHaveProperty('md5OfMessageAttributes');
    expect(record.eventSourceARN).toBe(clicks.arn);
  });
});

describe('batching', () => {
  it.each([10, 4])('never puts more than batchSize (%i) records in a batch, and fills batches from what is waiting', async (batchSize) => {
    // Prepare: 25 messages waiting before the mapping starts
    const clicks = queueModel('clicks');
    scenario = await startScenario({ queues: [clicks] });
    const bodies = Array.from({ length: 25 }, (_, index) => `click-${index}`);
    await sendAll(scenario.client, clicks, bodies);
    const fn = new FakeFunction();

    // Act
    const mappings = scenario.startMappings([mappingModel(clicks, { batchSize })], fn);
    await mappings.idle();

    // Assess
    const sizes = fn.invocations.map((invocation) => invocation.records.length);
    expect(Math.max(...sizes)).toBe(batchSize);
    expect(fn.bodies().sort()).toEqual([...bodies].sort());
  });

  it('with no batching window, delivers what one receive brings without waiting for a full batch', async () => {
    // Prepare
    const clicks = queueModel('clicks');
    scenario = await startScenario({ queues: [clicks] });
    const fn = new FakeFunction();
    const mappings = scenario.startMappings([mappingModel(clicks, { batchSize: 10, maximumBatchingWindowSeconds: 0 })], fn);

    // Act
    const sentAt = Date.now();
    await scenario.client.send(new SendMessageCommand({ QueueUrl: clicks.url, MessageBody: 'alone' }));
    await mappings.idle();

    // Assess
    expect(fn.invocations.map((invocation) => invocation.records.length)).toEqual([1]);
    expect(fn.invocations[0]!.startedAt - sentAt).toBeLessThan(1_000);
  });

  it('with a batching window, waits up to the window for more records and delivers them together', async () => {
    // Prepare: one poller (below Lambda's minimum of two), so the second message cannot go to another batch
    const clicks = queueModel('clicks');
    scenario = await startScenario({ queues: [clicks] });
    const fn = new FakeFunction();
    const mappings = scenario.startMappings([mappingModel(clicks, { batchSize: 10, maximumBatchingWindowSeconds: 2, maximumConcurrency: 1 })], fn);
    const client = scenario.client;
    const inFlight = async () =>
      Number((await client.send(new GetQueueAttributesCommand({ QueueUrl: clicks.url, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }))).Attributes?.ApproximateNumberOfMessagesNotVisible);

    // Act: the second message arrives after the poller has taken the first
    const sentAt = Date.now();
    await client.send(new SendMessageCommand({ QueueUrl: clicks.url, MessageBody: 'first' }));
    await eventually(async () => (await inFlight()) === 1, 'the poller to take the first message');
    await client.send(new SendMessageCommand({ QueueUrl: clicks.url, MessageBody: 'second' }));
    await mappings.idle();

    // Assess
    expect(fn.invocations.map((invocation) => invocation.records.map((record) => record.body))).toEqual([['first', 'second']]);
    expect(fn.invocations[0]!.startedAt - sentAt).toBeGreaterThanOrEqual(2_000);
  });

  it('delivers a batch as soon as it is full, before the batching window ends', async () => {
    // Prepare
    const clicks = queueModel('clicks');
    scenario = await startScenario({ queues: [clicks] });
    const fn = new FakeFunction();
    const mappings = scenario.startMappings([mappingModel(clicks, { batchSize: 3, maximumBatchingWindowSeconds: 30, maximumConcurrency: 1 })], fn);

    // Act
    const sentAt = Date.now();
    for (const body of ['a', 'b', 'c']) await scenario.client.send(new SendMessageCommand({ QueueUrl: clicks.url, MessageBody: body }));
    await mappings.idle();

    // Assess
    expect(fn.invocations.map((invocation) => invocation.records.map((record) => record.body))).toEqual([['a', 'b', 'c']]);
    expect(fn.invocations[0]!.startedAt - sentAt).toBeLessThan(5_000);
  });
});

describe('filter criteria', () => {
  it('deletes records no pattern matches without invoking; patterns see a JSON body parsed', async () => {
    // Prepare
    const orders = queueModel('orders');
    scenario = await startScenario({ queues: [orders] });
    const fn = new FakeFunction();
    const mappings = scenario.startMappings(
      [mappingModel(orders, { filterPatterns: [{ body: { kind: ['keep'] } }, { body: [{ prefix: 'urgent:' }] }] })],
      fn,
    );

    // Act
    await sendAll(scenario.client, orders, ['{"kind":"keep","n":1}', '{"kind":"drop","n":2}', 'keep', 'urgent: n3', '{"kind":"urgent:"}']);
    await mappings.idle();

    // Assess: idle means the queue is empty, so the others were deleted
    expect(fn.bodies().sort()).toEqual(['urgent: n3', '{"kind":"keep","n":1}']);
    expect(scenario.errors).toEqual([]);
  });

  it('does not poll with malformed filter criteria, and says why', async () => {
    // Prepare
    const orders = queueModel('orders');
    scenario = await startScenario({ queues: [orders] });
    const fn = new FakeFunction();

    // Act
    const mappings = scenario.startMappings([mappingModel(orders, { filterPatterns: [{ body: 'not a list' }] })], fn);
    await scenario.client.send(new SendMessageCommand({ QueueUrl: orders.url, MessageBody: 'x' }));
    await mappings.idle();

    // Assess: idle does not wait for a queue nobody polls
    expect(scenario.errors).toEqual([expect.stringContaining('filter criteria are not valid')]);
    expect(fn.invocations).toEqual([]);
  });
});

describe('lifecycle', () => {
  it('does not poll the queue of a disabled mapping', async () => {
    // Prepare
    const live = queueModel('live');
    const paused = queueModel('paused');
    scenario = await startScenario({ queues: [live, paused] });
    const fn = new FakeFunction();
    const mappings = scenario.startMappings([mappingModel(paused, { enabled: false }), mappingModel(live)], fn);

    // Act: the enabled mapping's delivery shows both mappings have had time to poll
    await scenario.client.send(new SendMessageCommand({ QueueUrl: paused.url, MessageBody: 'waiting' }));
    await scenario.client.send(new SendMessageCommand({ QueueUrl: live.url, MessageBody: 'delivered' }));
    await mappings.idle();
    const left = await scenario.client.send(new GetQueueAttributesCommand({ QueueUrl: paused.url, AttributeNames: ['ApproximateNumberOfMessages'] }));

    // Assess
    expect(fn.bodies()).toEqual(['delivered']);
    expect(left.Attributes?.ApproximateNumberOfMessages).toBe('1');
  });

  it('stops promptly, aborting its long polls, and leaves later messages in the queue', async () => {
    // Prepare: pollers waiting in long polls on an empty queue
    const clicks = queueModel('clicks');
    scenario = await startScenario({ queues: [clicks] });
    const fn = new FakeFunction();
    const mappings = scenario.startMappings([mappingModel(clicks)], fn);
    await mappings.idle();

    // Act
    const stoppingAt = Date.now();
    await mappings.stop();
    const stoppedIn = Date.now() - stoppingAt;
    await scenario.client.send(new SendMessageCommand({ QueueUrl: clicks.url, MessageBody: 'after stop' }));
    const received = await eventually(
      async () => (await scenario!.client.send(new ReceiveMessageCommand({ QueueUrl: clicks.url, WaitTimeSeconds: 1 }))).Messages?.[0],
      'the message to stay receivable',
      5_000,
    );

    // Assess
    expect(stoppedIn).toBeLessThan(1_000);
    expect(received.Body).toBe('after stop');
    expect(fn.invocations).toEqual([]);
  });
});
