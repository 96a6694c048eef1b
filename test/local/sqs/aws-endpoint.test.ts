import { DeleteMessageCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { CallCounter, startAwsEndpoint, type AwsEndpoint } from '../../../local/aws/endpoint';
import { ENV, queueArn, queueModel, sqsClient, startScenario, type Scenario } from './support';

let scenario: Scenario | undefined;
let aws: AwsEndpoint | undefined;

afterEach(async () => {
  await aws?.close();
  await scenario?.stop();
  aws = undefined;
  scenario = undefined;
});

describe('SQS through the AWS endpoint', () => {
  it('serves SDK calls on the queue URLs of the AWS endpoint, and counts each one', async () => {
    // Prepare
    scenario = await startScenario({ queues: [queueModel('orders')] });
    const counter = new CallCounter();
    aws = await startAwsEndpoint({ port: 0, counter, upstreams: { sqs: scenario.sqs.endpoint } });
    const client = sqsClient(aws.url);

    // Act
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: 'orders' }));
    await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'order-1' }));
    const received = await client.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: received.Messages?.[0]?.ReceiptHandle }));
    const attributes = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'] }));
    client.destroy();

    // Assess
    expect(QueueUrl).toBe(`${aws.url}/${ENV.account}/orders`);
    expect(received.Messages?.map((message) => message.Body)).toEqual(['order-1']);
    expect(attributes.Attributes).toEqual({ QueueArn: queueArn('orders'), ApproximateNumberOfMessages: '0' });
    expect(counter.snapshot()).toEqual({
      sqs: { GetQueueUrl: 1, SendMessage: 1, ReceiveMessage: 1, DeleteMessage: 1, GetQueueAttributes: 1 },
    });
  });
});
