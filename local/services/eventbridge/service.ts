/**
 * The local EventBridge: event buses and rules from the cloud assembly, the AWS JSON 1.1 API
 * that SDKs and the CLI call (`handle`), delivery to Lambda and SQS targets with retries and
 * dead-letter queues, and schedule rules that fire on their `rate(...)` or `cron(...)`.
 *
 * It knows buses, rules and targets only as the model describes them, so it runs any CDK
 * app's rules. The HTTP server, and routing `X-Amz-Target: AWSEvents.<Operation>` here, are
 * the gateway's job.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { EventBusModel, EventRuleModel, EventTargetModel, LocalEnvironment } from '../../model';
import {
  DescribeEventBusRequest,
  entrySize,
  EventsApiError,
  ListEventBusesRequest,
  ListRulesRequest,
  ListTargetsByRuleRequest,
  paginate,
  parseRequest,
  parseTime,
  PutEventsRequest,
  PutRuleRequest,
  PutTargetsRequest,
  RemoveTargetsRequest,
  ruleShape,
  RuleRequest,
  targetModel,
  targetShape,
  type PutEventsEntry,
} from './api';
import {
  DEFAULT_MAXIMUM_EVENT_AGE_SECONDS,
  DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
  DEFAULT_RETRY_TIMING,
  PermanentDeliveryError,
  TargetDispatcher,
  type DeliveryStats,
  type DeliveryTarget,
  type EventBridgeDeliver,
  type RetryTiming,
} from './delivery';
import { compilePattern, InvalidEventPatternError, type PatternMatcher } from './pattern';
import { InvalidScheduleExpressionError, nextFireTime, parseScheduleExpression, type Schedule } from './schedule';
import { compileTargetInput, formatEventTime, InvalidTargetInputError, type EventBridgeEvent } from './transform';

export { EventsApiError } from './api';
export type { EventBridgeDeliver, SqsDeliveryOptions, RetryTiming } from './delivery';
export type { EventBridgeEvent } from './transform';

/** What the service is built from. */
export interface EventBridgeServiceOptions {
  readonly buses: readonly EventBusModel[];
  readonly rules: readonly EventRuleModel[];
  readonly env: LocalEnvironment;
  readonly deliver: EventBridgeDeliver;
  /** The clock, for event times, schedules and event age. @default () => new Date() */
  readonly now?: () => Date;
  /** Jitter for retry delays, in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Makes event ids. @default crypto.randomUUID */
  readonly newId?: () => string;
  /** Delays between delivery attempts; tests shrink them. @default DEFAULT_RETRY_TIMING */
  readonly retry?: Partial<RetryTiming>;
  /** Where dropped and dead-lettered deliveries are reported. @default a line on stderr */
  readonly log?: (message: string) => void;
}

/** An AWS JSON 1.1 response: the HTTP status and the JSON body. */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Counts since the service was made. */
export interface EventBridgeStats extends DeliveryStats {
  /** PutEvents entries accepted (each has an EventId). */
  readonly eventsAccepted: number;
  /** PutEvents entries refused with an ErrorCode. */
  readonly entriesFailed: number;
  readonly scheduledFirings: number;
}

/** PutEvents' limit on the summed size of its entries, computed as AWS documents. */
const MAX_PUT_EVENTS_BYTES = 256 * 1024;
const MAX_ENTRIES = 10;
const MAX_TARGETS_PER_RULE = 5;
/** setTimeout's longest delay (about 24.8 days); longer waits are made of several. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const DEFAULT_BUS = 'default';

interface Bus {
  readonly name: string;
  readonly arn: string;
}

interface Target {
  readonly model: EventTargetModel;
  readonly delivery: DeliveryTarget;
}

interface Rule {
  readonly name: string;
  readonly arn: string;
  readonly busName: string;
  state: 'ENABLED' | 'DISABLED';
  description?: string;
  eventPattern?: unknown;
  matcher?: PatternMatcher;
  scheduleExpression?: string;
  schedule?: Schedule;
  /** Where a rate schedule counts its periods from: when it was (re-)armed. */
  scheduleAnchor?: Date;
  targets: Target[];
}

