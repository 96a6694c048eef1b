import { randomUUID } from 'node:crypto';

/**
 * How a faulted call fails: `unavailable` drops the connection without an answer, `throttle`
 * answers the service's own throttling error, `timeout` never answers (until the client gives
 * up), `error` answers the service's 500.
 */
export type FaultMode = 'unavailable' | 'throttle' | 'timeout' | 'error';

export const FAULT_MODES: readonly FaultMode[] = ['unavailable', 'throttle', 'timeout', 'error'];

/** What a test or a developer asks for: which calls fail, and how. */
export interface FaultRuleInput {
  /** The service's signing name: `dynamodb`, `sqs`, `events`, `s3`, `secretsmanager`, `lambda`. */
  readonly service: string;
  /** One operation (`UpdateItem`, `SendMessage`, `PutObject`, `Invoke`); every one when left out. */
  readonly operation?: string;
  /**
   * A substring the request must contain, in its body or its path and query, so a fault can be
   * scoped to one test's data (a tenant id inside a DynamoDB key, an S3 key, a function name).
   */
  readonly match?: string;
  readonly mode: FaultMode;
  /** How many matching calls it fails before it retires. @default every one */
  readonly count?: number;
  /** How long it lives. @default until removed */
  readonly ttlSeconds?: number;
}

/** A rule in force, as listed. */
export interface FaultRule extends FaultRuleInput {
  readonly id: string;
  readonly createdAt: string;
  /** When `ttlSeconds` retires it. */
  readonly expiresAt?: string;
  /** Calls it has failed so far. */
  readonly hits: number;
}

/** The parts of a request a rule's `match` looks in. */
export interface FaultedRequest {
  /** Path and query, as sent. */
  readonly target: string;
  /** The raw body, when it was read. */
  readonly body?: string;
}

/** A rule that cannot be added: the message says which field and why. */
export class FaultRuleError extends Error {
  override readonly name = 'FaultRuleError';
}

interface LiveRule {
  rule: FaultRule;
  expiresAtMs?: number;
}

/**
 * The fault rules of one AWS endpoint. The first live rule (oldest first) that fits a call's
 * service, operation and `match` fails it; a rule retires after `count` calls or `ttlSeconds`.
 */
export class FaultInjector {
  private readonly rules: LiveRule[] = [];

  /**
   * Adds a rule.
   * @throws FaultRuleError when a field is missing or of the wrong kind
   */
  add(input: FaultRuleInput): FaultRule {
    const valid = validate(input);
    const now = Date.now();
    const expiresAtMs = valid.ttlSeconds === undefined ? undefined : now + valid.ttlSeconds * 1000;
    const rule: FaultRule = {
      id: randomUUID(),
      ...valid,
      createdAt: new Date(now).toISOString(),
      ...(expiresAtMs === undefined ? {} : { expiresAt: new Date(expiresAtMs).toISOString() }),
      hits: 0,
    };
    this.rules.push({ rule, ...(expiresAtMs === undefined ? {} : { expiresAtMs }) });
    return rule;
  }

  /** @returns the rule removed, if there was one with this id */
  remove(id: string): FaultRule | undefined {
    const index = this.rules.findIndex((live) => live.rule.id === id);
    if (index < 0) return undefined;
    return this.rules.splice(index, 1)[0]!.rule;
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** The rules in force, oldest first. */
  list(): FaultRule[] {
    this.retireExpired();
    return this.rules.map((live) => live.rule);
  }

  /**
   * Whether some rule could fail a call of this service and operation, and whether deciding
   * needs the body: the endpoint reads a body ahead only when a rule must look into it.
   */
  candidates(service: string, operation: string, target: string): { any: boolean; needsBody: boolean } {
    this.retireExpired();
    const fitting = this.rules.filter((live) => fits(live.rule, service, operation));
    return { any: fitting.length > 0, needsBody: fitting.some((live) => live.rule.match !== undefined && !target.includes(live.rule.match)) };
  }

  /** The rule that fails this call, if any; it counts the call, and retires when its count is spent. */
  take(service: string, operation: string, request: FaultedRequest): FaultRule | undefined {
    this.retireExpired();
    const index = this.rules.findIndex(({ rule }) => fits(rule, service, operation) && matches(rule.match, request));
    if (index < 0) return undefined;
    const live = this.rules[index]!;
    live.rule = { ...live.rule, hits: live.rule.hits + 1 };
    if (live.rule.count !== undefined && live.rule.hits >= live.rule.count) this.rules.splice(index, 1);
    return live.rule;
  }

  private retireExpired(): void {
    const now = Date.now();
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const expiresAtMs = this.rules[i]!.expiresAtMs;
      if (expiresAtMs !== undefined && expiresAtMs <= now) this.rules.splice(i, 1);
    }
  }
}

function fits(rule: FaultRule, service: string, operation: string): boolean {
  return rule.service === service && (rule.operation === undefined || rule.operation === operation);
}

function matches(match: string | undefined, request: FaultedRequest): boolean {
  return match === undefined || request.target.includes(match) || (request.body?.includes(match) ?? false);
}

/** A rule's input with only the fields a rule has, checked; what `POST /_local/faults` sends is not typed. */
function validate(input: unknown): FaultRuleInput {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new FaultRuleError('a fault rule is a JSON object');
  const { service, operation, match, mode, count, ttlSeconds } = input as Record<string, unknown>;
  if (typeof service !== 'string' || !service) throw new FaultRuleError('service must name a service (dynamodb, sqs, events, s3, secretsmanager, lambda)');
  if (!FAULT_MODES.includes(mode as FaultMode)) throw new FaultRuleError(`mode must be one of ${FAULT_MODES.join(', ')}`);
  if (operation !== undefined && (typeof operation !== 'string' || !operation)) throw new FaultRuleError('operation must be a non-empty string');
  if (match !== undefined && (typeof match !== 'string' || !match)) throw new FaultRuleError('match must be a non-empty string');
  if (count !== undefined && (typeof count !== 'number' || !Number.isInteger(count) || count < 1)) throw new FaultRuleError('count must be a positive integer');
  if (ttlSeconds !== undefined && (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0)) throw new FaultRuleError('ttlSeconds must be a positive number');
  return {
    service,
    mode: mode as FaultMode,
    ...(operation === undefined ? {} : { operation: operation as string }),
    ...(match === undefined ? {} : { match: match as string }),
    ...(count === undefined ? {} : { count: count as number }),
    ...(ttlSeconds === undefined ? {} : { ttlSeconds: ttlSeconds as number }),
  };
}
