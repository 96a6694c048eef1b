import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import type { BucketModel } from '../../../local/model';
import { encodeEventKey, targetMatches } from '../../../local/services/s3/notifications';
import { bucketModel, credentials, env, eventually, formOf, presignPost, startTestS3, type TestS3 } from './support';

const ingestArn = 'arn:aws:lambda:us-east-1:123456789012:function:ingest-csv';
const deletedQueueArn = 'arn:aws:sqs:us-east-1:123456789012:deleted-objects';
const copiesQueueArn = 'arn:aws:sqs:us-east-1:123456789012:copied-objects';

const reports: BucketModel = bucketModel('reports-bucket', {
  logicalId: 'ReportsBucket',
  eventBridgeEnabled: true,
  lambdaNotifications: [{ arn: ingestArn, events: ['s3:ObjectCreated:*'], prefix: 'incoming/', suffix: '.csv' }],
  queueNotifications: [
    { arn: deletedQueueArn, events: ['s3:ObjectRemoved:Delete'] },
    { arn: copiesQueueArn, events: ['s3:ObjectCreated:Copy'], prefix: 'archive/' },
  ],
});

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

describe('local S3 notifications', () => {
  let s3: TestS3;

  afterEach(async () => {
    await s3.stop();
  });

  /** Waits until EventBridge has seen `count` events: every destination of an event is started together. */
  const eventBridgeCount = (count: number) => eventually(() => (s3.notifications.eventBridge.length >= count ? s3.notifications.eventBridge : undefined), 5_000, `${count} EventBridge events`);

  it('sends EventBridge an Object Created event with S3 detail when an object is put', async () => {
    // Prepare
    s3 = await startTestS3([reports]);

    // Act
    await s3.client.send(new PutObjectCommand({ Bucket: 'reports-bucket', Key: 'incoming/q1 report.csv', Body: 'a,b\n1,2\n' }));
    const [entry] = await eventBridgeCount(1);

    // Assess
    expect(entry).toEqual({
      source: 'aws.s3',
      detailType: 'Object Created',
      resources: ['arn:aws:s3:::reports-bucket'],
      time: expect.any(Date),
      detail: {
        version: '0',
        bucket: { name: 'reports-bucket' },
        object: { key: 'incoming/q1 report.csv', size: 8, etag: md5('a,b\n1,2\n'), sequencer: expect.stringMatching(/^[0-9A-F]{18}$/) },
        'request-id': expect.stringMatching(/^[0-9A-F]{16}$/),
        requester: env.account,
        'source-ip-address': '127.0.0.1',
        reason: 'PutObject',
      },
    });
  });

  it('sends EventBridge an Object Deleted event, permanently deleted, when an object is deleted', async () => {
    // Prepare
    s3 = await startTestS3([reports]);
    await s3.client.send(new PutObjectCommand({ Bucket: 'reports-bucket', Key: 'old.txt', Body: 'x' }));

    // Act
    await s3.client.send(new DeleteObjectCommand({ Bucket: 'reports-bucket', Key: 'old.txt' }));
    const [created, deleted] = await eventBridgeCount(2);

    // Assess
    expect(deleted!.detailType).toBe('Object Deleted');
    expect(deleted!.detail).toEqual({
      version: '0',
      bucket: { name: 'reports-bucket' },
      object: { key: 'old.txt', sequencer: expect.stringMatching(/^[0-9A-F]{18}$/) },
      'request-id': expect.any(String),
      requester: env.account,
      'source-ip-address': '127.0.0.1',
      reason: 'DeleteObject',
      'deletion-type': 'Permanently Deleted',
    });
    const sequencer = (entry: typeof created) => (entry!.detail as { object: { sequencer: string } }).object.sequencer;
    expect(sequencer(deleted) > sequencer(created)).toBe(true);
  });

  it('invokes the Lambda function only for created keys matching its prefix and suffix, in the S3 record shape', async () => {
    // Prepare
    s3 = await startTestS3([reports]);
    const keys = ['incoming/daily (1) report.csv', 'incoming/notes.txt', 'elsewhere/data.csv'];

    // Act
    for (const key of keys) await s3.client.send(new PutObjectCommand({ Bucket: 'reports-bucket', Key: key, Body: 'id\n7\n' }));
    await eventBridgeCount(keys.length);

    // Assess
    expect(s3.notifications.lambda).toHaveLength(1);
    const { arn, event } = s3.notifications.lambda[0]!;
    expect(arn).toBe(ingestArn);
    expect(event).toEqual({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: env.region,
          eventTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
          eventName: 'ObjectCreated:Put',
          userIdentity: { principalId: `AWS:${credentials.accessKeyId}` },
          requestParameters: { sourceIPAddress: '127.0.0.1' },
          responseElements: { 'x-amz-request-id': expect.any(String), 'x-amz-id-2': expect.any(String) },
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: 'ReportsBucket-Lambda-1',
            bucket: { name: 'reports-bucket', ownerIdentity: { principalId: expect.any(String) }, arn: 'arn:aws:s3:::reports-bucket' },
            object: { key: 'incoming/daily+%281%29+report.csv', size: 5, eTag: md5('id\n7\n'), sequencer: expect.stringMatching(/^[0-9A-F]{18}$/) },
          },
        },
      ],
    });
  });

  it('sends each queue only the event types it asked for, as the JSON message body', async () => {
    // Prepare
    s3 = await startTestS3([reports]);
    await s3.client.send(new PutObjectCommand({ Bucket: 'reports-bucket', Key: 'draft.txt', Body: 'draft' }));

    // Act
    await s3.client.send(new CopyObjectCommand({ Bucket: 'reports-bucket', Key: 'archive/draft.txt', CopySource: 'reports-bucket/draft.txt' }));
    await s3.client.send(new DeleteObjectCommand({ Bucket: 'reports-bucket', Key: 'draft.txt' }));
    await eventBridgeCount(3);

    // Assess
    const byQueue = (arn: string) => s3.notifications.sqs.filter((message) => message.arn === arn).map((message) => JSON.parse(message.body));
    const deletions = byQueue(deletedQueueArn);
    const copies = byQueue(copiesQueueArn);
    expect(deletions.map((body) => [body.Records[0].eventName, body.Records[0].s3.object.key])).toEqual([['ObjectRemoved:Delete', 'draft.txt']]);
    expect(deletions[0].Records[0].s3.object).not.toHaveProperty('size');
    expect(copies.map((body) => [body.Records[0].eventName, body.Records[0].s3.object.key, body.Records[0].s3.configurationId])).toEqual([
      ['ObjectCreated:Copy', 'archive/draft.txt', 'ReportsBucket-Queue-2'],
    ]);
  });

  it('gives the reason of each way an object is created: POST Object and CompleteMultipartUpload', async () => {
    // Prepare
    s3 = await startTestS3([reports]);
    const post = presignPost({ endpoint: s3.s3.endpoint, bucket: 'reports-bucket', key: 'posted.txt' });

    // Act
    const posted = await fetch(post.url, { method: 'POST', body: formOf(post.fields, new Blob(['from a form'])) });
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: 'reports-bucket', Key: 'assembled.txt' }));
    const { ETag } = await s3.client.send(new UploadPartCommand({ Bucket: 'reports-bucket', Key: 'assembled.txt', UploadId, PartNumber: 1, Body: 'one part' }));
    await s3.client.send(new CompleteMultipartUploadCommand({ Bucket: 'reports-bucket', Key: 'assembled.txt', UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }));
    const entries = await eventBridgeCount(2);

    // Assess
    expect(posted.status).toBe(204);
    expect(entries.map((entry) => (entry.detail as { reason: string }).reason)).toEqual(['POST Object', 'CompleteMultipartUpload']);
    expect((entries[1]!.detail as { object: { etag: string } }).object.etag).toMatch(/^[0-9a-f]{32}-1$/);
  });

  it('logs a notification a destination refuses, without failing the write', async () => {
    // Prepare
    s3 = await startTestS3([reports], { fail: (destination) => destination === ingestArn });

    // Act
    const put = await s3.client.send(new PutObjectCommand({ Bucket: 'reports-bucket', Key: 'incoming/refused.csv', Body: 'x' }));
    const logged = await eventually(() => s3.logged.find((line) => line.includes(ingestArn)));

    // Assess
    expect(put.$metadata.httpStatusCode).toBe(200);
    expect(logged).toContain('ObjectCreated:Put of s3://reports-bucket/incoming/refused.csv');
  });
});