/** The local EventBridge. */
export class EventBridgeService {
  private readonly env: LocalEnvironment;
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly log: (message: string) => void;
  private readonly buses = new Map<string, Bus>();
  private readonly rules = new Map<string, Rule>();
  private readonly dispatcher: TargetDispatcher;
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private running = false;
  private readonly counts = { eventsAccepted: 0, entriesFailed: 0, scheduledFirings: 0 };

  /**
   * Loads buses and rules; the `default` bus always exists.
   * @throws Error naming the rule, when a pattern, schedule or target input is invalid (the
   *   deployment would have failed on AWS too)
   */
  constructor(options: EventBridgeServiceOptions) {
    this.env = options.env;
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
    this.log = options.log ?? ((message) => process.stderr.write(`[eventbridge] ${message}\n`));
    this.dispatcher = new TargetDispatcher({
      deliver: options.deliver,
      forwardToBus: (arn, event) => this.forwardToBus(arn, event),
      now: this.now,
      random: options.random ?? Math.random,
      retry: { ...DEFAULT_RETRY_TIMING, ...options.retry },
      log: this.log,
    });

    this.addBus({ name: DEFAULT_BUS, arn: this.busArn(DEFAULT_BUS) });
    for (const bus of options.buses) this.addBus(bus);
    for (const model of options.rules) {
      // A rule on a bus the model does not list (one made outside the app) still gets its bus.
      if (!this.buses.has(model.busName)) this.addBus({ name: model.busName, arn: this.busArn(model.busName) });
      try {
        this.rules.set(ruleKey(model.busName, model.name), this.loadRule(model));
      } catch (error) {
        throw new Error(`EventBridge rule ${model.name} (${model.logicalId}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
  }

  /**
   * Serves one API operation (`PutEvents`, or `AWSEvents.PutEvents` as in `X-Amz-Target`).
   * Never throws: errors come back as AWS shapes them.
   */
  async handle(operation: string, body: unknown): Promise<ApiResponse> {
    const name = operation.startsWith('AWSEvents.') ? operation.slice('AWSEvents.'.length) : operation;
    try {
      return { status: 200, body: this.operation(name, body ?? {}) };
    } catch (error) {
      if (error instanceof EventsApiError) return { status: error.status, body: { __type: error.type, message: error.message } };
      this.log(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return { status: 500, body: { __type: 'InternalException', message: 'An internal error occurred.' } };
    }
  }

  /** Starts firing schedule rules. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const [key, rule] of this.rules) this.arm(key, rule);
  }

  /** Stops schedules and abandons deliveries waiting for a retry, so the process can exit. */
  stop(): void {
    this.running = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.dispatcher.cancelPending();
  }

  /** Resolves once every delivery under way (retries included) has ended. */
  idle(): Promise<void> {
    return this.dispatcher.idle();
  }

  stats(): EventBridgeStats {
    return { ...this.counts, ...this.dispatcher.stats() };
  }

  // -------------------------------------------------------------------------------------------
  // Model

  private addBus(bus: Bus): void {
    this.buses.set(bus.name, { name: bus.name, arn: bus.arn });
  }

  private busArn(name: string): string {
    return `arn:aws:events:${this.env.region}:${this.env.account}:event-bus/${name}`;
  }

  private ruleArn(busName: string, ruleName: string): string {
    const path = busName === DEFAULT_BUS ? ruleName : `${busName}/${ruleName}`;
    return `arn:aws:events:${this.env.region}:${this.env.account}:rule/${path}`;
  }

  private loadRule(model: EventRuleModel): Rule {
    const rule: Rule = { name: model.name, arn: model.arn, busName: model.busName, state: model.state, targets: [] };
    if (model.eventPattern !== undefined) {
      rule.eventPattern = model.eventPattern;
      rule.matcher = compilePattern(model.eventPattern);
    }
    if (model.scheduleExpression !== undefined) {
      rule.scheduleExpression = model.scheduleExpression;
      rule.schedule = parseScheduleExpression(model.scheduleExpression);
    }
    rule.targets = model.targets.map(loadTarget);
    return rule;
  }

  /** A bus by name or ARN; `undefined` names the default bus. */
  private findBus(nameOrArn: string | undefined): Bus | undefined {
    const ref = nameOrArn ?? DEFAULT_BUS;
    if (!ref.startsWith('arn:')) return this.buses.get(ref);
    return [...this.buses.values()].find((bus) => bus.arn === ref);
  }

  private requireBus(nameOrArn: string | undefined): Bus {
    const bus = this.findBus(nameOrArn);
    if (bus === undefined) throw new EventsApiError('ResourceNotFoundException', `Event bus ${nameOrArn} does not exist.`);
    return bus;
  }

  private requireRule(name: string, busNameOrArn: string | undefined): [string, Rule] {
    const bus = this.requireBus(busNameOrArn);
    const key = ruleKey(bus.name, name);
    const rule = this.rules.get(key);
    if (rule === undefined) throw new EventsApiError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus.name}.`);
    return [key, rule];
  }

  // -------------------------------------------------------------------------------------------
  // Routing

  /** Sends an event to every target of every enabled rule on the bus whose pattern it matches. */
  private route(bus: Bus, event: EventBridgeEvent, ingestionTime: Date): void {
    for (const rule of this.rules.values()) {
      if (rule.busName !== bus.name || rule.state !== 'ENABLED' || rule.matcher === undefined) continue;
      if (rule.matcher(event)) this.dispatchToTargets(rule, event, ingestionTime);
    }
  }

  private dispatchToTargets(rule: Rule, event: EventBridgeEvent, ingestionTime: Date): void {
    for (const target of rule.targets) {
      this.dispatcher.dispatch({ event, ingestionTime, rule: { name: rule.name, arn: rule.arn }, target: target.delivery });
    }
  }

  private async forwardToBus(arn: string, event: EventBridgeEvent): Promise<void> {
    const bus = this.findBus(arn);
    if (bus === undefined) throw new PermanentDeliveryError('NO_RESOURCE', `Event bus ${arn} does not exist.`);
    this.route(bus, event, this.now());
  }

  // -------------------------------------------------------------------------------------------
  // Schedules

  private arm(key: string, rule: Rule): void {
    this.disarm(key);
    if (!this.running || rule.state !== 'ENABLED' || rule.schedule === undefined) {
      delete rule.scheduleAnchor;
      return;
    }
    rule.scheduleAnchor ??= this.now();
    const next = nextFireTime(rule.schedule, this.now(), rule.scheduleAnchor);
    if (next === undefined) {
      this.log(`rule ${rule.name}: ${rule.scheduleExpression} never fires again`);
      return;
    }
    this.waitUntil(key, next, () => {
      this.fire(rule, next);
      this.arm(key, rule);
    });
  }

  private disarm(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  private waitUntil(key: string, when: Date, action: () => void): void {
    const delay = Math.min(Math.max(when.getTime() - this.now().getTime(), 0), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      if (this.now().getTime() < when.getTime()) this.waitUntil(key, when, action);
      else action();
    }, delay);
    this.timers.set(key, timer);
  }

  private fire(rule: Rule, scheduledTime: Date): void {
    this.counts.scheduledFirings++;
    const event: EventBridgeEvent = {
      version: '0',
      id: this.newId(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.env.account,
      time: formatEventTime(scheduledTime),
      region: this.env.region,
      resources: [rule.arn],
      detail: {},
    };
    this.dispatchToTargets(rule, event, this.now());
  }

  // -------------------------------------------------------------------------------------------
  // API

  private operation(name: string, body: unknown): unknown {
    switch (name) {
      case 'PutEvents':
        return this.putEvents(parseRequest(PutEventsRequest, body));
      case 'DescribeEventBus': {
        const bus = this.requireBus(parseRequest(DescribeEventBusRequest, body).Name);
        return { Name: bus.name, Arn: bus.arn };
      }
      case 'ListEventBuses': {
        const request = parseRequest(ListEventBusesRequest, body);
        const buses = [...this.buses.values()].filter((bus) => bus.name.startsWith(request.NamePrefix ?? ''));
        return paginate('EventBuses', buses.map((bus) => ({ Name: bus.name, Arn: bus.arn })), request);
      }
      case 'ListRules': {
        const request = parseRequest(ListRulesRequest, body);
        const bus = this.requireBus(request.EventBusName);
        const rules = [...this.rules.values()]
          .filter((rule) => rule.busName === bus.name && rule.name.startsWith(request.NamePrefix ?? ''))
          .sort((a, b) => a.name.localeCompare(b.name));
        return paginate('Rules', rules.map(ruleShape), request);
      }
      case 'DescribeRule': {
        const request = parseRequest(RuleRequest, body);
        const [, rule] = this.requireRule(request.Name, request.EventBusName);
        return { ...ruleShape(rule), CreatedBy: this.env.account };
      }
      case 'ListTargetsByRule': {
        const request = parseRequest(ListTargetsByRuleRequest, body);
        const [, rule] = this.requireRule(request.Rule, request.EventBusName);
        return paginate('Targets', rule.targets.map((target) => targetShape(target.model)), request);
      }
      case 'PutRule':
        return this.putRule(parseRequest(PutRuleRequest, body));
      case 'PutTargets':
        return this.putTargets(parseRequest(PutTargetsRequest, body));
      case 'RemoveTargets': {
        const request = parseRequest(RemoveTargetsRequest, body);
        const [, rule] = this.requireRule(request.Rule, request.EventBusName);
        rule.targets = rule.targets.filter((target) => !request.Ids.includes(target.model.id));
        return { FailedEntryCount: 0, FailedEntries: [] };
      }
      case 'DeleteRule':
        return this.deleteRule(parseRequest(RuleRequest, body));
      case 'EnableRule':
      case 'DisableRule': {
        const request = parseRequest(RuleRequest, body);
        const [key, rule] = this.requireRule(request.Name, request.EventBusName);
        rule.state = name === 'EnableRule' ? 'ENABLED' : 'DISABLED';
        this.arm(key, rule);
        return {};
      }
      default:
        throw new EventsApiError('UnknownOperationException', `Operation ${name} is not supported by the local EventBridge.`);
    }
  }

  private putEvents(request: z.infer<typeof PutEventsRequest>): unknown {
    const entries = request.Entries;
    if (entries.length < 1 || entries.length > MAX_ENTRIES) {
      const constraint = entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES}`;
      throw new EventsApiError('ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${constraint}`);
    }
    if (entries.reduce((total, entry) => total + entrySize(entry), 0) > MAX_PUT_EVENTS_BYTES) {
      throw new EventsApiError('ValidationException', 'Total size of the entries in the request is over the limit.');
    }

    const ingestionTime = this.now();
    const accepted: { bus: Bus; event: EventBridgeEvent }[] = [];
    const results = entries.map((entry) => {
      const admitted = this.admit(entry, ingestionTime);
      if ('errorCode' in admitted) {
        this.counts.entriesFailed++;
        return { ErrorCode: admitted.errorCode, ErrorMessage: admitted.errorMessage };
      }
      this.counts.eventsAccepted++;
      accepted.push(admitted);
      return { EventId: admitted.event.id };
    });
    for (const { bus, event } of accepted) this.route(bus, event, ingestionTime);
    return { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results };
  }

  /** Turns a PutEvents entry into an event on a bus, or says why not, as AWS words it. */
  private admit(
    entry: PutEventsEntry,
    ingestionTime: Date,
  ): { bus: Bus; event: EventBridgeEvent } | { errorCode: string; errorMessage: string } {
    const invalid = (parameter: string, reason: string) => ({
      errorCode: 'InvalidArgument',
      errorMessage: `Parameter ${parameter} is not valid. Reason: ${reason}`,
    });
    if (entry.Source === undefined) return invalid('Source', 'Source is a required argument.');
    if (entry.DetailType === undefined) return invalid('DetailType', 'DetailType is a required argument.');
    if (entry.Detail === undefined) return invalid('Detail', 'Detail is a required argument.');
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      detail = undefined;
    }
    // Detail must be a JSON object: a string, an array or broken JSON are all "malformed".
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return { errorCode: 'MalformedDetail', errorMessage: 'Detail is malformed.' };
    }
    // AWS silently accepts (and drops) events for a bus that does not exist; locally that
    // only hides typos, so the entry fails instead.
    const bus = this.findBus(entry.EventBusName);
    if (bus === undefined) return { errorCode: 'InvalidArgument', errorMessage: `Event bus ${entry.EventBusName} does not exist.` };
    const time = entry.Time === undefined ? ingestionTime : parseTime(entry.Time);
    if (time === undefined) return invalid('Time', 'Time is not a valid timestamp.');
    const event: EventBridgeEvent = {
      version: '0',
      id: this.newId(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: this.env.account,
      time: formatEventTime(time),
      region: this.env.region,
      resources: [...(entry.Resources ?? [])],
      detail,
    };
    return { bus, event };
  }

