import { describe, expect, it } from 'vitest';
import { createQueueRequests } from '../../../local/services/sqs/provision';
import { queueArn, queueModel } from './support';

describe('CreateQueue requests', () => {
  it('creates every dead-letter queue before the queues that redrive to it, along a chain', () => {
    // Prepare
    const queues = [
      queueModel('orders', { redrive: { deadLetterArn: queueArn('orders-retry'), maxReceiveCount: 3 } }),
      queueModel('orders-retry', { redrive: { deadLetterArn: queueArn('orders-dlq'), maxReceiveCount: 5 } }),
      queueModel('orders-dlq'),
      queueModel('unrelated'),
    ];

    // Act
    const names = createQueueRequests(queues).map((request) => request.QueueName);

    // Assess
    expect(names).toEqual(['orders-dlq', 'orders-retry', 'orders', 'unrelated']);
  });

  it('names FIFO settings only for FIFO queues, and the redrive policy with the dead-letter ARN', () => {
    // Prepare
    const queues = [
      queueModel('jobs.fifo', { contentBasedDeduplication: true, deduplicationScope: 'messageGroup', fifoThroughputLimit: 'perMessageGroupId' }),
      queueModel('clicks', { delaySeconds: 5, redrive: { deadLetterArn: queueArn('clicks-dlq'), maxReceiveCount: 4 } }),
    ];

    // Act
    const [fifo, standard] = createQueueRequests(queues);

    // Assess
    expect(fifo?.Attributes).toEqual({
      VisibilityTimeout: '30',
      MessageRetentionPeriod: '345600',
      DelaySeconds: '0',
      ReceiveMessageWaitTimeSeconds: '0',
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
    expect(standard?.Attributes).toEqual({
      VisibilityTimeout: '30',
      MessageRetentionPeriod: '345600',
      DelaySeconds: '5',
      ReceiveMessageWaitTimeSeconds: '0',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: queueArn('clicks-dlq'), maxReceiveCount: 4 }),
    });
  });
});
