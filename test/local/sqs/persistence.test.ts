import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { QueueModel } from '../../../local/model';
import { startSqs, type LocalSqs } from '../../../local/services/sqs/index';
import { ENV, eventually, queueModel, queueUrl, sendAll, sqsClient } from './support';

let dir: string;
let stateFile: string;
let running: { sqs: LocalSqs; client: SQSClient } | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-sqs-state-'));
  stateFile = join(dir, 'sqs.json');
});

afterEach(async () => {
  await stop();
  await rm(dir, { recursive: true, force: true });
});

/** Starts local SQS on the test's state file; warnings are collected in the returned array. */
async function start(queues: readonly QueueModel[]): Promise<{ client: SQSClient; warnings: string[] }> {
  const warnings: string[] = [];
  const sqs = await startSqs({ queues, env: ENV, stateFile, onWarning: (message) => warnings.push(message) });
  running = { sqs, client: sqsClient(sqs.endpoint) };
  return { client: running.client, warnings };
}

async function stop(): Promise<void> {
  if (!running) return;
  running.client.destroy();
  await running.sqs.stop();
  running = undefined;
}

async function restart(queues: readonly QueueModel[]) {
  await stop();
  return start(queues);
}

async function receive(client: SQSClient, name: string, options: { visibility?: number } = {}): Promise<Message[]> {
  const answer = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl(name),
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
      ...(options.visibility !== undefined ? { VisibilityTimeout: options.visibility } : {}),
    }),
  );
  return answer.Messages ?? [];
}

/** Receives twice: once given back at once (visibility 0), then kept in flight. */
async function receiveTwice(client: SQSClient, name: string): Promise<Message[]> {
  await receive(client, name, { visibility: 0 });
  return receive(client, name);
}

async function deleteAll(client: SQSClient, name: string, messages: readonly Message[]): Promise<void> {
  for (const message of messages) await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl(name), ReceiptHandle: message.ReceiptHandle }));
}

/** Receives and deletes until the queue is empty, one receive's bodies per entry. */
async function drain(client: SQSClient, name: string): Promise<string[][]> {
  const rounds: string[][] = [];
  for (;;) {
    const messages = await receive(client, name);
    if (messages.length === 0) return rounds;
    rounds.push(messages.map((message) => message.Body ?? ''));
    await deleteAll(client, name, messages);
  }
}

const byBody = (messages: readonly Message[]) => new Map(messages.map((message) => [message.Body, message]));