  private putRule(request: z.infer<typeof PutRuleRequest>): unknown {
    const bus = this.requireBus(request.EventBusName);
    if (request.EventPattern === undefined && request.ScheduleExpression === undefined) {
      throw new EventsApiError('ValidationException', 'Parameter(s) EventPattern or ScheduleExpression must be specified.');
    }
    const key = ruleKey(bus.name, request.Name);
    const existing = this.rules.get(key);
    const rule: Rule = {
      name: request.Name,
      arn: existing?.arn ?? this.ruleArn(bus.name, request.Name),
      busName: bus.name,
      state: request.State ?? 'ENABLED',
      targets: existing?.targets ?? [],
    };
    if (request.Description !== undefined) rule.description = request.Description;
    if (request.EventPattern !== undefined) {
      rule.eventPattern = parsePatternText(request.EventPattern);
      rule.matcher = compileApiPattern(rule.eventPattern);
    }
    if (request.ScheduleExpression !== undefined) {
      if (bus.name !== DEFAULT_BUS) {
        throw new EventsApiError('ValidationException', 'ScheduleExpression is supported only on the default event bus.');
      }
      rule.scheduleExpression = request.ScheduleExpression;
      rule.schedule = compileApiSchedule(request.ScheduleExpression);
    }
    this.rules.set(key, rule);
    this.arm(key, rule);
    return { RuleArn: rule.arn };
  }

