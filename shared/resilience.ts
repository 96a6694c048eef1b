import {
  bulkhead,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  handleWhen,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isTaskCancelledError,
  retry,
  SamplingBreaker,
  timeout,
  TimeoutStrategy,
  type CircuitBreakerPolicy,
  type IBreaker,
  type IRetryBackoffContext,
} from 'cockatiel';
import { LRUCache } from 'lru-cache';
import { untilAborted } from './abort';

/**
 * The outbound-call quartet (timeout, retry, circuit breaker, bulkhead), built on cockatiel, for
 * any domain that calls a destination it does not control (webhook receivers today).
 *
 * One call runs through, from the outside in:
 *
 * 1. **retry**, for transient faults only ({@link isTransientFault}: network errors, per-try
 *    timeouts, 408, 429, 5xx), with exponential backoff and full jitter. A 4xx or any other
 *    error means the destination answered and would answer the same: it is thrown at once.
 *    Retry sits outermost so that a call sleeping between tries holds no bulkhead slot.
 * 2. **bulkhead**: at most `maxConcurrent` tries in flight per function instance, `maxQueued`
 *    more waiting; beyond that a {@link BulkheadFullError} at once (not retried: the queue that
 *    runs the caller is the better place to wait). It sits outside the breaker so that a try
 *    refused for capacity is never mistaken for a probe of the destination.
 * 3. **circuit breaker**, one per destination (a host, say), kept in an LRU map bounded by
 *    `maxDestinations`. Transient faults count; anything else (a 4xx) proves the destination is
 *    up. When open it refuses at once with a {@link CircuitOpenError}, until `halfOpenAfterMs`
 *    have passed; then one probe runs, and its outcome closes or reopens the circuit.
 *    Forgetting the coldest destination's circuit costs at most a few calls to a host that is
 *    down, never memory.
 * 4. **timeout** per try, cooperative: the call gets an `AbortSignal` that aborts when its time
 *    runs out (or when the caller's own signal aborts) and must honour it; a try that ends
 *    because of it is a {@link CallTimeoutError}, which is transient.
 *
 * The breaker's state is per instance (a Lambda container): instances learn a host is down
 * separately, each after a few failures, which is cheap and needs no shared store.
 *
 * Timings are all options, so tests can use milliseconds. cockatiel's breaker reads `Date.now()`
 * to decide when an open circuit may half-open, so a test moves that clock with
 * `vi.useFakeTimers({ toFake: ['Date'] })` rather than waiting; the jitter's randomness is
 * injectable too.
 */

export type BreakerOptions =
  | {
      /** Opens after `failures` transient faults in a row. Suits low, bursty traffic (a Lambda instance). */
      readonly kind: 'consecutive';
      readonly failures: number;
      /** How long an open circuit refuses before letting one probe through. */
      readonly halfOpenAfterMs: number;
    }
  | {
      /** Opens when more than `threshold` (0–1) of the calls in the last `windowMs` failed. */
      readonly kind: 'sampling';
      readonly threshold: number;
      readonly windowMs: number;
      /** Below this rate the circuit never opens: a single failure in a quiet window is no signal. */
      readonly minimumRps?: number;
      readonly halfOpenAfterMs: number;
    };

export interface RetryOptions {
  /** Tries after the first. @default 2 */
  readonly maxRetries?: number;
  /** Ceiling of the first backoff; doubles per retry. @default 200 */
  readonly initialDelayMs?: number;
  /**
   * Longest backoff. A destination that asks (Retry-After) to be left alone for longer is not
   * retried within the call: the caller's own, longer backoff takes over. @default 2000
   */
  readonly maxDelayMs?: number;
}

export interface BulkheadOptions {
  /** Tries in flight at once, per instance. @default 10 */
  readonly maxConcurrent?: number;
  /** Tries waiting for a slot; more are refused. @default 20 */
  readonly maxQueued?: number;
}

