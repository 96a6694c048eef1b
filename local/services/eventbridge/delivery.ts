/**
 * Delivery of matched events to targets, as EventBridge does it: asynchronously, retried with
 * exponential backoff and jitter while the target's retry policy allows, then sent to the
 * target's dead-letter queue, or dropped and logged when it has none.
 *
 * Errors that retrying cannot fix (an input template that gives invalid JSON, a target of a
 * kind this emulator cannot reach) skip the retries, as AWS does for missing permissions or
 * missing resources.
 */
import { InputTransformationError, type EventBridgeEvent, type InputRenderer } from './transform';

/** How events leave the bus; the local cloud wires these to its Lambda runtime and SQS. */
export interface EventBridgeDeliver {
  /**
   * Hands an event to a function. EventBridge invokes asynchronously: resolve once the
   * invocation is accepted; reject when it is not (the delivery is then retried).
   */
  lambda(functionArn: string, event: unknown): Promise<void>;
  /** Sends a message; reject when the queue does not take it. */
  sqs(queueArn: string, body: string, options: SqsDeliveryOptions): Promise<void>;
}

/** How a message is sent to a queue. */
export interface SqsDeliveryOptions {
  /** For FIFO queue targets (`SqsParameters.MessageGroupId`). */
  readonly messageGroupId?: string;
  /**
   * String message attributes. Dead-lettered events carry AWS's: `RULE_ARN`, `TARGET_ARN`,
   * `ERROR_CODE`, `ERROR_MESSAGE`, `RETRY_ATTEMPTS` and, when a retry limit ended the
   * delivery, `EXHAUSTED_RETRY_CONDITION`.
   */
  readonly messageAttributes?: Readonly<Record<string, string>>;
}

/** Backoff between attempts: the n-th retry waits about `min(max, base * 2^(n-1))`, jittered. */
export interface RetryTiming {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * AWS documents the policy (185 retries over 24 hours by default) but not the delays; these
 * spread 185 retries over roughly that day.
 */
export const DEFAULT_RETRY_TIMING: RetryTiming = { baseDelayMs: 1_000, maxDelayMs: 480_000 };

/** EventBridge's defaults for a target without a RetryPolicy. */
export const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185;
export const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 86_400;

/** One target, ready to receive events. */
export interface DeliveryTarget {
  readonly id: string;
  readonly arn: string;
  readonly render: InputRenderer;
  readonly messageGroupId?: string;
  readonly deadLetterArn?: string;
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeSeconds: number;
}

/** One event on its way to one target of one rule. */
export interface DeliveryJob {
  readonly event: EventBridgeEvent;
  readonly ingestionTime: Date;
  readonly rule: { readonly name: string; readonly arn: string };
  readonly target: DeliveryTarget;
}

/** Counts since the dispatcher was made. */
export interface DeliveryStats {
  /** Jobs started: one per target of every rule an event matched. */
  readonly dispatched: number;
  readonly delivered: number;
  /** Attempts the target refused (a job retried twice then delivered counts 2). */
  readonly failedAttempts: number;
  readonly retries: number;
  readonly deadLettered: number;
  /** Jobs given up with no dead-letter queue, or whose dead-lettering failed too. */
  readonly dropped: number;
  /** Jobs waiting for an attempt when the dispatcher was stopped. */
  readonly abandoned: number;
}

export interface DispatcherOptions {
  readonly deliver: EventBridgeDeliver;
  /** Delivers to another event bus (a target ARN of `arn:aws:events:...:event-bus/...`). */
  readonly forwardToBus: (busArn: string, event: EventBridgeEvent) => Promise<void>;
  readonly now: () => Date;
  /** In [0, 1); spreads retries as AWS's jitter does. */
  readonly random: () => number;
  readonly retry: RetryTiming;
  readonly log: (message: string) => void;
}

/** A failure no retry can cure; the job goes straight to its dead-letter queue. */
export class PermanentDeliveryError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PermanentDeliveryError';
  }
}

interface Sleeper {
  readonly timer: ReturnType<typeof setTimeout>;
  readonly wake: (completed: boolean) => void;
}

type Outcome = { readonly delivered: true } | { readonly delivered: false; readonly code: string; readonly message: string; readonly retryable: boolean };

/** Runs delivery jobs in the background and keeps count of how they end. */
export class TargetDispatcher {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sleepers = new Set<Sleeper>();
  private readonly counts = { dispatched: 0, delivered: 0, failedAttempts: 0, retries: 0, deadLettered: 0, dropped: 0, abandoned: 0 };

  constructor(private readonly options: DispatcherOptions) {}

