import { setTimeout as delay } from 'node:timers/promises';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LOCAL_CREDENTIALS, LocalCloud } from '../../local/cloud';
import type { FunctionModel } from '../../local/model';
import { CONFORMANCE_FUNCTIONS, CONFORMANCE_PATTERN, conformanceApp, ONLY_IN_A, ONLY_IN_B } from './fixtures/apps/conformance-app';
import { synthFixture } from './fixtures/assembly';

/**
 * Conformance of the local cloud, end to end: one fixture CDK app, synthesized here and served
 * by one LocalCloud, exercised only from outside (HTTP, WebSocket, the AWS endpoint), the way a
 * client of the deployed app would. Unit suites check each emulator against hand-built models;
 * this one checks that the pieces, fed by a real cloud assembly, keep AWS's semantics.
 */


let cloud: LocalCloud;
let fixture: ReturnType<typeof synthFixture> | undefined;
let region: string;
const warnings: string[] = [];

beforeAll(async () => {
  fixture = synthFixture('local-conformance', conformanceApp);
  cloud = await LocalCloud.start({ assemblyDir: fixture.assemblyDir, onWarning: (message) => warnings.push(message) });
  region = cloud.model.env.region;
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  fixture?.remove();
});

/** The function a construct id of the fixture app names. */
function fn(id: string): FunctionModel {
  const found = cloud.model.functions.find((f) => f.constructPath === `conformance/${id}/Resource`);
  if (!found) throw new Error(`no function ${id} in the model`);
  return found;
}

