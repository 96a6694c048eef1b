/**
 * Lambda's SQS event source mappings: pollers that long-poll a queue, batch what they receive,
 * invoke the function and delete what it processed. Failed messages are left alone, so the
 * queue's visibility timeout brings them back and its redrive policy dead-letters them, as
 * on AWS. FIFO ordering is the queue's: SQS does not hand out a message group's next
 * messages while earlier ones are in flight, so batches of one group never overlap.
 */
import { Agent } from 'node:http';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { EventSourceMappingModel, InvocationOutcome, LambdaInvoker, LocalEnvironment, QueueModel } from '../../model';
import { readBatchResponse } from './batch-response';
import { compileRecordFilter, toSqsRecord, undocumentedFilterKeys, type RecordFilter } from './sqs-event';

/**
 * Batches in flight at once per mapping when `ScalingConfig.MaximumConcurrency` is unset.
 * Lambda starts five pollers per queue and scales from there towards a thousand; five keeps
 * parallelism (and its bugs) visible locally without outgrowing the ten execution environments
 * the local runtime gives a function.
 */
export const DEFAULT_MAXIMUM_CONCURRENCY = 5;

/** ReceiveMessage's own limits. */
const MAX_MESSAGES_PER_RECEIVE = 10;
const LONG_POLL_SECONDS = 20;
/** DeleteMessageBatch's limit. */
const MAX_DELETES_PER_CALL = 10;
/** WaitTimeSeconds counts whole seconds: the last fraction of a batching window is short polls this far apart. */
const WINDOW_TAIL_PAUSE_MS = 50;
/** After a failed ReceiveMessage, so an unreachable queue is not polled in a tight loop. */
const RECEIVE_RETRY_MS = 1_000;
const IDLE_CHECK_MS = 25;
/** How long {@link EventSourceMappings.idle} waits by default. */
const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

export interface EventSourceMappingsOptions {
  readonly mappings: readonly EventSourceMappingModel[];
  readonly queues: readonly QueueModel[];
  readonly invoker: LambdaInvoker;
  /**
   * An SQS endpoint the SDK can use. Local SQS's own endpoint keeps the pollers' calls out of
   * the AWS endpoint's call counts, which are the app's calls.
   */
  readonly endpoint: string;
  readonly env: LocalEnvironment;
  /** Told of what a person would want to know: function errors, refused batch responses, unreachable queues. */
  readonly onError?: (message: string) => void;
}

export interface EventSourceMappings {
  /** Ends polling at once (open long polls are aborted) and waits for batches being delivered. */
  stop(): Promise<void>;
  /**
   * Resolves once no batch is being delivered and every polled queue is empty (nothing
   * visible, in flight or delayed); for tests.
   * @param timeoutMs how long to wait; 10 s when left out
   * @throws Error naming what is still pending when that has not happened within `timeoutMs`
   */
  idle(timeoutMs?: number): Promise<void>;
}

/**
 * Starts polling the queue of every enabled SQS mapping. A mapping whose queue is not in
 * `queues`, whose source is not a queue, or whose filter criteria are malformed does not poll,
 * and `onError` says why.
 */
export function startEventSourceMappings(options: EventSourceMappingsOptions): EventSourceMappings {
  const report = options.onError ?? (() => undefined);
  const client = new SQSClient({
    endpoint: options.endpoint,
    region: options.env.region,
    credentials: { accessKeyId: 'local-event-source', secretAccessKey: 'local-event-source' },
    // Every poller holds a connection for its long poll; the SDK's default pool of 50 would
    // leave deletes queued behind them once a few mappings run.
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: Infinity }) },
  });
  const stopping = new AbortController();
  const context: PollerContext = { client, invoker: options.invoker, env: options.env, report, signal: stopping.signal };

  const pollers: QueuePoller[] = [];
  for (const mapping of options.mappings) {
    const plan = planMapping(mapping, options.queues, report);
    if (plan) pollers.push(new QueuePoller(mapping, plan.queue, plan.filter, context));
  }
  const running = pollers.flatMap((poller) => poller.start());

  return {
    async stop() {
      stopping.abort();
      await Promise.allSettled(running);
      client.destroy();
    },
    async idle(timeoutMs = DEFAULT_IDLE_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      const queues = [...new Set(pollers.map((poller) => poller.queue))];
      for (;;) {
        const backlogs = await Promise.all(queues.map(async (queue) => ({ queue, messages: await backlog(client, queue) })));
        const busy = pollers.filter((poller) => poller.busy);
        const waiting = backlogs.filter((entry) => entry.messages > 0);
        if (busy.length === 0 && waiting.length === 0) return;
        if (Date.now() >= deadline) {
          const what = [
            ...busy.map((poller) => `${poller.name} is delivering a batch`),
            ...waiting.map((entry) => `${entry.queue.name} holds ${entry.messages} message(s)`),
          ];
          throw new Error(`event source mappings not idle after ${timeoutMs} ms: ${what.join('; ')}`);
        }
        await pause(IDLE_CHECK_MS);
      }
    },
  };
}