  /** Starts a job; the first attempt happens after the caller's turn, as PutEvents returns first. */
  dispatch(job: DeliveryJob): void {
    this.counts.dispatched++;
    const running: Promise<void> = this.run(job)
      .catch((error: unknown) => this.options.log(`delivery of event ${job.event.id} failed unexpectedly: ${String(error)}`))
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  /** Resolves once every job, retries included, has ended. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Abandons every job waiting for its next attempt (used when the local cloud stops). */
  cancelPending(): void {
    for (const sleeper of this.sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.wake(false);
    }
  }

  stats(): DeliveryStats {
    return { ...this.counts };
  }

  private async run(job: DeliveryJob): Promise<void> {
    let delayMs = 0;
    for (let attempt = 1; ; attempt++) {
      if (!(await this.sleep(delayMs))) {
        this.counts.abandoned++;
        return;
      }
      if (attempt > 1) this.counts.retries++;
      const outcome = await this.attempt(job);
      if (outcome.delivered) {
        this.counts.delivered++;
        return;
      }
      this.counts.failedAttempts++;
      const retriesDone = attempt - 1;
      delayMs = this.backoff(attempt);
      const verdict = this.giveUp(job, outcome, retriesDone, delayMs);
      if (verdict === 'retry') continue;
      await this.deadLetter(job, outcome, retriesDone, verdict.exhausted);
      return;
    }
  }

  /** Whether to try again, or why not (no `exhausted` condition for a permanent error). */
  private giveUp(
    job: DeliveryJob,
    failure: Extract<Outcome, { delivered: false }>,
    retriesDone: number,
    nextDelayMs: number,
  ): 'retry' | { readonly exhausted?: string } {
    if (!failure.retryable) return {};
    if (retriesDone >= job.target.maximumRetryAttempts) return { exhausted: 'MaximumRetryAttempts' };
    const ageAtRetryMs = this.options.now().getTime() + nextDelayMs - job.ingestionTime.getTime();
    if (ageAtRetryMs > job.target.maximumEventAgeSeconds * 1000) return { exhausted: 'MaximumEventAgeInSeconds' };
    return 'retry';
  }

  private async attempt(job: DeliveryJob): Promise<Outcome> {
    try {
      await this.send(job);
      return { delivered: true };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof PermanentDeliveryError) return { delivered: false, code: error.code, message, retryable: false };
      return { delivered: false, code: 'ERROR_FROM_TARGET', message, retryable: true };
    }
  }

  private async send({ event, ingestionTime, rule, target }: DeliveryJob): Promise<void> {
    let input;
    try {
      input = target.render(event, { ruleName: rule.name, ruleArn: rule.arn, ingestionTime });
    } catch (error) {
      if (error instanceof InputTransformationError) throw new PermanentDeliveryError('INVALID_INPUT', error.message);
      throw error;
    }
    const service = target.arn.split(':')[2];
    switch (service) {
      case 'lambda':
        return this.options.deliver.lambda(target.arn, input.value);
      case 'sqs':
        return this.options.deliver.sqs(target.arn, input.text, target.messageGroupId === undefined ? {} : { messageGroupId: target.messageGroupId });
      case 'events':
        return this.options.forwardToBus(target.arn, event);
      default:
        throw new PermanentDeliveryError('UNSUPPORTED_TARGET', `targets of type ${service ?? '?'} are not emulated locally`);
    }
  }

  private async deadLetter(
    job: DeliveryJob,
    failure: Extract<Outcome, { delivered: false }>,
    retriesDone: number,
    exhausted: string | undefined,
  ): Promise<void> {
    const { event, rule, target } = job;
    const what = `event ${event.id} for target ${target.id} of rule ${rule.name} after ${retriesDone} retries: ${failure.message}`;
    if (target.deadLetterArn === undefined) {
      this.counts.dropped++;
      this.options.log(`dropped ${what}`);
      return;
    }
    const messageAttributes: Record<string, string> = {
      RULE_ARN: rule.arn,
      TARGET_ARN: target.arn,
      ERROR_CODE: failure.code,
      ERROR_MESSAGE: failure.message,
      RETRY_ATTEMPTS: String(retriesDone),
    };
    if (exhausted !== undefined) messageAttributes['EXHAUSTED_RETRY_CONDITION'] = exhausted;
    try {
      await this.options.deliver.sqs(target.deadLetterArn, JSON.stringify(event), { messageAttributes });
      this.counts.deadLettered++;
      this.options.log(`dead-lettered ${what}`);
    } catch (error) {
      this.counts.dropped++;
      this.options.log(`dropped ${what} (dead-letter queue refused it: ${error instanceof Error ? error.message : String(error)})`);
    }
  }

  /** Delay before the n-th retry: exponential, capped, with "equal jitter". */
  private backoff(retry: number): number {
    const { baseDelayMs, maxDelayMs } = this.options.retry;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1));
    return ceiling / 2 + (this.options.random() * ceiling) / 2;
  }

  /** Waits; resolves false if the wait was cancelled. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        timer: setTimeout(() => sleeper.wake(true), ms),
        wake: (completed) => {
          this.sleepers.delete(sleeper);
          resolve(completed);
        },
      };
      this.sleepers.add(sleeper);
    });
  }
}
