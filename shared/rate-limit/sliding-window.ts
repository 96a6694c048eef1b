import type { RateLimitDecision } from './bucket';
import { conditionalUpdate } from './conditional-update';
import type { BucketTable } from './token-bucket';

/**
 * The sliding-window counter: the count of the current fixed window plus the previous window's
 * count weighted by how much of it the sliding window still covers,
 * `estimate = previous * (1 - elapsed / window) + current`. Two numbers per key give nearly the
 * accuracy of a log of every request (it assumes the previous window's requests were evenly
 * spread) for the memory of a fixed window, without its doubled burst at window edges.
 */
export interface WindowSpec {
  /** Requests (tokens) allowed per window. */
  readonly limit: number;
  readonly windowSeconds: number;
}

/** What a key's item says, as the last write saw it. */
export interface WindowState {
  /** Index of the window `current` counts (epoch-aligned). */
  readonly window: number;
  readonly current: number;
  readonly previous: number;
}

export interface WindowRequest {
  readonly key: string;
  readonly spec: WindowSpec;
  readonly cost: number;
  readonly now: number;
  /** The state the caller last saw; it picks the first write, never the decision. */
  readonly hint?: WindowState;
  /** Aborts the DynamoDB call: the limiter's time budget. */
  readonly signal?: AbortSignal;
}

export interface WindowResult {
  readonly decision: RateLimitDecision;
  readonly state: WindowState;
  readonly calls: number;
}

const EXPIRY_SLACK_SECONDS = 60;

/** Where `now` falls: the window index and how far into it, 0 to 1. */
export function windowAt(spec: WindowSpec, now: number): { window: number; elapsed: number; startsAt: number } {
  const length = spec.windowSeconds * 1000;
  const window = Math.floor(now / length);
  return { window, elapsed: (now - window * length) / length, startsAt: window * length };
}

/** The weighted count at `now` for a state already rolled to the current window. */
export function estimate(state: WindowState, elapsed: number): number {
  return state.previous * (1 - elapsed) + state.current;
}

/**
 * When a request of `cost` refused in `state` would pass, epoch ms: either later in this window,
 * as the previous window's weight fades, or in the next one, where this window's count fades.
 */
export function admissionTime(spec: WindowSpec, state: WindowState, cost: number, startsAt: number): number {
  const length = spec.windowSeconds * 1000;
  const room = spec.limit - cost - state.current;
  if (room >= 0 && state.previous > 0) return startsAt + length * (1 - room / state.previous);
  // Next window: this window's count becomes the previous one.
  const next = startsAt + length;
  if (state.current === 0) return next;
  return next + length * Math.max(0, 1 - (spec.limit - cost) / state.current);
}

function decide(spec: WindowSpec, state: WindowState, cost: number, now: number, allowed: boolean): RateLimitDecision {
  const { elapsed, startsAt } = windowAt(spec, now);
  const count = estimate(state, elapsed);
  const length = spec.windowSeconds * 1000;
  return {
    allowed,
    remaining: Math.max(0, Math.floor(spec.limit - count + 1e-9)),
    limit: spec.limit,
    // Everything counted now has faded out two windows from this one's start at the latest.
    resetAt: Math.ceil((startsAt + (state.current > 0 ? 2 : 1) * length) / 1000),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((admissionTime(spec, state, cost, startsAt) - now) / 1000)),
  };
}

type Write = 'same' | 'adjacent' | 'fresh';

/**
 * Counts `cost` against a sliding window in DynamoDB, with conditional writes only. Condition
 * expressions cannot compute the estimate, so each write bakes the part the caller knows into
 * its bound and checks the rest:
 * - same window (`w = now's window`): `c += cost` if `p` is what the caller knows and `c` leaves room;
 * - adjacent (`w` is the previous window): roll over, `p = c, c = cost`, if the old `c`, weighted, leaves room;
 * - fresh (no item, or older): `p = 0, c = cost`.
 * The hint picks the first write; a failed condition returns the item, which decides the rest
 * (refuse, or the one write that fits), so a decision takes one write when the hint is right.
 */
