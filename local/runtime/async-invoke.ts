/**
 * Lambda's asynchronous invocation, as every event source that "invokes asynchronously" gets it
 * (EventBridge rules, S3 notifications, CloudWatch Logs subscriptions, `Invoke` with
 * `InvocationType: Event`): the event is accepted at once, run, retried on a function error
 * (`MaximumRetryAttempts`, 2 by default) unless it grew older than `MaximumEventAgeInSeconds`,
 * and then its record goes to the function's on-success or on-failure destination, and a failed
 * event to its dead-letter queue.
 *
 * AWS waits a minute before the first retry and two before the second; here the waits are
 * `retryDelaysMs`, a second and two by default, so that a failure reaches its destination
 * while someone is still watching.
 */
import { randomUUID } from 'node:crypto';
import type { FunctionModel, InvocationOutcome } from '../model';

/** What an asynchronous invocation needs of the runtime. */
export interface AsyncInvocationRuntime {
  find(target: string): FunctionModel | undefined;
  invoke(target: string, event: unknown, options?: { readonly requestId?: string }): Promise<InvocationOutcome>;
}

/** An SQS message attribute, as `SendMessage` takes it. */
export interface MessageAttribute {
  readonly DataType: 'String' | 'Number';
  readonly StringValue: string;
}

/** Where records and dead letters are sent; each throws when the target cannot take them. */
export interface AsyncInvocationTargets {
  /** Sends one message to a standard SQS queue, by ARN. */
  sqs(queueArn: string, body: string, attributes?: Readonly<Record<string, MessageAttribute>>): Promise<void>;
  /** Puts one event on an event bus, by ARN. Without it, event bus destinations fail with a warning. */
  eventBridge?(busArn: string, entry: { readonly source: string; readonly detailType: string; readonly detail: unknown; readonly resources: readonly string[] }): Promise<void>;
}

/** Why a record was sent (`requestContext.condition`). */
export type InvocationCondition = 'Success' | 'RetriesExhausted' | 'EventAgeExceeded';

/** The invocation record Lambda sends to an asynchronous invocation's destination. */
export interface InvocationRecord {
  readonly version: '1.0';
  /** ISO 8601, when the record was made. */
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    /** The function's ARN with the version that ran: `arn:aws:lambda:...:function:name:$LATEST`. */
    readonly functionArn: string;
    readonly condition: InvocationCondition;
    readonly approximateInvokeCount: number;
  };
  /** The event, as the function received it. */
  readonly requestPayload: unknown;
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    /** `Unhandled` when the function threw, timed out or crashed. */
    readonly functionError?: 'Unhandled' | 'Handled';
  };
  /** What the function returned, or its error (`{ errorType, errorMessage, trace }`). */
  readonly responsePayload: unknown;
}

/** `Invoke` refused the event: no such function. */
export class AsyncInvokeError extends Error {
  constructor(
    readonly type: 'ResourceNotFoundException',
    message: string,
  ) {
    super(`${type}: ${message}`);
    this.name = 'AsyncInvokeError';
  }
}

export interface AsyncInvokerOptions {
  readonly runtime: AsyncInvocationRuntime;
  readonly targets: AsyncInvocationTargets;
  /**
   * How long to wait before each retry; the last entry is reused when a function allows more
   * retries than it lists. AWS waits 60 s, then 120 s.
   * @default [1000, 2000]
   */
  readonly retryDelaysMs?: readonly number[];
  /** Told of events dropped and records that could not be delivered. */
  readonly onWarning?: (message: string) => void;
}

/** Lambda's defaults when a function has no `EventInvokeConfig`. */
const DEFAULT_RETRY_ATTEMPTS = 2;
const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21_600;
/** How long `stop` waits for attempts already running before it returns. */
const STOP_GRACE_MS = 5_000;

/** Runs asynchronous invocations with Lambda's retries, event age, destinations and dead-letter queues. */
export class AsyncInvoker {
  private readonly retryDelaysMs: readonly number[];
  private readonly warn: (message: string) => void;
  /** Events not yet settled: running, or waiting for a retry. */
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private stopped = false;

  constructor(private readonly options: AsyncInvokerOptions) {
    this.retryDelaysMs = options.retryDelaysMs?.length ? options.retryDelaysMs : [1_000, 2_000];
    this.warn = options.onWarning ?? (() => undefined);
  }

  /**
   * Accepts an event for a function and runs it in the background, as `Invoke` with
   * `InvocationType: Event` does (202 at once).
   * @param target the function's ARN (a qualifier is ignored), name or logical id
   * @returns the request id every attempt runs under, and that its records carry
   * @throws AsyncInvokeError ResourceNotFoundException when there is no such function
   */
  invoke(target: string, event: unknown): { readonly requestId: string } {
    const fn = this.options.runtime.find(target);
    if (!fn) throw new AsyncInvokeError('ResourceNotFoundException', `Function not found: ${target}`);
    const requestId = randomUUID();
    if (this.stopped) {
      this.warn(`${fn.functionName}: asynchronous event ${requestId} dropped: the local cloud is stopping`);
      return { requestId };
    }
    const run = this.run(fn, event, requestId).catch((error: Error) => this.warn(`${fn.functionName}: asynchronous event ${requestId} failed: ${error.message}`));
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
    return { requestId };
  }