interface PollerContext {
  readonly client: SQSClient;
  readonly invoker: LambdaInvoker;
  readonly env: LocalEnvironment;
  readonly report: (message: string) => void;
  readonly signal: AbortSignal;
}

function planMapping(
  mapping: EventSourceMappingModel,
  queues: readonly QueueModel[],
  report: (message: string) => void,
): { queue: QueueModel; filter: RecordFilter } | undefined {
  if (!mapping.enabled) return undefined;
  if (!mapping.eventSourceArn.startsWith('arn:aws:sqs:')) {
    report(`${mapping.logicalId}: ${mapping.eventSourceArn} is not an SQS queue; only SQS event sources are served locally`);
    return undefined;
  }
  const queue = queues.find((candidate) => candidate.arn === mapping.eventSourceArn);
  if (!queue) {
    report(`${mapping.logicalId}: queue ${mapping.eventSourceArn} is not served locally, so the mapping does not poll`);
    return undefined;
  }
  const undocumented = undocumentedFilterKeys(mapping.filterPatterns);
  if (undocumented.length > 0) {
    report(`${mapping.logicalId}: its filter criteria use ${undocumented.join(', ')}; Lambda documents only body for SQS, so they are matched on the record locally but may not be on AWS`);
  }
  try {
    return { queue, filter: compileRecordFilter(mapping.filterPatterns) };
  } catch (error) {
    report(`${mapping.logicalId}: its filter criteria are not valid (${(error as Error).message}), so the mapping does not poll`);
    return undefined;
  }
}

/** The pollers of one mapping: as many loops as batches may be in flight, each gathering a batch, then delivering it. */
class QueuePoller {
  private delivering = 0;

  constructor(
    private readonly mapping: EventSourceMappingModel,
    readonly queue: QueueModel,
    private readonly filter: RecordFilter,
    private readonly context: PollerContext,
  ) {}

  get name(): string {
    return this.mapping.logicalId;
  }

  get busy(): boolean {
    return this.delivering > 0;
  }

  /** Starts the loops; each promise settles once stopping has ended it. */
  start(): Promise<void>[] {
    const loops = this.mapping.maximumConcurrency ?? DEFAULT_MAXIMUM_CONCURRENCY;
    return Array.from({ length: Math.max(1, loops) }, () => this.run());
  }

  private async run(): Promise<void> {
    const { signal, report } = this.context;
    while (!signal.aborted) {
      let batch: SQSRecord[];
      try {
        batch = await this.gather();
      } catch (error) {
        if (signal.aborted) return;
        report(`${this.name}: ReceiveMessage on ${this.queue.name} failed (${(error as Error).message}); polling again in ${RECEIVE_RETRY_MS} ms`);
        await pause(RECEIVE_RETRY_MS, signal);
        continue;
      }
      if (batch.length === 0) continue;
      this.delivering++;
      try {
        await this.deliver(batch);
      } finally {
        this.delivering--;
      }
    }
  }

