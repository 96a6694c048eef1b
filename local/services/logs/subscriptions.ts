/**
 * CloudWatch Logs subscription filters: every line a function writes is a log event of its log
 * group; the events that match a filter of that group are batched per filter and log stream,
 * and each batch goes to the filter's destination as one `awslogs` event.
 */
import type { LocalEnvironment, SubscriptionFilterModel } from '../../model';
import { encodeAwsLogs, logEventId, type AwsLogsLogEvent, type CloudWatchLogsEvent } from './awslogs';
import { compileFilterPattern, FilterPatternError, type FilterPattern } from './filter-pattern';

/** One log event as a log group receives it. */
export interface LogEventInput {
  readonly logGroup: string;
  readonly logStream: string;
  readonly message: string;
  /** @default now */
  readonly timestamp?: number;
}

export interface LogSubscriptionsOptions {
  readonly filters: readonly SubscriptionFilterModel[];
  readonly env: LocalEnvironment;
  /**
   * Hands one batch to its destination. For Lambda, CloudWatch Logs invokes asynchronously, so
   * this should return once Lambda has accepted the event; a rejection is a warning.
   */
  readonly deliver: (destinationArn: string, event: CloudWatchLogsEvent) => void | Promise<void>;
  /** How long a batch collects events before it is sent. @default 1000 */
  readonly flushIntervalMs?: number;
  /** A batch is sent as soon as it holds this many events. @default 10000 */
  readonly maxEvents?: number;
  /** ... or this many bytes (messages, plus 26 bytes of overhead per event as CloudWatch counts them). @default 1048576 */
  readonly maxBytes?: number;
  /** Told of patterns that cannot be served and deliveries that failed. */
  readonly onWarning?: (message: string) => void;
}

interface CompiledFilter {
  readonly model: SubscriptionFilterModel;
  readonly pattern: FilterPattern;
}

interface Batch {
  readonly filter: CompiledFilter;
  readonly logStream: string;
  readonly events: AwsLogsLogEvent[];
  bytes: number;
  timer?: NodeJS.Timeout;
}

const EVENT_OVERHEAD_BYTES = 26;
/** CloudWatch Logs' quota; served anyway, with a warning. */
const MAX_FILTERS_PER_GROUP = 2;

/** The subscription filters of a cloud model, fed with log events. */
export class LogSubscriptions {
  private readonly byGroup = new Map<string, CompiledFilter[]>();
  private readonly batches = new Map<string, Batch>();
  private readonly deliveries = new Set<Promise<void>>();
  private readonly flushIntervalMs: number;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly warn: (message: string) => void;
  private stopped = false;

  constructor(private readonly options: LogSubscriptionsOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
    this.maxEvents = options.maxEvents ?? 10_000;
    this.maxBytes = options.maxBytes ?? 1_048_576;
    this.warn = options.onWarning ?? (() => undefined);
    for (const model of options.filters) {
      try {
        const list = this.byGroup.get(model.logGroupName) ?? [];
        list.push({ model, pattern: compileFilterPattern(model.filterPattern) });
        this.byGroup.set(model.logGroupName, list);
      } catch (error) {
        if (!(error instanceof FilterPatternError)) throw error;
        this.warn(`subscription filter ${model.name} on ${model.logGroupName} delivers nothing: ${error.message}`);
      }
    }
    for (const [group, filters] of this.byGroup) {
      if (filters.length > MAX_FILTERS_PER_GROUP) this.warn(`${group} has ${filters.length} subscription filters; CloudWatch Logs allows ${MAX_FILTERS_PER_GROUP} per log group, so the deployment would fail`);
    }
  }

  /** Log groups that have at least one filter. */
  get logGroups(): string[] {
    return [...this.byGroup.keys()];
  }

  /** Takes one log event; a no-op for groups without filters and once stopped. */
  ingest(event: LogEventInput): void {
    if (this.stopped) return;
    const filters = this.byGroup.get(event.logGroup);
    if (!filters) return;
    for (const filter of filters) {
      if (!filter.pattern.matches(event.message)) continue;
      const timestamp = event.timestamp ?? Date.now();
      const logEvent = { id: logEventId(timestamp), timestamp, message: event.message };
      const size = Buffer.byteLength(event.message, 'utf8') + EVENT_OVERHEAD_BYTES;
      const key = `${filter.model.stackName}\u0000${filter.model.logicalId}\u0000${event.logStream}`;
      let batch = this.batches.get(key);
      if (batch && (batch.events.length >= this.maxEvents || batch.bytes + size > this.maxBytes)) {
        this.send(key, batch);
        batch = undefined;
      }
      if (!batch) {
        const fresh: Batch = { filter, logStream: event.logStream, events: [], bytes: 0 };
        fresh.timer = setTimeout(() => this.send(key, fresh), this.flushIntervalMs);
        this.batches.set(key, fresh);
        batch = fresh;
      }
      batch.events.push(logEvent);
      batch.bytes += size;
      if (batch.events.length >= this.maxEvents) this.send(key, batch);
    }
  }

  /** Sends every batch now, and waits for the deliveries under way. */
  async flush(): Promise<void> {
    for (const [key, batch] of [...this.batches]) this.send(key, batch);
    await Promise.allSettled([...this.deliveries]);
  }

  /** A final flush; later events are ignored. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.flush();
  }

  private send(key: string, batch: Batch): void {
    if (this.batches.get(key) === batch) this.batches.delete(key);
    clearTimeout(batch.timer);
    if (!batch.events.length) return;
    const { model } = batch.filter;
    const event = encodeAwsLogs({
      owner: this.options.env.account,
      logGroup: model.logGroupName,
      logStream: batch.logStream,
      subscriptionFilters: [model.name],
      logEvents: batch.events,
    });
    const delivery = Promise.resolve()
      .then(() => this.options.deliver(model.destinationArn, event))
      .catch((error: Error) => this.warn(`subscription filter ${model.name}: ${batch.events.length} event(s) not delivered to ${model.destinationArn}: ${error.message}`));
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }
}
