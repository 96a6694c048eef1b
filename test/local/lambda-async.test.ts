import { describe, expect, it } from 'vitest';
import type { FunctionModel, InvocationOutcome } from '../../local/model';
import { AsyncInvokeError, AsyncInvoker, type InvocationRecord, type MessageAttribute } from '../../local/runtime/async-invoke';

const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:consumer';
const FAILED_QUEUE = 'arn:aws:sqs:eu-west-1:123456789012:failed';
const DLQ = 'arn:aws:sqs:eu-west-1:123456789012:dlq';

function fn(overrides: Partial<FunctionModel> = {}): FunctionModel {
  return {
    logicalId: 'Consumer',
    stackName: 'fixture',
    constructPath: 'fixture/Consumer/Resource',
    functionName: 'consumer',
    arn: ARN,
    handler: 'index.handler',
    codeDir: '/nowhere',
    runtime: 'nodejs24.x',
    timeoutSeconds: 3,
    memoryMb: 128,
    environment: {},
    unresolved: [],
    ...overrides,
  };
}

/** A runtime whose functions answer from a script: one outcome per attempt, the last repeating. */
function fakeRuntime(functions: FunctionModel[], answers: Record<string, Partial<InvocationOutcome>[]>) {
  const calls: { target: string; event: unknown; requestId?: string }[] = [];
  return {
    calls,
    runtime: {
      find: (target: string) => functions.find((f) => f.arn === target || f.functionName === target || target.startsWith(`${f.arn}:`)),
      invoke: async (target: string, event: unknown, options?: { requestId?: string }): Promise<InvocationOutcome> => {
        calls.push({ target, event, ...(options?.requestId ? { requestId: options.requestId } : {}) });
        const name = functions.find((f) => f.arn === target)!.functionName;
        const script = answers[name] ?? [{ result: null }];
        const answer = script[Math.min(calls.filter((c) => c.target === target).length - 1, script.length - 1)]!;
        return { requestId: options?.requestId ?? 'r', durationMs: 1, ...answer };
      },
    },
  };
}

function start(functions: FunctionModel[], answers: Record<string, Partial<InvocationOutcome>[]>) {
  const { runtime, calls } = fakeRuntime(functions, answers);
  const sent: { queueArn: string; body: string; attributes?: Readonly<Record<string, MessageAttribute>> }[] = [];
  const putEvents: { busArn: string; entry: unknown }[] = [];
  const warnings: string[] = [];
  const invoker = new AsyncInvoker({
    runtime,
    retryDelaysMs: [5, 10],
    onWarning: (message) => warnings.push(message),
    targets: {
      sqs: async (queueArn, body, attributes) => {
        sent.push({ queueArn, body, ...(attributes ? { attributes } : {}) });
      },
      eventBridge: async (busArn, entry) => {
        putEvents.push({ busArn, entry });
      },
    },
  });
  return { invoker, calls, sent, putEvents, warnings };
}

const boom = { error: { errorType: 'Error', errorMessage: 'boom', trace: ['Error: boom', '    at handler'] } };