export interface ResilienceOptions {
  /** Time allowed to one try. @default 10000 */
  readonly timeoutMs?: number;
  readonly retry?: RetryOptions;
  /** @default { kind: 'consecutive', failures: 5, halfOpenAfterMs: 30000 } */
  readonly breaker?: BreakerOptions;
  readonly bulkhead?: BulkheadOptions;
  /** Circuits kept (one per destination); the least recently used is forgotten. @default 1000 */
  readonly maxDestinations?: number;
  /** Which errors are transient: retried, and counted by the breaker. @default isTransientFault */
  readonly isTransient?: (error: unknown) => boolean;
  /** Source of the backoff jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** What one try gets. */
export interface TryContext {
  /** Aborts when this try's time runs out or the caller's signal aborts: pass it to the call. */
  readonly signal: AbortSignal;
  /** 1 on the first try. */
  readonly attempt: number;
}

export type CircuitStatus = 'closed' | 'open' | 'half-open' | 'isolated';

/** A named set of policies; keep one per kind of outbound call per instance (module level), so circuits outlive an invocation. */
export interface ResilientCall {
  readonly name: string;
  /**
   * Runs `call` through the quartet.
   *
   * @param destination the circuit's key: who is called (a host, `host:port`)
   * @param signal the caller's own limit (a job's timeout); when it aborts, the call stops at
   *   once with its reason and is not retried
   * @throws what the last try threw, or CircuitOpenError, BulkheadFullError, CallTimeoutError
   */
  execute<T>(destination: string, call: (context: TryContext) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** The destination's circuit, `closed` for one never called (or forgotten). */
  circuit(destination: string): CircuitStatus;
}

/** A try ran out of its time. Transient. */
export class CallTimeoutError extends Error {
  constructor(
    readonly callName: string,
    readonly destination: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`${callName} to ${destination} timed out after ${timeoutMs} ms`, options);
    this.name = 'CallTimeoutError';
  }
}

/** The destination's circuit is open: refused without calling it. */
export class CircuitOpenError extends Error {
  constructor(
    readonly callName: string,
    readonly destination: string,
    options?: ErrorOptions,
  ) {
    super(`${callName}: circuit open for ${destination} after repeated failures; not called`, options);
    this.name = 'CircuitOpenError';
  }
}

/** Every slot and queue place of the bulkhead is taken: refused without calling. */
export class BulkheadFullError extends Error {
  constructor(
    readonly callName: string,
    options?: ErrorOptions,
  ) {
    super(`${callName}: too many calls in flight in this instance; not called`, options);
    this.name = 'BulkheadFullError';
  }
}

/**
 * The destination answered with a status that is not a success. Thrown by the call itself
 * (resilience never looks at responses), so that {@link isTransientFault} can judge it.
 */
export class ResponseStatusError extends Error {
  /** How long the destination asked to be left alone (Retry-After), when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly status: number,
    message: string,
    options?: ErrorOptions & { readonly retryAfterMs?: number | undefined },
  ) {
    super(message, options);
    this.name = 'ResponseStatusError';
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** 408, 429 and 5xx: the destination may answer otherwise soon. Every other 4xx is final. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * Socket and resolver failures worth another try. `ENOTFOUND` is not one (the name does not
 * exist now, and a retry a second later will not find it), nor are TLS failures.
 */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTCONN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * The default judge of what to retry: per-try timeouts, network errors (by `code`, on the error
 * or its `cause`, as fetch wraps them), and {@link ResponseStatusError}s with a transient status.
 * Everything else (another 4xx, an open circuit, a full bulkhead, a caller's abort, a bug) is not.
 */
export function isTransientFault(error: unknown): boolean {
  if (error instanceof CallTimeoutError) return true;
  if (error instanceof ResponseStatusError) return isTransientStatus(error.status);
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 3; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return true;
  }
  return false;
}

/**
 * An HTTP `Retry-After` value (seconds, or an HTTP date) as milliseconds from `now`; undefined
 * when absent or malformed.
 */
export function parseRetryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const DEFAULT_BREAKER: BreakerOptions = { kind: 'consecutive', failures: 5, halfOpenAfterMs: 30_000 };

/**
 * Builds a {@link ResilientCall}; see the module comment for the order of the policies and why.
 *
 * @param name what is called, for error messages (`webhook.deliver`)
 */
export function resilientCall(name: string, options: ResilienceOptions = {}): ResilientCall {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRetries = options.retry?.maxRetries ?? 2;
  const initialDelayMs = options.retry?.initialDelayMs ?? 200;
  const maxDelayMs = options.retry?.maxDelayMs ?? 2_000;
  const breakerOptions = options.breaker ?? DEFAULT_BREAKER;
  const isTransient = options.isTransient ?? isTransientFault;
  const random = options.random ?? Math.random;

  const asksToWaitTooLong = (error: unknown): boolean => retryAfterOf(error) > maxDelayMs;
  const retryPolicy = retry(
    handleWhen((error) => isTransient(error) && !asksToWaitTooLong(error)),
    {
      maxAttempts: maxRetries,
      // Full jitter (a uniform delay below an exponential ceiling) spreads the retries of many
      // callers that failed together; a Retry-After the destination sent is a floor.
      backoff: new DelegateBackoff<IRetryBackoffContext<unknown>, number>((context, retried = 0) => {
        const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** retried);
        const asked = 'error' in context.result ? retryAfterOf(context.result.error) : 0;
        return { delay: Math.max(Math.floor(random() * ceiling), asked), state: retried + 1 };
      }),
    },
  );
  const slots = bulkhead(options.bulkhead?.maxConcurrent ?? 10, options.bulkhead?.maxQueued ?? 20);
  const perTry = timeout(timeoutMs, TimeoutStrategy.Cooperative);
  const circuits = new LRUCache<string, CircuitBreakerPolicy>({ max: options.maxDestinations ?? 1_000 });