describe('SQS state across restarts', () => {
  it('brings back ready and in-flight messages of a standard queue with their ids, MD5s, attributes and receive counts', async () => {
    // Prepare: one message received twice and left in flight, one never received
    const jobs = queueModel('jobs');
    let { client } = await start([jobs]);
    const sentInFlight = await client.send(new SendMessageCommand({ QueueUrl: jobs.url, MessageBody: 'in-flight' }));
    const [twice] = await receiveTwice(client, 'jobs');
    const sentReady = await client.send(
      new SendMessageCommand({
        QueueUrl: jobs.url,
        MessageBody: 'ready',
        MessageAttributes: {
          tenant: { DataType: 'String', StringValue: 't-1' },
          attempt: { DataType: 'Number', StringValue: '7' },
          blob: { DataType: 'Binary', BinaryValue: Uint8Array.from([0, 1, 254, 255]) },
        },
      }),
    );

    // Act
    ({ client } = await restart([jobs]));
    const received = byBody(await receive(client, 'jobs'));

    // Assess: the SDK has checked both MD5s against the bodies and attributes it received
    expect([...received.keys()].sort()).toEqual(['in-flight', 'ready']);
    const ready = received.get('ready');
    expect(ready?.MessageId).toBe(sentReady.MessageId);
    expect(ready?.MD5OfMessageAttributes).toBe(sentReady.MD5OfMessageAttributes);
    expect(ready?.MessageAttributes).toEqual({
      tenant: { DataType: 'String', StringValue: 't-1' },
      attempt: { DataType: 'Number', StringValue: '7' },
      blob: { DataType: 'Binary', BinaryValue: Uint8Array.from([0, 1, 254, 255]) },
    });
    expect(ready?.Attributes?.ApproximateReceiveCount).toBe('1');
    const inFlight = received.get('in-flight');
    expect(inFlight?.MessageId).toBe(sentInFlight.MessageId);
    expect(inFlight?.MD5OfBody).toBe(sentInFlight.MD5OfMessageBody);
    expect(inFlight?.Attributes?.ApproximateReceiveCount).toBe('3');
    expect(inFlight?.Attributes?.SentTimestamp).toBe(twice?.Attributes?.SentTimestamp);
    expect(inFlight?.Attributes?.ApproximateFirstReceiveTimestamp).toBe(twice?.Attributes?.ApproximateFirstReceiveTimestamp);
  });

  it('keeps FIFO group order, group and deduplication ids, sequence numbers and receive counts', async () => {
    // Prepare: a1 and b1 received twice and in flight; a2, a3 and b2 ready behind them
    const orders = queueModel('orders.fifo');
    let { client } = await start([orders]);
    await sendAll(client, orders, ['a1', 'a2', 'a3', 'b1', 'b2']);
    const before = byBody(await receiveTwice(client, 'orders.fifo'));
    expect([...before.keys()].sort()).toEqual(['a1', 'b1']);

    // Act
    ({ client } = await restart([orders]));
    const first = byBody(await receive(client, 'orders.fifo'));
    await deleteAll(client, 'orders.fifo', [...first.values()]);
    const rest = await drain(client, 'orders.fifo');

    // Assess
    expect([...first.keys()].sort()).toEqual(['a1', 'b1']);
    for (const body of ['a1', 'b1']) {
      const message = first.get(body);
      expect(message?.MessageId).toBe(before.get(body)?.MessageId);
      expect(message?.Attributes).toMatchObject({
        ApproximateReceiveCount: '3',
        MessageGroupId: body.slice(0, 1),
        MessageDeduplicationId: body,
        SequenceNumber: before.get(body)?.Attributes?.SequenceNumber,
      });
    }
    const inGroup = (group: string) => rest.flat().filter((body) => body.startsWith(group));
    expect(inGroup('a')).toEqual(['a2', 'a3']);
    expect(inGroup('b')).toEqual(['b2']);
  });

  it('numbers messages sent to a FIFO queue after a restart after the kept ones', async () => {
    // Prepare
    const orders = queueModel('orders.fifo');
    let { client } = await start([orders]);
    await sendAll(client, orders, ['a1', 'a2']);
    ({ client } = await restart([orders]));

    // Act
    const sent = await client.send(new SendMessageCommand({ QueueUrl: orders.url, MessageBody: 'a3', MessageGroupId: 'a', MessageDeduplicationId: 'a3' }));
    const order = await drain(client, 'orders.fifo');

    // Assess
    expect(BigInt(sent.SequenceNumber ?? '0')).toBe(3n);
    expect(order.flat()).toEqual(['a1', 'a2', 'a3']);
  });

  it('keeps a delayed message delayed by what was left of its delay, in standard and FIFO queues', async () => {
    // Prepare: 2 s delays, and the cloud down for longer than half of that
    const jobs = queueModel('jobs');
    const slow = queueModel('slow.fifo', { delaySeconds: 2 });
    let { client } = await start([jobs, slow]);
    await client.send(new SendMessageCommand({ QueueUrl: jobs.url, MessageBody: 'later', DelaySeconds: 2 }));
    await sendAll(client, slow, ['s1', 's2']);
    await stop();
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    // Act
    ({ client } = await start([jobs, slow]));
    const restartedAt = Date.now();
    const atOnce = [...(await receive(client, 'jobs')), ...(await receive(client, 'slow.fifo'))];
    const later = await eventually(async () => (await receive(client, 'jobs'))[0], 'the delayed standard message');
    const laterAt = Date.now();
    const s1 = await eventually(async () => (await receive(client, 'slow.fifo'))[0], 'the first delayed FIFO message');
    await deleteAll(client, 'slow.fifo', [s1]);
    const s2 = await eventually(async () => (await receive(client, 'slow.fifo'))[0], 'the second delayed FIFO message');

    // Assess: a deadline kept on the wall clock would have passed 0.8 s after the restart
    expect(atOnce).toEqual([]);
    expect(later.Body).toBe('later');
    expect(laterAt - restartedAt).toBeGreaterThanOrEqual(1_500);
    expect([s1.Body, s2.Body]).toEqual(['s1', 's2']);
  });

  it('does not bring back messages deleted before the last stop', async () => {
    // Prepare: a first run leaves a message, a second consumes it
    const jobs = queueModel('jobs');
    let { client } = await start([jobs]);
    await client.send(new SendMessageCommand({ QueueUrl: jobs.url, MessageBody: 'once' }));
    ({ client } = await restart([jobs]));
    await deleteAll(client, 'jobs', await receive(client, 'jobs'));

    // Act
    ({ client } = await restart([jobs]));
    const received = await receive(client, 'jobs');

    // Assess
    expect(received).toEqual([]);
  });

  it('writes the state file whole, leaving no temporary file beside it', async () => {
    // Prepare
    const jobs = queueModel('jobs');
    const { client } = await start([jobs]);
    await client.send(new SendMessageCommand({ QueueUrl: jobs.url, MessageBody: 'kept' }));

    // Act
    await stop();

    // Assess
    expect(await readdir(dir)).toEqual(['sqs.json']);
  });

  it('starts with empty queues and a warning when the state file is corrupt', async () => {
    // Prepare
    const jobs = queueModel('jobs');
    await writeFile(stateFile, '{"version":1,"queues":{"jobs":{"messages":[{"body":');

    // Act
    const { client, warnings } = await start([jobs]);
    const received = await receive(client, 'jobs');

    // Assess
    expect(received).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining(`SQS state in ${stateFile} is not JSON`)]);
  });

  it('starts with empty queues and a warning when the state file is JSON of another shape', async () => {
    // Prepare
    const jobs = queueModel('jobs');
    await writeFile(stateFile, JSON.stringify({ version: 1, savedAt: 0, queues: { jobs: { sequenceCounter: 0, messages: [{ body: 'no id' }] } } }));

    // Act
    const { client, warnings } = await start([jobs]);
    const received = await receive(client, 'jobs');

    // Assess
    expect(received).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining('is not a snapshot this version reads')]);
  });

  it('skips with a warning the messages of a queue removed from the model, and restores the others', async () => {
    // Prepare
    const jobs = queueModel('jobs');
    const retired = queueModel('retired');
    let { client } = await start([jobs, retired]);
    await client.send(new SendMessageCommand({ QueueUrl: jobs.url, MessageBody: 'kept' }));
    await client.send(new SendMessageCommand({ QueueUrl: retired.url, MessageBody: 'dropped' }));

    // Act
    const next = await restart([jobs]);
    client = next.client;
    const received = await receive(client, 'jobs');

    // Assess
    expect(received.map((message) => message.Body)).toEqual(['kept']);
    expect(next.warnings).toEqual(['SQS state: queue retired is no longer in the model; its 1 saved message(s) are dropped']);
  });
});