  /**
   * Receives until the batch is full or, once it holds a record, the batching window has
   * passed; with no window, one receive that brings a record ends it. Records the filter
   * criteria refuse are deleted on the way, as Lambda does, and do not count.
   */
  private async gather(): Promise<SQSRecord[]> {
    const { batchSize } = this.mapping;
    const windowMs = this.mapping.maximumBatchingWindowSeconds * 1000;
    const batch: SQSRecord[] = [];
    let deadline: number | undefined;
    while (batch.length < batchSize && !this.context.signal.aborted) {
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) break;
      const waitSeconds = left === undefined ? LONG_POLL_SECONDS : Math.min(LONG_POLL_SECONDS, Math.floor(left / 1000));
      const received = await this.receive(Math.min(MAX_MESSAGES_PER_RECEIVE, batchSize - batch.length), waitSeconds);
      batch.push(...(await this.keepMatching(received)));
      if (batch.length === 0) continue;
      if (windowMs === 0) break;
      deadline ??= Date.now() + windowMs;
      if (received.length === 0 && waitSeconds === 0) await pause(Math.min(WINDOW_TAIL_PAUSE_MS, deadline - Date.now()), this.context.signal);
    }
    // Stopping abandons a gathered batch: its messages come back after their visibility timeout.
    return this.context.signal.aborted ? [] : batch;
  }

  private async receive(maxMessages: number, waitSeconds: number): Promise<SQSRecord[]> {
    const { client, env, signal } = this.context;
    const answer = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queue.url,
        MaxNumberOfMessages: maxMessages,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: signal },
    );
    return (answer.Messages ?? []).map((message) => toSqsRecord(message, this.queue.arn, env.region));
  }

  private async keepMatching(records: readonly SQSRecord[]): Promise<SQSRecord[]> {
    const kept = records.filter((record) => this.filter(record));
    if (kept.length < records.length) await this.delete(records.filter((record) => !kept.includes(record)));
    return kept;
  }

  /** Invokes the function and deletes what it processed: all on success, none on error, all but the reported failures with `ReportBatchItemFailures`. */
  private async deliver(batch: readonly SQSRecord[]): Promise<void> {
    const { invoker, report } = this.context;
    const comesBack = 'it returns to the queue after its visibility timeout';
    let outcome: InvocationOutcome;
    try {
      outcome = await invoker.invoke(this.mapping.functionArn, { Records: batch });
    } catch (error) {
      report(`${this.name}: invoking ${this.mapping.functionArn} failed (${(error as Error).message}); ${comesBack}`);
      return;
    }
    if (outcome.error) {
      report(`${this.name}: ${this.mapping.functionArn} failed on a batch of ${batch.length} (${outcome.error.errorType}: ${outcome.error.errorMessage}); ${comesBack}`);
      return;
    }
    if (!this.mapping.reportBatchItemFailures) return this.delete(batch);

    const verdict = readBatchResponse(outcome.result, batch.map((record) => record.messageId));
    if (verdict.kind === 'invalid') {
      report(`${this.name}: the partial batch response of ${this.mapping.functionArn} is not valid (${verdict.reason}), so the whole batch failed; ${comesBack}`);
      return;
    }
    await this.delete(batch.filter((record) => !verdict.failed.has(record.messageId)));
  }

  /** Deletes records, ten a call; not cut short by stopping, so a delivered batch is settled. */
  private async delete(records: readonly SQSRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += MAX_DELETES_PER_CALL) {
      const chunk = records.slice(start, start + MAX_DELETES_PER_CALL);
      try {
        const answer = await this.context.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.queue.url,
            Entries: chunk.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
          }),
        );
        for (const failure of answer.Failed ?? []) {
          this.context.report(`${this.name}: message ${chunk[Number(failure.Id)]?.messageId} could not be deleted (${failure.Code}: ${failure.Message})`);
        }
      } catch (error) {
        this.context.report(`${this.name}: DeleteMessageBatch on ${this.queue.name} failed (${(error as Error).message})`);
      }
    }
  }
}

/** Messages in a queue: visible, in flight and delayed. */
async function backlog(client: SQSClient, queue: QueueModel): Promise<number> {
  const answer = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return Object.values(answer.Attributes ?? {}).reduce((sum, value) => sum + Number(value), 0);
}

/** Waits `ms`, or less if `signal` aborts; never rejects. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