describe('encodeEventKey', () => {
  it('form-encodes keys as S3 records show them, leaving slashes', () => {
    // Act
    const encoded = [encodeEventKey('tenant-a/red flower(1).png'), encodeEventKey('a+b=c&d'), encodeEventKey('café/ü.txt')];

    // Assess
    expect(encoded).toEqual(['tenant-a/red+flower%281%29.png', 'a%2Bb%3Dc%26d', 'caf%C3%A9/%C3%BC.txt']);
  });
});

describe('targetMatches', () => {
  const target = { arn: ingestArn, events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:Delete'], prefix: 'in/', suffix: '.csv' };

  it('matches wildcard and exact event names within the prefix and suffix', () => {
    // Act
    const outcomes = [
      targetMatches(target, 'ObjectCreated:Post', 'in/a.csv'),
      targetMatches(target, 'ObjectCreated:CompleteMultipartUpload', 'in/b.csv'),
      targetMatches(target, 'ObjectRemoved:Delete', 'in/c.csv'),
      targetMatches(target, 'ObjectCreated:Put', 'out/a.csv'),
      targetMatches(target, 'ObjectCreated:Put', 'in/a.json'),
      targetMatches({ arn: ingestArn, events: ['s3:ObjectCreated:Put'] }, 'ObjectCreated:Copy', 'in/a.csv'),
    ];

    // Assess
    expect(outcomes).toEqual([true, true, true, false, false, false]);
  });
});