describe('AsyncInvoker', () => {
  it('retries a failing event twice by default under one request id, then drops it with a warning', async () => {
    // Prepare
    const { invoker, calls, warnings } = start([fn()], { consumer: [boom] });

    // Act
    const { requestId } = invoker.invoke(ARN, { n: 1 });
    await invoker.idle();

    // Assess
    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c.requestId === requestId)).toBe(true);
    expect(warnings).toEqual([expect.stringContaining('dropped after 3 attempt(s): Error: boom')]);
  });

  it("honours MaximumRetryAttempts and sends the invocation record to the on-failure queue in Lambda's format", async () => {
    // Prepare
    const { invoker, calls, sent } = start([fn({ asyncInvoke: { maximumRetryAttempts: 1, onFailureArn: FAILED_QUEUE } })], { consumer: [boom] });

    // Act
    const { requestId } = invoker.invoke('consumer', { n: 2 });
    await invoker.idle();

    // Assess
    expect(calls).toHaveLength(2);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.queueArn).toBe(FAILED_QUEUE);
    const record = JSON.parse(sent[0]!.body) as InvocationRecord;
    expect(record).toEqual({
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      requestContext: { requestId, functionArn: `${ARN}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: 2 },
      requestPayload: { n: 2 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'boom', trace: ['Error: boom', '    at handler'] },
    });
  });

  it('does not retry with MaximumRetryAttempts 0, and a later success stops the retries', async () => {
    // Prepare
    const { invoker, calls } = start([fn({ functionName: 'once', arn: `${ARN}-once`, asyncInvoke: { maximumRetryAttempts: 0 } }), fn()], { once: [boom], consumer: [boom, { result: 'ok' }] });

    // Act
    invoker.invoke(`${ARN}-once`, {});
    invoker.invoke(ARN, {});
    await invoker.idle();

    // Assess
    expect(calls.filter((c) => c.target === `${ARN}-once`)).toHaveLength(1);
    expect(calls.filter((c) => c.target === ARN)).toHaveLength(2);
  });

  it('sends the event as it came to the dead-letter queue, with RequestID, ErrorCode and ErrorMessage', async () => {
    // Prepare
    const { invoker, sent } = start([fn({ deadLetterArn: DLQ, asyncInvoke: { maximumRetryAttempts: 0 } })], { consumer: [{ error: { errorType: 'Error', errorMessage: 'x'.repeat(2000) } }] });

    // Act
    const { requestId } = invoker.invoke(ARN, { order: 7 });
    await invoker.idle();

    // Assess
    expect(sent).toEqual([
      {
        queueArn: DLQ,
        body: '{"order":7}',
        attributes: {
          RequestID: { DataType: 'String', StringValue: requestId },
          ErrorCode: { DataType: 'Number', StringValue: '200' },
          ErrorMessage: { DataType: 'String', StringValue: 'x'.repeat(1024) },
        },
      },
    ]);
  });

  it('sends a success record to the on-success destination, and event bus records as Lambda does', async () => {
    // Prepare
    const bus = 'arn:aws:events:eu-west-1:123456789012:event-bus/results';
    const { invoker, sent, putEvents } = start(
      [fn({ asyncInvoke: { onSuccessArn: FAILED_QUEUE } }), fn({ functionName: 'bus', arn: `${ARN}-bus`, asyncInvoke: { onFailureArn: bus, maximumRetryAttempts: 0 } })],
      { consumer: [{ result: { done: true } }], bus: [boom] },
    );

    // Act
    invoker.invoke(ARN, { a: 1 });
    invoker.invoke(`${ARN}-bus`, { b: 1 });
    await invoker.idle();

    // Assess
    expect(JSON.parse(sent[0]!.body)).toMatchObject({
      requestContext: { condition: 'Success', approximateInvokeCount: 1 },
      requestPayload: { a: 1 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { done: true },
    });
    expect(JSON.parse(sent[0]!.body).responseContext.functionError).toBeUndefined();
    expect(putEvents).toEqual([
      {
        busArn: bus,
        entry: {
          source: 'lambda',
          detailType: 'Lambda Function Invocation Result - Failure',
          detail: expect.objectContaining({ requestContext: expect.objectContaining({ condition: 'RetriesExhausted' }) }),
          resources: [bus, `${ARN}-bus:$LATEST`],
        },
      },
    ]);
  });

  it('hands a record to a Lambda destination as a new asynchronous event', async () => {
    // Prepare
    const { invoker, calls } = start([fn({ asyncInvoke: { onFailureArn: `${ARN}-handler`, maximumRetryAttempts: 0 } }), fn({ functionName: 'handler', arn: `${ARN}-handler` })], { consumer: [boom] });

    // Act
    invoker.invoke(ARN, { c: 1 });
    await invoker.idle();

    // Assess
    const handled = calls.find((c) => c.target === `${ARN}-handler`);
    expect(handled?.event).toMatchObject({ requestContext: { condition: 'RetriesExhausted' }, requestPayload: { c: 1 } });
  });

  it('refuses an unknown function at once, as Invoke does', () => {
    const { invoker } = start([fn()], {});
    expect(() => invoker.invoke('nope', {})).toThrow(AsyncInvokeError);
    expect(() => invoker.invoke('nope', {})).toThrow(/^ResourceNotFoundException/);
  });

  it('drops events waiting for a retry when stopped', async () => {
    // Prepare
    const { runtime, calls } = fakeRuntime([fn()], { consumer: [boom] });
    const warnings: string[] = [];
    const invoker = new AsyncInvoker({ runtime, retryDelaysMs: [60_000], onWarning: (m) => warnings.push(m), targets: { sqs: async () => undefined } });
    invoker.invoke(ARN, {});
    await new Promise((resolve) => setTimeout(resolve, 20));

    // Act
    await invoker.stop();
    await invoker.idle();

    // Assess
    expect(calls).toHaveLength(1);
    expect(warnings).toEqual([expect.stringContaining('stopping')]);
  });
});
