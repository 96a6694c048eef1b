import { createServer, type Server } from 'node:http';
import {
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  InternalServerError,
  ProvisionedThroughputExceededException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, ThrottlingException } from '@aws-sdk/client-eventbridge';
import { HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, InternalServiceError, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { RequestThrottled, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CallCounter, startAwsEndpoint, type AwsEndpoint } from '../../local/aws/endpoint';
import { FaultInjector, FaultRuleError, type FaultRule } from '../../local/aws/faults';

const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const region = 'eu-west-1';

/** A stand-in for DynamoDB Local: answers every call `{}` and keeps the bodies it was sent. */
interface Upstream {
  readonly url: string;
  readonly bodies: string[];
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let upstream: Upstream;
let aws: AwsEndpoint;
const counter = new CallCounter();
const clients: { destroy(): void }[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  aws = await startAwsEndpoint({ port: 0, counter, upstreams: { dynamodb: upstream.url }, faultTimeoutMs: 2_000 });
});

afterEach(() => {
  aws.faults.clear();
  counter.reset();
  upstream.bodies.length = 0;
  for (const client of clients.splice(0)) client.destroy();
});

afterAll(async () => {
  await aws.close();
  await upstream.close();
});

/** One attempt per call: the SDK's own retries would only slow the tests down. */
function dynamo(): DynamoDBClient {
  const client = new DynamoDBClient({ endpoint: aws.url, region, credentials, maxAttempts: 1 });
  clients.push(client);
  return client;
}

const getItem = (pk: string) => new GetItemCommand({ TableName: 'limits', Key: { pk: { S: pk } } });

async function failureOf(call: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error('the call succeeded');
}

async function post(rule: unknown): Promise<{ status: number; body: FaultRule & { message?: string } }> {
  const response = await fetch(`${aws.url}/_local/faults`, { method: 'POST', body: JSON.stringify(rule) });
  return { status: response.status, body: (await response.json()) as FaultRule & { message?: string } };
}

describe('fault rules on /_local/faults', () => {
  it('adds a rule with an id, lists it, removes it by id, and clears them all', async () => {
    // Act
    const added = await post({ service: 'dynamodb', operation: 'UpdateItem', match: 'tenant-1', mode: 'throttle', count: 3, ttlSeconds: 60 });
    const second = await post({ service: 'sqs', mode: 'unavailable' });
    const listed = (await (await fetch(`${aws.url}/_local/faults`)).json()) as FaultRule[];
    const removed = await fetch(`${aws.url}/_local/faults/${added.body.id}`, { method: 'DELETE' });
    const removedAgain = await fetch(`${aws.url}/_local/faults/${added.body.id}`, { method: 'DELETE' });
    const afterRemove = aws.faults.list();
    const cleared = await fetch(`${aws.url}/_local/faults`, { method: 'DELETE' });

    // Assess
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ service: 'dynamodb', operation: 'UpdateItem', match: 'tenant-1', mode: 'throttle', count: 3, ttlSeconds: 60, hits: 0 });
    expect(added.body.id).toEqual(expect.any(String));
    expect(added.body.expiresAt).toEqual(expect.any(String));
    expect(listed.map((rule) => rule.id)).toEqual([added.body.id, second.body.id]);
    expect(removed.status).toBe(200);
    expect(removedAgain.status).toBe(404);
    expect(afterRemove.map((rule) => rule.id)).toEqual([second.body.id]);
    expect(cleared.status).toBe(200);
    expect(aws.faults.list()).toEqual([]);
  });

  it('refuses a rule without a service, with an unknown mode, or a count that is not a positive integer', async () => {
    // Act
    const answers = await Promise.all([
      post({ mode: 'throttle' }),
      post({ service: 'dynamodb', mode: 'slow' }),
      post({ service: 'dynamodb', mode: 'error', count: 0 }),
      post({ service: 'dynamodb', mode: 'error', ttlSeconds: -1 }),
    ]);
    const notJson = await fetch(`${aws.url}/_local/faults`, { method: 'POST', body: 'mode=error' });

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 400]);
    expect(answers[1]!.body.message).toContain('mode');
    expect(notJson.status).toBe(400);
    expect(aws.faults.list()).toEqual([]);
  });
});

