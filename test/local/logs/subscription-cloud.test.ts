import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_CREDENTIALS, LocalCloud } from '../../../local/cloud';
import type { InvocationRecord } from '../../../local/runtime/async-invoke';
import type { FunctionLogLine } from '../../../local/runtime/lambda';
import { decodeAwsLogs, type AwsLogsData, type CloudWatchLogsEvent } from '../../../local/services/logs/awslogs';
import { logsApp, PLAIN_FUNCTION_NAME } from '../fixtures/apps/logs-app';
import { synthFixture } from '../fixtures/assembly';

let cloud: LocalCloud;
let fixture: ReturnType<typeof synthFixture> | undefined;
let sqs: SQSClient;
const logs: FunctionLogLine[] = [];
const warnings: string[] = [];

beforeAll(async () => {
  fixture = synthFixture('local-logs', logsApp);
  cloud = await LocalCloud.start({
    assemblyDir: fixture.assemblyDir,
    onLog: (line) => logs.push(line),
    onWarning: (message) => warnings.push(message),
    asyncRetryDelaysMs: [200],
    logsFlushIntervalMs: 100,
  });
  sqs = new SQSClient({ endpoint: cloud.aws.url, region: cloud.model.env.region, credentials: LOCAL_CREDENTIALS });
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  await cloud?.stop();
  fixture?.remove();
});

const fn = (prefix: string) => cloud.model.functions.find((f) => f.logicalId.startsWith(prefix))!;
const queueUrl = (prefix: string) => cloud.model.queues.find((q) => q.logicalId.startsWith(prefix))!.url;

/** What the recorder function printed: each delivery it received, decoded. */
function recorded(): { requestId: string; event: CloudWatchLogsEvent; data: AwsLogsData }[] {
  return logs
    .filter((line) => line.functionName === fn('Recorder').functionName && line.line.startsWith('{"recorded"'))
    .map((line) => JSON.parse(line.line) as { recorded: CloudWatchLogsEvent; requestId: string })
    .map(({ recorded, requestId }) => ({ requestId, event: recorded, data: decodeAwsLogs(recorded) }));
}

/** Receives from a queue until one message arrives or the deadline passes. */
async function receiveOne(url: string, timeoutMs = 20_000): Promise<Message> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1, MaxNumberOfMessages: 1, MessageAttributeNames: ['All'] }));
    const message = Messages?.[0];
    if (message) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle! }));
      return message;
    }
  }
  throw new Error(`no message on ${url} within ${timeoutMs} ms`);
}

