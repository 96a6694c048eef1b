import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueModel } from '../../../local/model';
import { eventually, queueArn, queueModel, queueUrl, startScenario, type Scenario } from './support';

let scenario: Scenario | undefined;

afterEach(async () => {
  await scenario?.stop();
  scenario = undefined;
});

async function start(queues: readonly QueueModel[]): Promise<Scenario> {
  scenario = await startScenario({ queues });
  return scenario;
}

async function receive(client: SQSClient, name: string, options: { wait?: number; visibility?: number } = {}) {
  const answer = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl(name),
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: options.wait ?? 0,
      ...(options.visibility !== undefined ? { VisibilityTimeout: options.visibility } : {}),
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return answer.Messages ?? [];
}

async function countOf(client: SQSClient, name: string): Promise<number> {
  const answer = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl(name), AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(answer.Attributes?.ApproximateNumberOfMessages);
}

describe('queues from the model', () => {
  it('creates every queue with its attributes, its ARN and its redrive policy in the cloud account', async () => {
    // Prepare: the source is listed before its dead-letter queue, which must still come first
    const source = queueModel('jobs.fifo', {
      contentBasedDeduplication: true,
      visibilityTimeoutSeconds: 45,
      messageRetentionSeconds: 86_400,
      receiveWaitTimeSeconds: 5,
      deduplicationScope: 'messageGroup',
      fifoThroughputLimit: 'perMessageGroupId',
      redrive: { deadLetterArn: queueArn('jobs-dlq.fifo'), maxReceiveCount: 3 },
    });
    const { client } = await start([source, queueModel('jobs-dlq.fifo')]);

    // Act
    const answer = await client.send(new GetQueueAttributesCommand({ QueueUrl: source.url, AttributeNames: ['All'] }));

    // Assess
    expect(answer.Attributes).toMatchObject({
      QueueArn: source.arn,
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      VisibilityTimeout: '45',
      MessageRetentionPeriod: '86400',
      ReceiveMessageWaitTimeSeconds: '5',
      DelaySeconds: '0',
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
    expect(JSON.parse(answer.Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: queueArn('jobs-dlq.fifo'), maxReceiveCount: 3 });
  });

  it('answers GetQueueUrl, ListQueues and CreateQueue with URLs on the endpoint the client reached', async () => {
    // Prepare
    const { sqs, client } = await start([queueModel('orders')]);

    // Act
    const found = await client.send(new GetQueueUrlCommand({ QueueName: 'orders' }));
    const listed = await client.send(new ListQueuesCommand({}));
    const created = await client.send(new CreateQueueCommand({ QueueName: 'made-at-runtime' }));
    await client.send(new SendMessageCommand({ QueueUrl: created.QueueUrl, MessageBody: 'hello' }));
    const received = await receive(client, 'made-at-runtime');

    // Assess
    expect(found.QueueUrl).toBe(queueUrl('orders', sqs.endpoint));
    expect(listed.QueueUrls).toEqual([queueUrl('orders', sqs.endpoint)]);
    expect(created.QueueUrl).toBe(queueUrl('made-at-runtime', sqs.endpoint));
    expect(received.map((message) => message.Body)).toEqual(['hello']);
  });

  it("does not serve a queue of another account, by URL or by GetQueueUrl's owner", async () => {
    // Prepare
    const { client } = await start([queueModel('orders')]);

    // Act
    const byUrl = client.send(new SendMessageCommand({ QueueUrl: 'http://127.0.0.1:4566/999999999999/orders', MessageBody: 'x' }));
    const byOwner = client.send(new GetQueueUrlCommand({ QueueName: 'orders', QueueOwnerAWSAccountId: '999999999999' }));

    // Assess
    await expect(byUrl).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
    await expect(byOwner).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
  });
});

describe('FIFO deduplication', () => {
  it('takes a MessageDeduplicationId once within the deduplication interval, answering the first message id again', async () => {
    // Prepare
    const { client } = await start([queueModel('ledger.fifo')]);
    const send = (body: string) =>
      client.send(new SendMessageCommand({ QueueUrl: queueUrl('ledger.fifo'), MessageBody: body, MessageGroupId: 'g', MessageDeduplicationId: 'entry-1' }));

    // Act
    const first = await send('credit 10');
    const second = await send('credit 10, again');

    // Assess
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.SequenceNumber).toBe(first.SequenceNumber);
    expect((await receive(client, 'ledger.fifo')).map((message) => message.Body)).toEqual(['credit 10']);
  });

  it('deduplicates by body with content-based deduplication', async () => {
    // Prepare
    const { client } = await start([queueModel('ledger.fifo', { contentBasedDeduplication: true })]);
    const send = (body: string) => client.send(new SendMessageCommand({ QueueUrl: queueUrl('ledger.fifo'), MessageBody: body, MessageGroupId: 'g' }));

    // Act
    await send('a');
    await send('a');
    await send('b');

    // Assess
    expect(await countOf(client, 'ledger.fifo')).toBe(2);
  });
});

describe('visibility', () => {
  it('hides a received message until its visibility timeout, then delivers it again with its receive count', async () => {
    // Prepare
    const { client } = await start([queueModel('work', { visibilityTimeoutSeconds: 1 })]);
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl('work'), MessageBody: 'job' }));
    const [first] = await receive(client, 'work');

    // Act
    const whileInFlight = await receive(client, 'work');
    const again = await eventually(async () => (await receive(client, 'work', { wait: 1 }))[0], 'the message to come back');

    // Assess
    expect(first?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(whileInFlight).toEqual([]);
    expect(again.MessageId).toBe(first?.MessageId);
    expect(again.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(Number(again.Attributes?.ApproximateFirstReceiveTimestamp)).toBe(Number(first?.Attributes?.ApproximateFirstReceiveTimestamp));
  });

  it('ChangeMessageVisibility to 0 makes an in-flight message visible at once', async () => {
    // Prepare: a 30 s visibility timeout, which the test must not wait for
    const { client } = await start([queueModel('work')]);
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl('work'), MessageBody: 'job' }));
    const [first] = await receive(client, 'work');

    // Act
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl('work'), ReceiptHandle: first!.ReceiptHandle, VisibilityTimeout: 0 }));
    const again = await receive(client, 'work');

    // Assess
    expect(again.map((message) => message.MessageId)).toEqual([first!.MessageId]);
  });

  it('gives back the messages a long poll took after its client went away', async () => {
    // Prepare: a long poll that the client abandons
    const { client } = await start([queueModel('work')]);
    const gone = new AbortController();
    const abandoned = client
      .send(new ReceiveMessageCommand({ QueueUrl: queueUrl('work'), WaitTimeSeconds: 20 }), { abortSignal: gone.signal })
      .catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    gone.abort();
    await abandoned;

    // Act: the abandoned poll is still waiting inside SQS and takes this message
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl('work'), MessageBody: 'job' }));
    const received = await eventually(async () => (await receive(client, 'work', { wait: 1 }))[0], 'the message', 5_000);

    // Assess
    expect(received.Body).toBe('job');
  });
});