describe('fault modes, as the AWS SDK sees them', () => {
  it('unavailable: drops the connection, so the SDK fails with a network error and nothing reaches DynamoDB', async () => {
    // Prepare
    aws.faults.add({ service: 'dynamodb', mode: 'unavailable' });

    // Act
    const error = await failureOf(dynamo().send(getItem('tenant-1')));

    // Assess
    expect(error).not.toBeInstanceOf(DynamoDBServiceException);
    expect(['ECONNRESET', 'EPIPE']).toContain((error as NodeJS.ErrnoException).code);
    expect(error.$metadata?.httpStatusCode).toBeUndefined();
    expect(upstream.bodies).toEqual([]);
    expect(counter.total('dynamodb', 'GetItem')).toBe(1);
  });

  it('throttle: DynamoDB answers ProvisionedThroughputExceededException (400)', async () => {
    // Prepare
    aws.faults.add({ service: 'dynamodb', mode: 'throttle' });

    // Act
    const error = await failureOf(dynamo().send(getItem('tenant-1')));

    // Assess
    expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(upstream.bodies).toEqual([]);
    expect(counter.total('dynamodb', 'GetItem')).toBe(1);
  });

  it('error: DynamoDB answers InternalServerError (500)', async () => {
    // Prepare
    aws.faults.add({ service: 'dynamodb', mode: 'error' });

    // Act
    const error = await failureOf(dynamo().send(getItem('tenant-1')));

    // Assess
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error.$metadata?.httpStatusCode).toBe(500);
  });

  it('timeout: holds the call unanswered until the client gives up', async () => {
    // Prepare
    const rule = aws.faults.add({ service: 'dynamodb', mode: 'timeout' });
    const abort = new AbortController();

    // Act
    const call = failureOf(dynamo().send(getItem('tenant-1'), { abortSignal: abort.signal }));
    await vi.waitFor(() => expect(aws.faults.list()[0]?.hits).toBe(1));
    abort.abort();
    const error = await call;

    // Assess
    expect(error.name).toBe('AbortError');
    expect(upstream.bodies).toEqual([]);
    expect(aws.faults.list()).toEqual([{ ...rule, hits: 1 }]);
  });

  it('timeout: drops a held call at the cap when the client never gives up', async () => {
    // Prepare: this endpoint caps held calls at 2 s.
    aws.faults.add({ service: 'dynamodb', mode: 'timeout', count: 1 });

    // Act
    const error = await failureOf(dynamo().send(getItem('tenant-1')));

    // Assess
    expect(error).not.toBeInstanceOf(DynamoDBServiceException);
    expect(error.$metadata?.httpStatusCode).toBeUndefined();
  });

  it("answers each service's own throttling and internal errors", async () => {
    // Prepare
    const sqs = new SQSClient({ endpoint: aws.url, region, credentials, maxAttempts: 1 });
    const events = new EventBridgeClient({ endpoint: aws.url, region, credentials, maxAttempts: 1 });
    const secrets = new SecretsManagerClient({ endpoint: aws.url, region, credentials, maxAttempts: 1 });
    const s3 = new S3Client({ endpoint: aws.url, region, credentials, maxAttempts: 1, forcePathStyle: true });
    clients.push(sqs, events, secrets, s3);
    for (const service of ['sqs', 'events', 's3']) aws.faults.add({ service, mode: 'throttle' });
    aws.faults.add({ service: 'secretsmanager', mode: 'error' });
    aws.faults.add({ service: 's3', operation: 'HeadObject', mode: 'error' });

    // Act
    const sqsError = await failureOf(sqs.send(new SendMessageCommand({ QueueUrl: `${aws.url}/000000000000/orders`, MessageBody: 'x' })));
    const eventsError = await failureOf(events.send(new PutEventsCommand({ Entries: [{ Source: 'a', DetailType: 'b', Detail: '{}' }] })));
    const secretsError = await failureOf(secrets.send(new GetSecretValueCommand({ SecretId: 'signing' })));
    const putError = await failureOf(s3.send(new PutObjectCommand({ Bucket: 'files', Key: 'a.txt', Body: 'a' })));
    aws.faults.list().filter((rule) => rule.service === 's3' && rule.mode === 'throttle').forEach((rule) => aws.faults.remove(rule.id));
    const headError = await failureOf(s3.send(new HeadObjectCommand({ Bucket: 'files', Key: 'a.txt' })));

    // Assess
    expect(sqsError).toBeInstanceOf(RequestThrottled);
    expect(eventsError).toBeInstanceOf(ThrottlingException);
    expect(secretsError).toBeInstanceOf(InternalServiceError);
    expect(putError).toBeInstanceOf(S3ServiceException);
    expect(putError.name).toBe('SlowDown');
    expect(putError.$metadata?.httpStatusCode).toBe(503);
    expect(headError.$metadata?.httpStatusCode).toBe(500);
    expect(counter.snapshot()).toEqual({
      sqs: { SendMessage: 1 },
      events: { PutEvents: 1 },
      secretsmanager: { GetSecretValue: 1 },
      s3: { PutObject: 1, HeadObject: 1 },
    });
  });

  it('throttles Lambda Invoke with 429 TooManyRequestsException', async () => {
    // Prepare
    const lambda = { invoke: vi.fn(async () => ({ requestId: 'r', durationMs: 1, result: 'ran' })) };
    const withLambda = await startAwsEndpoint({ port: 0, counter: new CallCounter(), lambda });
    withLambda.faults.add({ service: 'lambda', match: 'fixture-echo', mode: 'throttle' });
    const signed = { authorization: `AWS4-HMAC-SHA256 Credential=x/20250101/${region}/lambda/aws4_request` };

    // Act
    const faulted = await fetch(`${withLambda.url}/2015-03-31/functions/fixture-echo/invocations`, { method: 'POST', headers: signed, body: '{}' });
    const other = await fetch(`${withLambda.url}/2015-03-31/functions/fixture-other/invocations`, { method: 'POST', headers: signed, body: '{}' });
    await withLambda.close();

    // Assess: `match` looks into the path too, so a fault can be scoped to one function.
    expect(faulted.status).toBe(429);
    expect(faulted.headers.get('x-amzn-errortype')).toBe('TooManyRequestsException');
    expect(other.status).toBe(200);
    expect(lambda.invoke).toHaveBeenCalledTimes(1);
  });
});