describe('the assembly, as the local cloud reads it', () => {
  it('knows each subscription filter, the log group every function writes to, and the asynchronous settings', () => {
    // Act
    const filters = cloud.model.subscriptionFilters;

    // Assess
    expect(filters.map((f) => [f.name, f.filterPattern, f.destinationArn])).toEqual(
      expect.arrayContaining([
        ['clicks', '{ $._type = "switchyard.click" }', fn('Recorder').arn],
        ['plain-errors', '?"ERROR" ?"WARN"', fn('Recorder').arn],
        [expect.stringContaining('Poison'), '{ $._type = "switchyard.poison" }', fn('PoisonHandler').arn],
      ]),
    );
    expect(filters).toHaveLength(3);
    expect(filters.find((f) => f.name === 'clicks')!.logGroupName).toBe(fn('Producer').logGroupName);
    expect(fn('Producer').logGroupName).not.toMatch(/^\/aws\/lambda\//);
    expect(fn('Plain').logGroupName).toBe(`/aws/lambda/${PLAIN_FUNCTION_NAME}`);
    expect(fn('PoisonHandler').asyncInvoke).toEqual({ maximumRetryAttempts: 1, onFailureArn: cloud.model.queues.find((q) => q.logicalId.startsWith('PoisonFailures'))!.arn });
    expect(fn('DlqThrower').deadLetterArn).toBe(cloud.model.queues.find((q) => q.logicalId.startsWith('ThrowerDeadLetters'))!.arn);
    expect(cloud.model.unsupported.filter((r) => r.type.startsWith('AWS::Logs') || r.type.startsWith('AWS::Lambda'))).toEqual([]);
    expect(warnings.filter((w) => w.includes('subscription filter'))).toEqual([]);
  });
});

describe('CloudWatch Logs subscriptions in a running local cloud', () => {
  it('delivers the lines that match, and only those, gzipped and base64-encoded, to the destination function', async () => {
    // Prepare
    const click = (code: string) => JSON.stringify({ _type: 'switchyard.click', id: `click-${code}`, code, at: '2026-11-23T10:00:00.000Z' });
    const lines = [click('abc'), JSON.stringify({ _type: 'switchyard.view', code: 'abc' }), 'plain text naming switchyard.click', '{"_type": "switchyard.click"', click('def')];

    // Act
    const outcome = await cloud.runtime.invoke(fn('Producer').functionName, { lines });
    const where = outcome.result as { logGroup: string; logStream: string };
    await vi.waitFor(() => expect(recorded().flatMap((r) => r.data.logEvents).filter((e) => e.message.includes('click-'))).toHaveLength(2), { timeout: 10_000, interval: 50 });

    // Assess
    const deliveries = recorded().filter((r) => r.data.subscriptionFilters.includes('clicks'));
    const events = deliveries.flatMap((r) => r.data.logEvents);
    // One batch on AWS and here; sorted so that a batch split at the interval cannot fail the test.
    expect(events.map((e) => e.message).sort()).toEqual([click('abc'), click('def')]);
    expect(new Set(events.map((e) => e.id)).size).toBe(2);
    for (const event of events) {
      expect(event.id).toMatch(/^\d{50,60}$/);
      expect(BigInt(event.id) >> 144n).toBe(BigInt(event.timestamp));
    }
    expect(deliveries[0]!.event.awslogs.data).toMatch(/^H4sI[A-Za-z0-9+/=]+$/);
    expect(deliveries[0]!.data).toMatchObject({
      messageType: 'DATA_MESSAGE',
      owner: cloud.model.env.account,
      logGroup: fn('Producer').logGroupName,
      logStream: where.logStream,
      subscriptionFilters: ['clicks'],
    });
    expect(where.logGroup).toBe(fn('Producer').logGroupName);
  });

  it("filters the lines of a function without a log group of its own in /aws/lambda/<name>", async () => {
    // Act
    await cloud.runtime.invoke(PLAIN_FUNCTION_NAME, { lines: ['INFO all fine', 'WARN disk at 91%', 'ERROR disk full'] });
    await vi.waitFor(() => expect(recorded().filter((r) => r.data.subscriptionFilters.includes('plain-errors')).flatMap((r) => r.data.logEvents)).toHaveLength(2), {
      timeout: 10_000,
      interval: 50,
    });

    // Assess
    const delivered = recorded().filter((r) => r.data.subscriptionFilters.includes('plain-errors'));
    expect(delivered.flatMap((r) => r.data.logEvents.map((e) => e.message))).toEqual(['WARN disk at 91%', 'ERROR disk full']);
    expect(delivered[0]!.data.logGroup).toBe(`/aws/lambda/${PLAIN_FUNCTION_NAME}`);
  });

  it("retries a destination that throws MaximumRetryAttempts times, then sends Lambda's invocation record to its on-failure queue", async () => {
    // Prepare
    const poison = JSON.stringify({ _type: 'switchyard.poison', id: 'poison-1' });

    // Act
    await cloud.runtime.invoke(fn('Producer').functionName, { lines: [poison] });
    const message = await receiveOne(queueUrl('PoisonFailures'));

    // Assess
    const record = JSON.parse(message.Body!) as InvocationRecord;
    expect(record).toMatchObject({
      version: '1.0',
      requestContext: { functionArn: `${fn('PoisonHandler').arn}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: 2 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'poisoned event' },
    });
    expect(decodeAwsLogs(record.requestPayload as CloudWatchLogsEvent).logEvents.map((e) => e.message)).toEqual([poison]);
    // Printed lines travel apart from the outcome, so they are waited for.
    const attempts = () => logs.filter((line) => line.functionName === fn('PoisonHandler').functionName && line.line.startsWith('{"attempt"')).map((line) => (JSON.parse(line.line) as { attempt: string }).attempt);
    await vi.waitFor(() => expect(attempts()).toEqual([record.requestContext.requestId, record.requestContext.requestId]), { timeout: 5_000, interval: 50 });
  });
});

describe('the Invoke API with InvocationType Event', () => {
  const invoke = (name: string, body: unknown) =>
    fetch(`${cloud.aws.url}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`, {
      method: 'POST',
      headers: {
        'x-amz-invocation-type': 'Event',
        authorization: `AWS4-HMAC-SHA256 Credential=${LOCAL_CREDENTIALS.accessKeyId}/20261123/${cloud.model.env.region}/lambda/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(body),
    });

  it('answers 202 at once and, once the retries are spent, sends the event to the dead-letter queue with its attributes', async () => {
    // Act
    const response = await invoke(fn('DlqThrower').functionName, { order: 42 });
    const message = await receiveOne(queueUrl('ThrowerDeadLetters'));

    // Assess
    expect(response.status).toBe(202);
    expect(JSON.parse(message.Body!)).toEqual({ order: 42 });
    expect(message.MessageAttributes).toMatchObject({
      RequestID: { DataType: 'String', StringValue: response.headers.get('x-amzn-requestid') },
      ErrorCode: { DataType: 'Number', StringValue: '200' },
      ErrorMessage: { DataType: 'String', StringValue: 'poisoned event' },
    });
    const attempts = () => logs.filter((line) => line.functionName === fn('DlqThrower').functionName && line.line.startsWith('{"attempt"'));
    await vi.waitFor(() => expect(attempts()).toHaveLength(1), { timeout: 5_000, interval: 50 });
  });

  it('answers 404 for a function that does not exist, as cloud.invokeAsync refuses it in process', async () => {
    // Act
    const response = await invoke('no-such-function', {});

    // Assess
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ __type: 'ResourceNotFoundException' });
    expect(() => cloud.invokeAsync('no-such-function', {})).toThrow(/^ResourceNotFoundException/);
  });
});
