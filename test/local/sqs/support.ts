import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { EventSourceMappingModel, InvocationOutcome, LambdaInvoker, LocalEnvironment, QueueModel } from '../../../local/model';
import { startEventSourceMappings, startSqs, type EventSourceMappings, type LocalSqs } from '../../../local/services/sqs/index';

/** Not fauxqs's own account or default region, so that every translation shows. */
export const ENV: LocalEnvironment = { account: '123456789012', region: 'eu-west-1' };

/** What the model's queue URLs name: the AWS endpoint, which local SQS never sees by that name. */
export const AWS_ENDPOINT = 'http://127.0.0.1:4566';

export const queueArn = (name: string) => `arn:aws:sqs:${ENV.region}:${ENV.account}:${name}`;
export const queueUrl = (name: string, base = AWS_ENDPOINT) => `${base}/${ENV.account}/${name}`;
export const FUNCTION_ARN = `arn:aws:lambda:${ENV.region}:${ENV.account}:function:consumer`;

/** A queue as the assembly reader models it, with CloudFormation's defaults. */
export function queueModel(name: string, overrides: Partial<QueueModel> = {}): QueueModel {
  return {
    logicalId: name.replace(/[^A-Za-z0-9]/g, ''),
    stackName: 'test-stack',
    name,
    arn: queueArn(name),
    url: queueUrl(name),
    fifo: name.endsWith('.fifo'),
    contentBasedDeduplication: false,
    visibilityTimeoutSeconds: 30,
    messageRetentionSeconds: 345_600,
    delaySeconds: 0,
    receiveWaitTimeSeconds: 0,
    ...overrides,
  };
}

/** A mapping of `queue` to {@link FUNCTION_ARN} with Lambda's defaults. */
export function mappingModel(queue: QueueModel, overrides: Partial<EventSourceMappingModel> = {}): EventSourceMappingModel {
  return {
    logicalId: `${queue.logicalId}Mapping`,
    functionArn: FUNCTION_ARN,
    eventSourceArn: queue.arn,
    batchSize: 10,
    maximumBatchingWindowSeconds: 0,
    reportBatchItemFailures: false,
    enabled: true,
    filterPatterns: [],
    ...overrides,
  };
}

/** What the fake function answers: a result, a function error, and how long it takes. */
export interface FakeAnswer {
  readonly result?: unknown;
  readonly error?: { readonly errorType: string; readonly errorMessage: string };
  readonly delayMs?: number;
}

/** One invocation the fake function received. */
export interface Invocation {
  readonly target: string;
  readonly records: SQSRecord[];
  readonly startedAt: number;
  endedAt?: number;
}

/** A `LambdaInvoker` that records every batch, how many ran at once, and answers as told. */
export class FakeFunction implements LambdaInvoker {
  readonly invocations: Invocation[] = [];
  private active = 0;
  maxActive = 0;

  constructor(private readonly answer: (records: SQSRecord[], invocation: number) => FakeAnswer = () => ({})) {}

  async invoke(target: string, event: unknown): Promise<InvocationOutcome> {
    const records = (event as { Records: SQSRecord[] }).Records;
    const invocation: Invocation = { target, records, startedAt: Date.now() };
    this.invocations.push(invocation);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      const answer = this.answer(records, this.invocations.length);
      if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
      return { requestId: randomUUID(), durationMs: answer.delayMs ?? 0, ...(answer.error ? { error: answer.error } : { result: answer.result }) };
    } finally {
      this.active--;
      invocation.endedAt = Date.now();
    }
  }

  /** Every record's body, in delivery order. */
  bodies(): string[] {
    return this.invocations.flatMap((invocation) => invocation.records.map((record) => record.body));
  }
}

/** An SDK client for local SQS, signing for the cloud's region. */
export function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: ENV.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

/** Sends messages ten a call, in order; a FIFO message's group is the body's text before its digits (`a1` → `a`). */
export async function sendAll(client: SQSClient, queue: QueueModel, bodies: readonly string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    const entries = bodies.slice(start, start + 10).map((body, index) => ({
      Id: String(index),
      MessageBody: body,
      ...(queue.fifo ? { MessageGroupId: body.replace(/\d+$/, ''), MessageDeduplicationId: body } : {}),
    }));
    const answer = await client.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: entries }));
    if (answer.Failed?.length) throw new Error(`SendMessageBatch failed: ${JSON.stringify(answer.Failed)}`);
  }
}

/** The group of a FIFO record. */
export const groupOf = (record: SQSRecord) => record.attributes.MessageGroupId;

/** Polls `probe` until it returns something truthy; fails with `what` after `timeoutMs`. */
export async function eventually<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Local SQS with `queues`, an SDK client on it, and event source mappings started on demand. */
export interface Scenario {
  readonly sqs: LocalSqs;
  readonly client: SQSClient;
  /** Messages the mappings reported through `onError`. */
  readonly errors: string[];
  /** Starts `mappings` on this scenario's queues, invoking `fn`; stopped with the scenario. */
  startMappings(mappings: readonly EventSourceMappingModel[], fn: LambdaInvoker): EventSourceMappings;
  stop(): Promise<void>;
}

export async function startScenario(options: { queues: readonly QueueModel[] }): Promise<Scenario> {
  const sqs = await startSqs({ queues: options.queues, env: ENV, port: 0 });
  const client = sqsClient(sqs.endpoint);
  const errors: string[] = [];
  const started: EventSourceMappings[] = [];
  return {
    sqs,
    client,
    errors,
    startMappings(mappings, fn) {
      const running = startEventSourceMappings({
        mappings,
        queues: options.queues,
        invoker: fn,
        endpoint: sqs.endpoint,
        env: ENV,
        onError: (message) => errors.push(message),
      });
      started.push(running);
      return running;
    },
    async stop() {
      await Promise.all(started.map((running) => running.stop()));
      client.destroy();
      await sqs.stop();
    },
  };
}