describe('scoping a fault', () => {
  it("match: fails only calls whose body holds the string; others reach DynamoDB with their body intact", async () => {
    // Prepare
    aws.faults.add({ service: 'dynamodb', match: '"tenant-a#', mode: 'throttle' });
    const client = dynamo();

    // Act
    const faulted = await failureOf(client.send(getItem('tenant-a#bucket')));
    const passed = await client.send(getItem('tenant-b#bucket'));

    // Assess
    expect(faulted).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(passed.Item).toBeUndefined();
    expect(upstream.bodies.map((body) => JSON.parse(body) as unknown)).toEqual([{ TableName: 'limits', Key: { pk: { S: 'tenant-b#bucket' } } }]);
    expect(counter.total('dynamodb', 'GetItem')).toBe(2);
  });

  it('operation: fails only that operation', async () => {
    // Prepare
    aws.faults.add({ service: 'dynamodb', operation: 'UpdateItem', mode: 'error' });
    const client = dynamo();

    // Act
    const update = await failureOf(client.send(new UpdateItemCommand({ TableName: 'limits', Key: { pk: { S: 'a' } }, UpdateExpression: 'SET n = :n', ExpressionAttributeValues: { ':n': { N: '1' } } })));
    await client.send(getItem('a'));

    // Assess
    expect(update).toBeInstanceOf(InternalServerError);
    expect(upstream.bodies).toHaveLength(1);
  });

  it('count: fails that many matching calls, then retires', async () => {
    // Prepare
    aws.faults.add({ service: 'dynamodb', mode: 'throttle', count: 2 });
    const client = dynamo();

    // Act
    const first = await failureOf(client.send(getItem('a')));
    const second = await failureOf(client.send(getItem('a')));
    const third = await client.send(getItem('a'));

    // Assess
    expect([first, second].every((error) => error instanceof ProvisionedThroughputExceededException)).toBe(true);
    expect(third.$metadata.httpStatusCode).toBe(200);
    expect(aws.faults.list()).toEqual([]);
    expect(counter.total('dynamodb', 'GetItem')).toBe(3);
  });

  it('DELETE /_local/faults: calls succeed again', async () => {
    // Prepare
    aws.faults.add({ service: 'dynamodb', mode: 'unavailable' });
    await failureOf(dynamo().send(getItem('a')));

    // Act
    await fetch(`${aws.url}/_local/faults`, { method: 'DELETE' });
    const after = await dynamo().send(getItem('a'));

    // Assess
    expect(after.$metadata.httpStatusCode).toBe(200);
  });
});