describe('dead-letter queues', () => {
  it('moves a message to the dead-letter queue, named by ARN, once it has been received maxReceiveCount times', async () => {
    // Prepare
    const { client } = await start([
      queueModel('work', { redrive: { deadLetterArn: queueArn('work-dlq'), maxReceiveCount: 2 } }),
      queueModel('work-dlq'),
    ]);
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl('work'), MessageBody: 'poison' }));

    // Act: receive twice without deleting, releasing the message each time
    for (let attempt = 0; attempt < 2; attempt++) {
      const [message] = await receive(client, 'work');
      await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl('work'), ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 0 }));
    }
    const third = await receive(client, 'work');
    const deadLettered = await receive(client, 'work-dlq');

    // Assess
    expect(third).toEqual([]);
    expect(deadLettered.map((message) => message.Body)).toEqual(['poison']);
  });
});

describe('PurgeQueue', () => {
  it('deletes every message of the queue', async () => {
    // Prepare
    const { client } = await start([queueModel('work')]);
    for (const body of ['a', 'b', 'c']) await client.send(new SendMessageCommand({ QueueUrl: queueUrl('work'), MessageBody: body }));

    // Act
    await client.send(new PurgeQueueCommand({ QueueUrl: queueUrl('work') }));

    // Assess
    expect(await countOf(client, 'work')).toBe(0);
  });
});

describe('message attributes', () => {
  it('keeps the body and message attributes byte for byte, so the SDK MD5 checks pass', async () => {
    // Prepare: a body that looks like what the translation rewrites
    const { client } = await start([queueModel('work')]);
    const body = JSON.stringify({ QueueUrl: 'http://sqs.eu-west-1.localhost/000000000000/work', arn: 'arn:aws:sqs:eu-west-1:000000000000:work', text: 'héllo ✓' });

    // Act
    const sent = await client.send(
      new SendMessageCommand({ QueueUrl: queueUrl('work'), MessageBody: body, MessageAttributes: { tier: { DataType: 'String', StringValue: 'gold' } } }),
    );
    const [message] = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl('work'), MessageAttributeNames: ['All'] })).then((a) => a.Messages ?? []);
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl('work'), ReceiptHandle: message!.ReceiptHandle }));

    // Assess
    expect(message?.Body).toBe(body);
    expect(message?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(message?.MessageAttributes).toEqual({ tier: { DataType: 'String', StringValue: 'gold' } });
    expect(await countOf(client, 'work')).toBe(0);
  });
});