export async function countInWindow(table: BucketTable, request: WindowRequest): Promise<WindowResult> {
  const { spec, cost, now } = request;
  const { window, elapsed } = windowAt(spec, now);
  // Two windows on, this item no longer counts for anything.
  const expiresAt = (window + 2) * spec.windowSeconds + EXPIRY_SLACK_SECONDS;
  let known: WindowState | undefined = request.hint;
  for (let calls = 1; calls <= 3; calls++) {
    const write: Write = !known || known.window < window - 1 ? 'fresh' : known.window === window - 1 ? 'adjacent' : 'same';
    const previous = write === 'fresh' ? 0 : write === 'adjacent' ? known!.current : known!.previous;
    const outcome = await conditionalUpdate(table, request.key, writeFor(write, spec, { window, elapsed, cost, previous, expiresAt }), request.signal);
    if (outcome.written) {
      const current = write === 'same' ? Number(outcome.attributes['c']) : cost;
      const state = { window, current, previous };
      return { decision: decide(spec, state, cost, now, true), state, calls };
    }
    const item = outcome.item;
    const seen: WindowState | undefined =
      item?.['w'] === undefined ? undefined : { window: Number(item['w']), current: Number(item['c'] ?? 0), previous: Number(item['p'] ?? 0) };
    const refusedIn = refusal(spec, seen, window, elapsed, cost);
    if (refusedIn) return { decision: decide(spec, refusedIn, cost, now, false), state: refusedIn, calls };
    known = seen;
  }
  throw new Error(`rate limit window ${request.key} kept changing under three consecutive writes`);
}

/**
 * The write for one of the three cases, with the bound it must keep: the part of the estimate
 * the caller knows is baked into the condition's value, the rest is checked against the item.
 */
function writeFor(
  write: Write,
  spec: WindowSpec,
  at: { window: number; elapsed: number; cost: number; previous: number; expiresAt: number },
): { update: string; condition: string; values: Record<string, unknown> } {
  const { window, elapsed, cost, previous, expiresAt } = at;
  switch (write) {
    case 'fresh':
      return {
        update: 'SET w = :w, c = :cost, p = :zero, expiresAt = :expiresAt',
        condition: 'attribute_not_exists(w) OR w < :previousWindow',
        values: { ':w': window, ':cost': cost, ':zero': 0, ':previousWindow': window - 1, ':expiresAt': expiresAt },
      };
    case 'adjacent': {
      // The old current count becomes the previous one; this request must fit beside it.
      const maxPrevious = elapsed >= 1 ? Number.MAX_SAFE_INTEGER : Math.floor((spec.limit - cost) / (1 - elapsed) + 1e-9);
      return {
        update: 'SET p = c, c = :cost, w = :w, expiresAt = :expiresAt',
        condition: 'w = :previousWindow AND c <= :maxPrevious',
        values: { ':w': window, ':cost': cost, ':previousWindow': window - 1, ':maxPrevious': maxPrevious, ':expiresAt': expiresAt },
      };
    }
    case 'same':
      return {
        update: 'SET c = c + :cost',
        condition: 'w = :w AND p = :p AND c <= :maxCurrent',
        values: { ':w': window, ':p': previous, ':cost': cost, ':maxCurrent': Math.floor(spec.limit - cost - previous * (1 - elapsed) + 1e-9) },
      };
  }
}

/** The state to refuse in, when the item as it is leaves no room for `cost`; else undefined. */
function refusal(spec: WindowSpec, seen: WindowState | undefined, window: number, elapsed: number, cost: number): WindowState | undefined {
  if (!seen || seen.window < window - 1) return undefined;
  // Seen from now, an item of the previous window is its rolled-over form.
  const rolled = seen.window === window ? seen : { window, current: 0, previous: seen.current };
  return estimate(rolled, elapsed) + cost > spec.limit + 1e-9 ? rolled : undefined;
}