describe('FaultInjector', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retires a rule when its ttlSeconds pass', () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-01-01T00:00:00Z'));
    const faults = new FaultInjector();
    faults.add({ service: 'dynamodb', mode: 'throttle', ttlSeconds: 30 });

    // Act
    const before = faults.take('dynamodb', 'GetItem', { target: '/' });
    vi.setSystemTime(new Date('2025-01-01T00:00:30Z'));
    const after = faults.take('dynamodb', 'GetItem', { target: '/' });

    // Assess
    expect(before?.expiresAt).toBe('2025-01-01T00:00:30.000Z');
    expect(after).toBeUndefined();
    expect(faults.list()).toEqual([]);
  });

  it('applies the oldest rule that fits, and asks for the body only when a match must look into it', () => {
    // Prepare
    const faults = new FaultInjector();
    const scoped = faults.add({ service: 'dynamodb', match: 'tenant-a', mode: 'throttle' });
    const broad = faults.add({ service: 'dynamodb', mode: 'error' });

    // Act
    const needs = faults.candidates('dynamodb', 'GetItem', '/');
    const none = faults.candidates('sqs', 'SendMessage', '/');
    const inBody = faults.take('dynamodb', 'GetItem', { target: '/', body: '{"pk":{"S":"tenant-a"}}' });
    const elsewhere = faults.take('dynamodb', 'GetItem', { target: '/', body: '{"pk":{"S":"tenant-b"}}' });

    // Assess
    expect(needs).toEqual({ any: true, needsBody: true });
    expect(none).toEqual({ any: false, needsBody: false });
    expect(inBody?.id).toBe(scoped.id);
    expect(elsewhere?.id).toBe(broad.id);
  });

  it('throws FaultRuleError on a rule it cannot apply', () => {
    expect(() => new FaultInjector().add({ service: '', mode: 'throttle' })).toThrow(FaultRuleError);
  });
});

describe('the AWS endpoint closing', () => {
  it('closes promptly while a timeout fault holds a call', async () => {
    // Prepare
    const endpoint = await startAwsEndpoint({ port: 0, counter: new CallCounter(), faults: new FaultInjector() });
    endpoint.faults.add({ service: 'dynamodb', mode: 'timeout' });
    const client = new DynamoDBClient({ endpoint: endpoint.url, region, credentials, maxAttempts: 1 });
    clients.push(client);
    const call = failureOf(client.send(getItem('a')));
    await vi.waitFor(() => expect(endpoint.faults.list()[0]?.hits).toBe(1));

    // Act
    await endpoint.close();

    // Assess: the held call ends as a dropped connection.
    expect((await call).$metadata?.httpStatusCode).toBeUndefined();
  });
});