/** What the fixture's `http-echo` handler answers. */
interface Echo {
  readonly role: string;
  readonly functionName: string;
  readonly event: {
    readonly resource: string;
    readonly path: string;
    readonly httpMethod: string;
    readonly pathParameters: Record<string, string> | null;
    readonly requestContext: { readonly resourcePath: string; readonly authorizer?: Record<string, unknown> };
  };
  readonly env: Record<string, string>;
}

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${cloud.restApis[0]!.url}${path}`, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the text itself is what the test looks at.
  }
  return { status: response.status, body };
}

async function echo(path: string, init: RequestInit = {}): Promise<Echo> {
  const { status, body } = await call(path, init);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as Echo;
}

/** How many times the authorizer's (only) environment has run, read through an allowed request. */
async function authorizerRuns(): Promise<number> {
  const answer = await echo('secure', { headers: { Authorization: 'Bearer allow-probe' } });
  return Number(answer.event.requestContext.authorizer?.['runs']);
}

describe('REST API routing', () => {
  it('answers literal, {param} and {proxy+} resources with their own functions and the matched resource in the event', async () => {
    // Act
    const [literal, param, greedy, greedyDelete] = await Promise.all([
      echo('items/special'),
      echo('items/42'),
      echo('deep/down/here'),
      echo('deep/down/here', { method: 'DELETE' }),
    ]);

    // Assess
    expect(literal).toMatchObject({
      role: 'literal',
      functionName: fn(CONFORMANCE_FUNCTIONS.literal).functionName,
      event: { resource: '/items/special', path: '/items/special', pathParameters: null, requestContext: { resourcePath: '/items/special' } },
    });
    expect(param).toMatchObject({
      role: 'param',
      functionName: fn(CONFORMANCE_FUNCTIONS.param).functionName,
      event: { resource: '/items/{id}', path: '/items/42', pathParameters: { id: '42' }, requestContext: { resourcePath: '/items/{id}' } },
    });
    expect(greedy).toMatchObject({
      role: 'greedy',
      functionName: fn(CONFORMANCE_FUNCTIONS.greedy).functionName,
      event: { resource: '/{proxy+}', path: '/deep/down/here', httpMethod: 'GET', pathParameters: { proxy: 'deep/down/here' }, requestContext: { resourcePath: '/{proxy+}' } },
    });
    expect(greedyDelete).toMatchObject({ role: 'greedy', event: { httpMethod: 'DELETE', resource: '/{proxy+}' } });
  });
});

describe('REST API TOKEN authorizer', () => {
  it('lets an allowed token through and hands the authorizer context to the integration', async () => {
    // Act
    const answer = await echo('secure', { headers: { Authorization: 'Bearer allow-acme' } });

    // Assess: context values arrive as strings, as API Gateway passes them on.
    expect(answer.role).toBe('secure');
    expect(answer.event.requestContext.authorizer).toMatchObject({ principalId: 'user-of-acme', tenant: 'acme', verified: 'true' });
  });

  it('evaluates a method-specific policy against each method: GET allowed, POST refused with 403', async () => {
    // Act
    const get = await call('secure', { headers: { Authorization: 'Bearer allow-get-only' } });
    const post = await call('secure', { method: 'POST', headers: { Authorization: 'Bearer allow-get-only' }, body: '{}' });

    // Assess
    expect(get.status).toBe(200);
    expect(post.status).toBe(403);
    expect(post.body).toEqual({ message: 'User is not authorized to access this resource' });
  });

  it('answers an explicit Deny with 403 and a refused token with 401', async () => {
    // Act
    const denied = await call('secure', { headers: { Authorization: 'Bearer deny' } });
    const garbage = await call('secure', { headers: { Authorization: 'not a token we know' } });

    // Assess
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({ message: 'User is not authorized to access this resource with an explicit deny' });
    expect(garbage.status).toBe(401);
    expect(garbage.body).toEqual({ message: 'Unauthorized' });
  });

  it('answers a request without the token header with 401 without invoking the authorizer', async () => {
    // Prepare
    const before = await authorizerRuns();

    // Act
    const missing = await call('secure');
    const afterMissing = await authorizerRuns();
    await call('secure', { headers: { Authorization: 'garbage' } });
    const afterGarbage = await authorizerRuns();

    // Assess: each probe runs the authorizer once; a garbage token runs it too (the control),
    // a missing header does not. The counts are one environment's, so there must be only one.
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ message: 'Unauthorized' });
    expect(afterMissing - before).toBe(1);
    expect(afterGarbage - afterMissing).toBe(2);
    expect(cloud.runtime.environments(fn(CONFORMANCE_FUNCTIONS.authorizer).functionName)).toBe(1);
  });
});

describe('WebSocket API', () => {
  it('selects routes by action, delivers @connections replies, and answers GoneException once the client has left', async () => {
    // Prepare
    const { url, callbackUrl } = cloud.webSocketApis[0]!;
    const management = new ApiGatewayManagementApiClient({ endpoint: callbackUrl, region, credentials: LOCAL_CREDENTIALS });
    const socket = new WebSocket(url);
    const inbox: string[] = [];
    socket.on('message', (data: Buffer) => inbox.push(data.toString('utf8')));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const nextMessage = async (): Promise<string> => {
      const deadline = Date.now() + 10_000;
      while (inbox.length === 0 && Date.now() < deadline) await delay(20);
      const message = inbox.shift();
      if (message === undefined) throw new Error('no message arrived within 10 s');
      return message;
    };

    // Act
    socket.send(JSON.stringify({ action: 'echo', text: 'hi' }));
    const echoed = JSON.parse(await nextMessage()) as Record<string, string>;
    socket.send(JSON.stringify({ action: 'no-such-route' }));
    const defaulted = JSON.parse(await nextMessage()) as Record<string, string>;
    const connectionId = echoed['connectionId']!;
    await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'still here' }));
    const pushed = await nextMessage();
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.close(1000);
    });
    // The gateway learns of the close as the TCP connection ends; give it a deadline, not a sleep.
    let gone: unknown;
    const deadline = Date.now() + 5_000;
    while (!gone && Date.now() < deadline) {
      gone = await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'anyone?' })).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (!gone) await delay(20);
    }

    // Assess
    expect(fn(CONFORMANCE_FUNCTIONS.wsEcho).environment['CALLBACK_URL']).toBe(callbackUrl);
    expect(echoed).toMatchObject({ role: 'echo', routeKey: 'echo', body: JSON.stringify({ action: 'echo', text: 'hi' }) });
    expect(defaulted).toMatchObject({ role: 'default', routeKey: '$default', connectionId });
    expect(pushed).toBe('still here');
    expect(gone).toMatchObject({ name: 'GoneException', $metadata: { httpStatusCode: 410 } });
    management.destroy();
  });
});

describe('Lambda timeouts', () => {
  it('cuts a function off at its timeout: a 502 through REST, Sandbox.Timedout when invoked, and the next call runs', async () => {
    // Prepare
    const slow = fn(CONFORMANCE_FUNCTIONS.slow);
    const started = performance.now();

    // Act
    const throughRest = await call('slow');
    const restMs = performance.now() - started;
    const direct = await cloud.runtime.invoke(slow.functionName, { ms: 3_000 });
    const quick = await call('slow?ms=10');

    // Assess: the handler sleeps 5 s; the gateway answers once the 1 s timeout has cut it off.
    expect(slow.timeoutSeconds).toBe(1);
    expect(throughRest.status).toBe(502);
    expect(throughRest.body).toEqual({ message: 'Internal server error' });
    expect(restMs).toBeLessThan(4_000);
    expect(direct.error).toMatchObject({ errorType: 'Sandbox.Timedout', errorMessage: expect.stringContaining('Task timed out after 1.00 seconds') });
    expect(quick).toEqual({ status: 200, body: { slept: 10 } });
  });
});

describe('Lambda environment isolation', () => {
  it('gives each function its own environment: neither sees the other variables, nor what the other wrote', async () => {
    // Act
    const a = await echo('env/a?setEnv=WRITTEN_IN_A');
    const b = await echo('env/b?setEnv=WRITTEN_IN_B');
    const aAgain = await echo('env/a');

    // Assess
    expect(a.env[ONLY_IN_A.name]).toBe(ONLY_IN_A.value);
    expect(a.env).not.toHaveProperty(ONLY_IN_B.name);
    expect(a.env['AWS_LAMBDA_FUNCTION_NAME']).toBe(fn(CONFORMANCE_FUNCTIONS.envA).functionName);
    expect(b.env[ONLY_IN_B.name]).toBe(ONLY_IN_B.value);
    expect(b.env).not.toHaveProperty(ONLY_IN_A.name);
    expect(b.env).not.toHaveProperty('WRITTEN_IN_A');
    expect(b.env['AWS_LAMBDA_FUNCTION_NAME']).toBe(fn(CONFORMANCE_FUNCTIONS.envB).functionName);
    // A's write stays in A's warm environment and nowhere else, the host process included.
    expect(aAgain.env['WRITTEN_IN_A']).toBe('written-by-env-a');
    expect(aAgain.env).not.toHaveProperty('WRITTEN_IN_B');
    expect(process.env).not.toHaveProperty('WRITTEN_IN_A');
    expect(process.env).not.toHaveProperty(ONLY_IN_A.name);
  });
});

describe('S3 presigned URLs through the AWS endpoint', () => {
  it('accepts a valid presigned PUT and refuses one whose key was changed', async () => {
    // Prepare
    const s3 = new S3Client({ endpoint: cloud.aws.url, region, credentials: LOCAL_CREDENTIALS, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
    const bucket = cloud.model.buckets[0]!.name;
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'conformance/valid.txt' }), { expiresIn: 60 });

    // Act
    const valid = await fetch(url, { method: 'PUT', body: 'signed bytes' });
    const tampered = await fetch(url.replace('conformance/valid.txt', 'conformance/other.txt'), { method: 'PUT', body: 'forged bytes' });

    // Assess
    expect(valid.status).toBe(200);
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'conformance/valid.txt' }));
    expect(await stored.Body?.transformToString()).toBe('signed bytes');
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'conformance/other.txt' }))).rejects.toMatchObject({ name: 'NotFound' });
    s3.destroy();
  });

  it('refuses a presigned PUT once X-Amz-Date + X-Amz-Expires has passed', async () => {
    // Prepare
    const s3 = new S3Client({ endpoint: cloud.aws.url, region, credentials: LOCAL_CREDENTIALS, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
    const bucket = cloud.model.buckets[0]!.name;
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'conformance/short-lived.txt' }), { expiresIn: 1 });
    const amzDate = new URL(url).searchParams.get('X-Amz-Date')!;
    const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));

    // Act: use the URL until it stops working, within a deadline well past its expiry.
    let status = 0;
    let text = '';
    let answeredAt = 0;
    const deadline = signedAt + 6_000;
    while (Date.now() < deadline) {
      const response = await fetch(url, { method: 'PUT', body: 'late bytes' });
      answeredAt = Date.now();
      status = response.status;
      text = await response.text();
      if (status !== 200) break;
      await delay(100);
    }

    // Assess: refused as expired, and not before the URL's lifetime was over.
    expect(status).toBe(403);
    expect(text).toContain('Request has expired');
    expect(answeredAt).toBeGreaterThan(signedAt + 1_000);
    s3.destroy();
  });
});

describe('EventBridge to SQS', () => {
  it('delivers only the event the rule matches to the queue target', async () => {
    // Prepare
    const credentials = LOCAL_CREDENTIALS;
    const events = new EventBridgeClient({ endpoint: cloud.aws.url, region, credentials });
    const sqs = new SQSClient({ endpoint: cloud.aws.url, region, credentials });
    const bus = cloud.model.buses.find((b) => b.logicalId.startsWith('Bus'))!;
    const queue = cloud.model.queues.find((q) => q.logicalId.startsWith('Matched'))!;
    const dispatchedBefore = cloud.events.stats().dispatched;
    const entry = (kind: string, source: string = CONFORMANCE_PATTERN.source) => ({
      EventBusName: bus.name,
      Source: source,
      DetailType: 'Probe',
      Detail: JSON.stringify({ kind }),
    });

    // Act
    const put = await events.send(
      new PutEventsCommand({ Entries: [entry('nope-kind'), entry(`${CONFORMANCE_PATTERN.kindPrefix}-kind`), entry('ok-but-wrong-source', 'someone.else')] }),
    );
    const received: Message[] = [];
    const deadline = Date.now() + 10_000;
    while (received.length === 0 && Date.now() < deadline) {
      const answer = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      received.push(...(answer.Messages ?? []));
    }
    // Every delivery of that PutEvents has ended now; whatever else it sent is in the queue.
    await cloud.events.idle();
    const rest = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    received.push(...(rest.Messages ?? []));
    for (const message of received) await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle }));

    // Assess
    expect(put.FailedEntryCount).toBe(0);
    expect(received).toHaveLength(1);
    const delivered = JSON.parse(received[0]!.Body!) as Record<string, unknown>;
    expect(delivered).toMatchObject({ id: put.Entries![1]!.EventId, source: CONFORMANCE_PATTERN.source, 'detail-type': 'Probe', detail: { kind: 'ok-kind' } });
    expect(cloud.events.stats().dispatched - dispatchedBefore).toBe(1);
    events.destroy();
    sqs.destroy();
  });
});

describe('the fixture app', () => {
  it('is served whole: no variable left unresolved', () => {
    expect(cloud.model.functions.flatMap((f) => f.unresolved.map((u) => `${f.logicalId}.${u.name}`))).toEqual([]);
    expect(warnings.filter((w) => w.includes('has no local value'))).toEqual([]);
  });
});