  private putTargets(request: z.infer<typeof PutTargetsRequest>): unknown {
    const [, rule] = this.requireRule(request.Rule, request.EventBusName);
    const incoming = request.Targets.map((target) => {
      try {
        return loadTarget(targetModel(target));
      } catch (error) {
        if (error instanceof InvalidTargetInputError) throw new EventsApiError('ValidationException', error.message);
        throw error;
      }
    });
    const ids = new Set(incoming.map((target) => target.model.id));
    const targets = [...rule.targets.filter((target) => !ids.has(target.model.id)), ...incoming];
    if (targets.length > MAX_TARGETS_PER_RULE) {
      throw new EventsApiError('LimitExceededException', 'The requested resource exceeds the maximum number allowed.');
    }
    rule.targets = targets;
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  private deleteRule(request: z.infer<typeof RuleRequest>): unknown {
    const bus = this.requireBus(request.EventBusName);
    const key = ruleKey(bus.name, request.Name);
    const rule = this.rules.get(key);
    // Deleting a rule that is not there succeeds, as on AWS.
    if (rule === undefined) return {};
    if (rule.targets.length > 0) throw new EventsApiError('ValidationException', "Rule can't be deleted since it has targets.");
    this.disarm(key);
    this.rules.delete(key);
    return {};
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function ruleKey(busName: string, ruleName: string): string {
  return `${busName}\u0000${ruleName}`;
}

function loadTarget(model: EventTargetModel): Target {
  return {
    model,
    delivery: {
      id: model.id,
      arn: model.arn,
      render: compileTargetInput(model),
      ...(model.messageGroupId === undefined ? {} : { messageGroupId: model.messageGroupId }),
      ...(model.deadLetterArn === undefined ? {} : { deadLetterArn: model.deadLetterArn }),
      maximumRetryAttempts: model.maximumRetryAttempts ?? DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
      maximumEventAgeSeconds: model.maximumEventAgeSeconds ?? DEFAULT_MAXIMUM_EVENT_AGE_SECONDS,
    },
  };
}

function parsePatternText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EventsApiError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${error instanceof Error ? error.message : 'invalid JSON'}`);
  }
}

function compileApiPattern(pattern: unknown): PatternMatcher {
  try {
    return compilePattern(pattern);
  } catch (error) {
    if (error instanceof InvalidEventPatternError) throw new EventsApiError('InvalidEventPatternException', error.message);
    throw error;
  }
}

function compileApiSchedule(expression: string): Schedule {
  try {
    return parseScheduleExpression(expression);
  } catch (error) {
    if (error instanceof InvalidScheduleExpressionError) {
      throw new EventsApiError('ValidationException', `Parameter ScheduleExpression is not valid. ${error.message}`);
    }
    throw error;
  }
}