  /** Resolves once every accepted event has settled (its retries and destinations included). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  /**
   * Stops retrying: events waiting for a retry are dropped, and attempts already running get
   * a few seconds to finish (and reach their destinations) before it returns.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.timers) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    this.timers.clear();
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((resolve) => (grace = setTimeout(resolve, STOP_GRACE_MS)))]);
    clearTimeout(grace);
  }

  private async run(fn: FunctionModel, event: unknown, requestId: string): Promise<void> {
    const config = fn.asyncInvoke ?? {};
    const maxAttempts = 1 + clamp(config.maximumRetryAttempts ?? DEFAULT_RETRY_ATTEMPTS, 0, 2);
    const maxAgeMs = (config.maximumEventAgeSeconds ?? DEFAULT_MAXIMUM_EVENT_AGE_SECONDS) * 1000;
    const accepted = Date.now();
    let attempts = 0;
    let outcome: InvocationOutcome | undefined;
    let condition: InvocationCondition = 'RetriesExhausted';
    for (;;) {
      attempts++;
      outcome = await this.options.runtime
        .invoke(fn.arn, event, { requestId })
        .catch((error: Error): InvocationOutcome => ({ requestId, durationMs: 0, error: { errorType: 'Runtime.Unknown', errorMessage: error.message } }));
      if (!outcome.error) break;
      if (attempts >= maxAttempts) break;
      await this.wait(this.retryDelaysMs[Math.min(attempts - 1, this.retryDelaysMs.length - 1)]!);
      if (this.stopped) {
        this.warn(`${fn.functionName}: asynchronous event ${requestId} dropped after ${attempts} attempt(s): the local cloud is stopping`);
        return;
      }
      if (Date.now() - accepted > maxAgeMs) {
        condition = 'EventAgeExceeded';
        break;
      }
    }

    const failed = outcome.error !== undefined;
    const record: InvocationRecord = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: { requestId, functionArn: `${fn.arn}:$LATEST`, condition: failed ? condition : 'Success', approximateInvokeCount: attempts },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(failed ? { functionError: 'Unhandled' as const } : {}) },
      responsePayload: failed ? outcome.error : (outcome.result ?? null),
    };
    const destination = failed ? config.onFailureArn : config.onSuccessArn;
    if (destination) await this.sendRecord(fn, destination, record);
    if (failed && fn.deadLetterArn) await this.sendDeadLetter(fn, fn.deadLetterArn, event, requestId, outcome.error!);
    if (failed && !destination && !fn.deadLetterArn) {
      this.warn(`${fn.functionName}: asynchronous event ${requestId} dropped after ${attempts} attempt(s): ${outcome.error!.errorType}: ${outcome.error!.errorMessage}`);
    }
  }

  /** A record to its destination; a destination that cannot take it loses it, as Lambda's `DestinationDeliveryFailures`. */
  private async sendRecord(fn: FunctionModel, destination: string, record: InvocationRecord): Promise<void> {
    const service = destination.split(':')[2];
    try {
      if (service === 'sqs') await this.options.targets.sqs(destination, JSON.stringify(record));
      else if (service === 'lambda') this.invoke(destination, record);
      else if (service === 'events' && this.options.targets.eventBridge) {
        await this.options.targets.eventBridge(destination, {
          source: 'lambda',
          detailType: `Lambda Function Invocation Result - ${record.requestContext.condition === 'Success' ? 'Success' : 'Failure'}`,
          detail: record,
          resources: [destination, record.requestContext.functionArn],
        });
      } else throw new Error(`${service ?? destination} destinations are not served locally`);
    } catch (error) {
      this.warn(`${fn.functionName}: the record of ${record.requestContext.requestId} could not go to ${destination}: ${(error as Error).message}`);
    }
  }

  /** The event as it came, with Lambda's dead-letter attributes (`RequestID`, `ErrorCode`, `ErrorMessage` up to 1 KB). */
  private async sendDeadLetter(fn: FunctionModel, target: string, event: unknown, requestId: string, error: NonNullable<InvocationOutcome['error']>): Promise<void> {
    try {
      if (target.split(':')[2] !== 'sqs') throw new Error('only SQS dead-letter queues are served locally');
      await this.options.targets.sqs(target, JSON.stringify(event), {
        RequestID: { DataType: 'String', StringValue: requestId },
        ErrorCode: { DataType: 'Number', StringValue: '200' },
        ErrorMessage: { DataType: 'String', StringValue: truncateUtf8(error.errorMessage || error.errorType, 1024) },
      });
    } catch (failure) {
      this.warn(`${fn.functionName}: event ${requestId} could not go to its dead-letter queue ${target}: ${(failure as Error).message}`);
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.timers.add(entry);
    });
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.trunc(value)));
}

function truncateUtf8(text: string, bytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= bytes) return text;
  // Cutting a multi-byte character leaves a replacement character; drop it.
  return buffer.subarray(0, bytes).toString('utf8').replace(/\uFFFD$/, '');
}
