import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchGetItemCommand, DynamoDBClient, ListTablesCommand, PutItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LocalCloud } from '../../local/cloud';
import { basicApp } from './fixtures/apps/basic-app';

let cloud: LocalCloud;
let assemblyDir: string;
const warnings: string[] = [];

beforeAll(async () => {
  assemblyDir = mkdtempSync(join(tmpdir(), 'local-cloud-'));
  basicApp(assemblyDir).synth();
  cloud = await LocalCloud.start({ assemblyDir, onWarning: (message) => warnings.push(message) });
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
});

describe('LocalCloud on a fixture app', () => {
  it('names once what it does not serve and the variables it cannot resolve, and serves the rest', () => {
    expect(warnings.filter((w) => w.includes('AWS::Kinesis::Stream'))).toHaveLength(1);
    expect(warnings.some((w) => w.includes('FROM_PARAMETER') && w.includes('NeedsParameter'))).toBe(true);
    expect(cloud.restApis).toHaveLength(1);
    expect(cloud.webSocketApis[0]!.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/live$/);
  });

  it('provisions the tables and counts the AWS calls it serves', async () => {
    // Prepare
    const client = new DynamoDBClient({ endpoint: cloud.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    cloud.counter.reset();

    // Act
    const tables = await client.send(new ListTablesCommand({}));

    // Assess
    expect(tables.TableNames).toContain(cloud.model.tables[0]!.name);
    expect(cloud.counter.snapshot()).toEqual({ dynamodb: { ListTables: 1 } });
    client.destroy();
  });

  it('counts DynamoDB calls per table too: once for each table a transaction or batch names', async () => {
    // Prepare
    const client = new DynamoDBClient({ endpoint: cloud.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const table = cloud.model.tables[0]!;
    const keyOf = (value: string) => Object.fromEntries(table.keySchema.map((k) => [k.AttributeName, { S: value }]));
    const pk = table.keySchema[0]!.AttributeName;
    const key = keyOf('counted');
    cloud.counter.reset();

    // Act
    await client.send(new PutItemCommand({ TableName: table.name, Item: key }));
    await client.send(new TransactWriteItemsCommand({ TransactItems: [{ ConditionCheck: { TableName: table.name, Key: key, ConditionExpression: 'attribute_exists(#k)', ExpressionAttributeNames: { '#k': pk } } }, { Put: { TableName: table.name, Item: keyOf('counted-2') } }] }));
    await client.send(new BatchGetItemCommand({ RequestItems: { [table.name]: { Keys: [key] } } }));
    const overHttp = (await (await fetch(`${cloud.aws.url}/_local/calls?by=table`)).json()) as Record<string, Record<string, number>>;

    // Assess
    const expected = { [table.name]: { PutItem: 1, TransactWriteItems: 1, BatchGetItem: 1 } };
    expect(cloud.counter.tableSnapshot()).toEqual(expected);
    expect(overHttp).toEqual(expected);
    expect(cloud.counter.total('dynamodb')).toBe(3);
    client.destroy();
  });

  it('answers a route whose function cannot run (unresolved variable) with a 5xx, not a hang', async () => {
    const response = await fetch(`${cloud.restApis[0]!.url}files/a/b`);
    expect(response.status).toBeGreaterThanOrEqual(500);
  });

  it('reloads only the functions whose bundle or environment changed, keeping the others warm', async () => {
    // Prepare: a warm environment for both functions.
    const echo = cloud.model.functions.find((f) => f.logicalId.startsWith('Echo'))!;
    await cloud.runtime.invoke(echo.functionName, {});
    basicApp(assemblyDir, { greeting: 'hello again' }).synth();

    // Act
    const { reloaded, needsRestart } = await cloud.reload();
    const after = await cloud.runtime.invoke(echo.functionName, {});

    // Assess
    expect(reloaded).toEqual([echo.functionName]);
    expect(needsRestart).toEqual([]);
    expect(after.initDurationMs).toBeGreaterThan(0);
    expect(cloud.model.functions.find((f) => f.functionName === echo.functionName)!.environment['GREETING']).toBe('hello again');
  });

  it('delivers a message sent to a mapped queue to its function, which consumes it', async () => {
    // Prepare
    const queue = cloud.model.queues.find((q) => q.logicalId.startsWith('Work') && !q.logicalId.startsWith('WorkDlq'))!;
    const sqs = new SQSClient({ endpoint: cloud.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    cloud.counter.reset();

    // Act
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: '{"n":1}', MessageGroupId: 'g1', MessageDeduplicationId: 'd1' }));

    // Assess: the mapping receives it, the function succeeds, the message is deleted.
    const deadline = Date.now() + 15_000;
    let left = 1;
    while (left > 0 && Date.now() < deadline) {
      const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
      left = Number(attributes.Attributes?.['ApproximateNumberOfMessages']) + Number(attributes.Attributes?.['ApproximateNumberOfMessagesNotVisible']);
      if (left > 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toBe(0);
    expect(cloud.counter.total('sqs', 'SendMessage')).toBe(1);
    sqs.destroy();
  });

  it('accepts a presigned PUT through the AWS endpoint and notifies the queue the bucket names', async () => {
    // Prepare
    const region = 'us-east-1';
    const s3 = new S3Client({ endpoint: cloud.aws.url, region, credentials: LOCAL_CREDENTIALS, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
    const sqs = new SQSClient({ endpoint: cloud.aws.url, region, credentials: LOCAL_CREDENTIALS });
    const bucket = cloud.model.buckets[0]!;
    const uploads = cloud.model.queues.find((q) => q.logicalId.startsWith('Uploads'))!;
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket.name, Key: 'incoming/photo.png' }), { expiresIn: 60 });

    // Act
    const put = await fetch(url, { method: 'PUT', body: 'png bytes' });
    const tampered = await fetch(url.replace('photo.png', 'other.png'), { method: 'PUT', body: 'x' });
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: uploads.url, WaitTimeSeconds: 5 }));

    // Assess
    expect(put.status).toBe(200);
    expect(tampered.status).toBe(403);
    const notification = JSON.parse(received.Messages?.[0]?.Body ?? '{}') as { Records?: { eventName: string; s3: { object: { key: string } } }[] };
    expect(notification.Records?.[0]).toMatchObject({ eventName: 'ObjectCreated:Put', s3: { object: { key: 'incoming/photo.png' } } });
    expect(cloud.counter.total('s3', 'PutObject')).toBeGreaterThanOrEqual(1);
    s3.destroy();
    sqs.destroy();
  });
});
