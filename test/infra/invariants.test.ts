import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import {
  broadIamStatements,
  queuesWithoutDeadLetter,
  queuesWithoutTls,
  statefulResources,
  tablesNotProductionReady,
  unencryptedQueues,
  unsafeBuckets,
} from './invariants';

/** The invariant checks must catch what they claim to, or the app tests prove nothing. */
describe('template invariants catch what breaks them', () => {
  const fixture = () => {
    const stack = new Stack(new App(), 'Fixture');
    return { stack, template: () => Template.fromStack(stack) };
  };

  it('flags service-wide actions and * resources, but not actions that cannot be scoped', () => {
    // Prepare
    const { stack, template } = fixture();
    const role = new Role(stack, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new PolicyStatement({ actions: ['s3:*'], resources: ['arn:aws:s3:::b/*'] }));
    role.addToPolicy(new PolicyStatement({ actions: ['dynamodb:GetItem'], resources: ['*'] }));
    role.addToPolicy(new PolicyStatement({ actions: ['xray:PutTraceSegments'], resources: ['*'] }));

    // Act
    const problems = broadIamStatements(template());

    // Assess
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toContain('allows s3:*');
    expect(problems.join('\n')).toContain('dynamodb:GetItem on *');
  });

  it('flags a queue with no dead-letter queue, unencrypted, without TLS; accepts a DLQ pair', () => {
    // Prepare
    const { stack, template } = fixture();
    new Queue(stack, 'Bare', { encryption: QueueEncryption.UNENCRYPTED });
    const dlq = new Queue(stack, 'Dlq', { enforceSSL: true, encryption: QueueEncryption.SQS_MANAGED });
    new Queue(stack, 'Work', { enforceSSL: true, encryption: QueueEncryption.SQS_MANAGED, deadLetterQueue: { queue: dlq, maxReceiveCount: 3 } });

    // Act
    const t = template();

    // Assess
    expect(queuesWithoutDeadLetter(t)).toEqual([expect.stringMatching(/^Bare/)]);
    expect(unencryptedQueues(t)).toEqual([expect.stringMatching(/^Bare/)]);
    expect(queuesWithoutTls(t)).toEqual([expect.stringMatching(/^Bare/)]);
  });

  it('flags a bucket that allows public access or plain HTTP', () => {
    // Prepare
    const { stack, template } = fixture();
    new Bucket(stack, 'Open', { blockPublicAccess: BlockPublicAccess.BLOCK_ACLS_ONLY });
    new Bucket(stack, 'Closed', { blockPublicAccess: BlockPublicAccess.BLOCK_ALL, enforceSSL: true });

    // Act
    const problems = unsafeBuckets(template());

    // Assess
    expect(problems).toEqual([expect.stringMatching(/^Open.*public access/), expect.stringMatching(/^Open.*TLS/)]);
  });

  it('flags tables without point-in-time recovery or retention', () => {
    // Prepare
    const { stack, template } = fixture();
    new Table(stack, 'Loose', { partitionKey: { name: 'pk', type: AttributeType.STRING }, removalPolicy: RemovalPolicy.DESTROY });
    new TableV2(stack, 'Kept', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Act
    const problems = tablesNotProductionReady(template());

    // Assess
    expect(problems).toEqual([expect.stringMatching(/^Loose.*point-in-time/), expect.stringMatching(/^Loose.*not retained/)]);
    expect(statefulResources(template())).toHaveLength(2);
  });
});