  const circuitOf = (destination: string): CircuitBreakerPolicy => {
    let circuit = circuits.get(destination);
    if (circuit === undefined) {
      circuit = circuitBreaker(handleWhen(isTransient), { halfOpenAfter: breakerOptions.halfOpenAfterMs, breaker: newBreaker(breakerOptions) });
      circuits.set(destination, circuit);
    }
    return circuit;
  };

  return {
    name,

    async execute<T>(destination: string, call: (context: TryContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
      const outer = signal ?? new AbortController().signal;
      if (outer.aborted) throw abortReason(outer, name);
      const circuit = circuitOf(destination);

      const oneTry = async (trySignal: AbortSignal, attempt: number): Promise<T> => {
        // cockatiel's backoff sleep does not watch the signal: a try after an abort must not start.
        if (outer.aborted) throw abortReason(outer, name);
        try {
          return await call({ signal: trySignal, attempt });
        } catch (error) {
          if (trySignal.aborted && !outer.aborted) throw new CallTimeoutError(name, destination, timeoutMs, { cause: error });
          throw error;
        }
      };

      const run = retryPolicy.execute(
        ({ attempt }) =>
          slots.execute(
            () => circuit.execute(() => perTry.execute(({ signal: trySignal }) => oneTry(trySignal, attempt + 1), outer), outer),
            outer,
          ),
        outer,
      );
      try {
        return await untilAborted(run, outer, (signal) => abortReason(signal, name));
      } catch (error) {
        if (isBrokenCircuitError(error)) throw new CircuitOpenError(name, destination, { cause: error });
        if (isBulkheadRejectedError(error)) throw new BulkheadFullError(name, { cause: error });
        if (isTaskCancelledError(error) && outer.aborted) throw abortReason(outer, name);
        throw error;
      }
    },

    circuit(destination: string): CircuitStatus {
      const state = circuits.peek(destination)?.state ?? CircuitState.Closed;
      return CIRCUIT_STATUS[state];
    },
  };
}

const CIRCUIT_STATUS: Record<CircuitState, CircuitStatus> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

function newBreaker(options: BreakerOptions): IBreaker {
  if (options.kind === 'consecutive') return new ConsecutiveBreaker(options.failures);
  return new SamplingBreaker({
    threshold: options.threshold,
    duration: options.windowMs,
    ...(options.minimumRps === undefined ? {} : { minimumRps: options.minimumRps }),
  });
}

function retryAfterOf(error: unknown): number {
  return error instanceof ResponseStatusError && error.retryAfterMs !== undefined ? error.retryAfterMs : 0;
}

function abortReason(signal: AbortSignal, name: string): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(`${name}: aborted by the caller`, { cause: signal.reason });
}
