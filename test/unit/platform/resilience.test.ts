import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BulkheadFullError,
  CallTimeoutError,
  CircuitOpenError,
  isTransientFault,
  parseRetryAfterMs,
  resilientCall,
  ResponseStatusError,
  type ResilienceOptions,
} from '#shared/resilience';

/** Millisecond timings, so no test waits long. */
const FAST: ResilienceOptions = {
  timeoutMs: 1_000,
  retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 5 },
  breaker: { kind: 'consecutive', failures: 3, halfOpenAfterMs: 60_000 },
};

const networkError = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });

/** A call that fails with each of `failures` in turn, then answers `ok`. */
function scripted(...failures: unknown[]): { call: () => Promise<string>; calls: () => number } {
  let count = 0;
  return {
    call: async () => {
      const failure = failures[count++];
      if (failure !== undefined) throw failure;
      return 'ok';
    },
    calls: () => count,
  };
}

/** A gate calls wait on until the test opens it. */
function gate(): { wait: () => Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { wait: () => opened, open };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('isTransientFault', () => {
  it.each([
    ['a 500', new ResponseStatusError(500, 'boom'), true],
    ['a 503', new ResponseStatusError(503, 'busy'), true],
    ['a 429', new ResponseStatusError(429, 'slow down'), true],
    ['a 408', new ResponseStatusError(408, 'request timeout'), true],
    ['a 400', new ResponseStatusError(400, 'bad'), false],
    ['a 404', new ResponseStatusError(404, 'gone'), false],
    ['a 302', new ResponseStatusError(302, 'moved'), false],
    ['ECONNRESET', networkError('ECONNRESET'), true],
    ['ECONNREFUSED', networkError('ECONNREFUSED'), true],
    ['EAI_AGAIN', networkError('EAI_AGAIN'), true],
    ['a fetch TypeError caused by ECONNRESET', new TypeError('fetch failed', { cause: networkError('ECONNRESET') }), true],
    ['ENOTFOUND', networkError('ENOTFOUND'), false],
    ['a per-try timeout', new CallTimeoutError('x', 'host', 10), true],
    ['an open circuit', new CircuitOpenError('x', 'host'), false],
    ['a full bulkhead', new BulkheadFullError('x'), false],
    ['a plain bug', new TypeError('undefined is not a function'), false],
    ['a thrown string', 'nope', false],
  ])('judges %s transient: %s', (_label, error, transient) => {
    // Act
    const judged = isTransientFault(error);

    // Assess
    expect(judged).toBe(transient);
  });
});

describe('parseRetryAfterMs', () => {
  it('reads seconds and HTTP dates, and ignores garbage', () => {
    // Prepare
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);

    // Act
    const seconds = parseRetryAfterMs(' 7 ', now);
    const date = parseRetryAfterMs('Thu, 01 Jan 2026 12:00:30 GMT', now);
    const past = parseRetryAfterMs('Thu, 01 Jan 2026 11:00:00 GMT', now);
    const garbage = parseRetryAfterMs('soon', now);
    const absent = parseRetryAfterMs(undefined, now);

    // Assess
    expect(seconds).toBe(7_000);
    expect(date).toBe(30_000);
    expect(past).toBe(0);
    expect(garbage).toBeUndefined();
    expect(absent).toBeUndefined();
  });
});

describe('resilientCall: retry', () => {
  it('retries transient faults and returns the first success, numbering the tries', async () => {
    // Prepare
    const calls = resilientCall('test', FAST);
    const attempts: number[] = [];
    const { call } = scripted(new ResponseStatusError(503, 'busy'), networkError('ECONNRESET'));

    // Act
    const value = await calls.execute('a.example', (context) => {
      attempts.push(context.attempt);
      return call();
    });

    // Assess
    expect(value).toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('gives up after maxRetries and throws the last fault', async () => {
    // Prepare
    const calls = resilientCall('test', FAST);
    const { call, calls: count } = scripted(new ResponseStatusError(500, 'one'), new ResponseStatusError(502, 'two'), new ResponseStatusError(503, 'three'), undefined);

    // Act
    const outcome = calls.execute('a.example', call);

    // Assess
    await expect(outcome).rejects.toMatchObject({ name: 'ResponseStatusError', status: 503 });
    expect(count()).toBe(3);
  });

  it('never retries a 4xx or an unknown error', async () => {
    // Prepare
    const calls = resilientCall('test', FAST);
    const clientError = scripted(new ResponseStatusError(400, 'bad'));
    const bug = scripted(new TypeError('bug'));

    // Act
    const refused = calls.execute('a.example', clientError.call);
    const broken = calls.execute('a.example', bug.call);

    // Assess
    await expect(refused).rejects.toMatchObject({ status: 400 });
    await expect(broken).rejects.toThrow('bug');
    expect(clientError.calls()).toBe(1);
    expect(bug.calls()).toBe(1);
  });

  it('does not retry within the call when the destination asks to wait longer than the longest backoff', async () => {
    // Prepare
    const calls = resilientCall('test', FAST);
    const { call, calls: count } = scripted(new ResponseStatusError(429, 'slow down', { retryAfterMs: 60_000 }));

    // Act
    const outcome = calls.execute('a.example', call);

    // Assess
    await expect(outcome).rejects.toMatchObject({ status: 429 });
    expect(count()).toBe(1);
  });

  it('waits at least a short Retry-After before the next try', async () => {
    // Prepare
    const calls = resilientCall('test', { ...FAST, retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 1_000 } });
    const { call } = scripted(new ResponseStatusError(503, 'busy', { retryAfterMs: 150 }));
    const started = performance.now();

    // Act
    const value = await calls.execute('a.example', call);

    // Assess: jitter alone would wait at most 1 ms.
    expect(value).toBe('ok');
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('draws the backoff below an exponential ceiling with the injected randomness', async () => {
    // Prepare: random() = 0.999 makes each delay just under its ceiling: 40, then 80 ms.
    const calls = resilientCall('test', { ...FAST, retry: { maxRetries: 2, initialDelayMs: 40, maxDelayMs: 1_000 }, random: () => 0.999 });
    const { call } = scripted(new ResponseStatusError(500, 'a'), new ResponseStatusError(500, 'b'));
    const started = performance.now();

    // Act
    await calls.execute('a.example', call);

    // Assess: generous bounds, the point is that the delays are neither zero nor unbounded.
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(elapsed).toBeLessThan(5_000);
  });
});

describe('resilientCall: timeout', () => {
  it('aborts a try that runs out of time, retries it, and ends with a CallTimeoutError', async () => {
    // Prepare
    const calls = resilientCall('test', { ...FAST, timeoutMs: 50, retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 1 } });
    const signals: AbortSignal[] = [];
    const hang = ({ signal }: { signal: AbortSignal }): Promise<never> => {
      signals.push(signal);
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    };
    const started = performance.now();

    // Act
    const outcome = calls.execute('slow.example', hang);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(CallTimeoutError);
    expect(signals).toHaveLength(2);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("stops at once, without retrying, when the caller's signal aborts", async () => {
    // Prepare
    const calls = resilientCall('test', { ...FAST, timeoutMs: 10_000 });
    const caller = new AbortController();
    let tries = 0;
    const hang = ({ signal }: { signal: AbortSignal }): Promise<never> => {
      tries++;
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('socket aborted'))));
    };

    // Act
    const outcome = calls.execute('slow.example', hang, caller.signal);
    setTimeout(() => caller.abort(new Error('job timed out')), 20);

    // Assess
    await expect(outcome).rejects.toThrow('job timed out');
    expect(tries).toBe(1);
  });
});

describe('resilientCall: circuit breaker', () => {
  it('opens after consecutive transient failures, refuses fast without calling, and keeps other destinations closed', async () => {
    // Prepare
    const calls = resilientCall('test', { ...FAST, retry: { maxRetries: 0 } });
    let called = 0;
    const failing = async (): Promise<never> => {
      called++;
      throw new ResponseStatusError(503, 'down');
    };
    for (let i = 0; i < 3; i++) await calls.execute('down.example', failing).catch(() => undefined);

    // Act
    const refused = calls.execute('down.example', failing);
    const other = calls.execute('up.example', async () => 'ok');

    // Assess
    await expect(refused).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(other).resolves.toBe('ok');
    expect(called).toBe(3);
    expect(calls.circuit('down.example')).toBe('open');
    expect(calls.circuit('up.example')).toBe('closed');
  });

  it('does not count 4xx answers: the destination is up', async () => {
    // Prepare
    const calls = resilientCall('test', { ...FAST, retry: { maxRetries: 0 } });
    const clientError = async (): Promise<never> => {
      throw new ResponseStatusError(404, 'no such hook');
    };

    // Act
    for (let i = 0; i < 5; i++) await calls.execute('up.example', clientError).catch(() => undefined);

    // Assess
    expect(calls.circuit('up.example')).toBe('closed');
  });

  it('stops retrying within a call once the circuit opens', async () => {
    // Prepare: the circuit opens at the third failure, the retry policy would allow five tries.
    const calls = resilientCall('test', { ...FAST, retry: { maxRetries: 4, initialDelayMs: 1, maxDelayMs: 1 } });
    let called = 0;

    // Act
    const outcome = calls.execute('down.example', async () => {
      called++;
      throw new ResponseStatusError(500, 'down');
    });

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(3);
  });

  it('half-opens after halfOpenAfterMs: one successful probe closes the circuit', async () => {
    // Prepare: only Date is faked, which is the clock cockatiel's breaker reads.
    vi.useFakeTimers({ toFake: ['Date'] });
    const calls = resilientCall('test', { ...FAST, retry: { maxRetries: 0 } });
    for (let i = 0; i < 3; i++) await calls.execute('flaky.example', () => Promise.reject(new ResponseStatusError(500, 'down'))).catch(() => undefined);
    const stillOpen = calls.execute('flaky.example', async () => 'too early');
    await expect(stillOpen).rejects.toBeInstanceOf(CircuitOpenError);

    // Act
    vi.setSystemTime(Date.now() + 60_001);
    const probe = await calls.execute('flaky.example', async () => 'probe');

    // Assess
    expect(probe).toBe('probe');
    expect(calls.circuit('flaky.example')).toBe('closed');
  });

  it('forgets the least recently used destination beyond maxDestinations', async () => {
    // Prepare
    const calls = resilientCall('test', { ...FAST, retry: { maxRetries: 0 }, maxDestinations: 1 });
    for (let i = 0; i < 3; i++) await calls.execute('down.example', () => Promise.reject(new ResponseStatusError(500, 'down'))).catch(() => undefined);
    expect(calls.circuit('down.example')).toBe('open');

    // Act
    await calls.execute('other.example', async () => 'ok');

    // Assess
    expect(calls.circuit('down.example')).toBe('closed');
  });
});

describe('resilientCall: bulkhead', () => {
  it('runs at most maxConcurrent calls at once, queues maxQueued, refuses the rest without calling', async () => {
    // Prepare
    const calls = resilientCall('test', { ...FAST, bulkhead: { maxConcurrent: 2, maxQueued: 1 } });
    const release = gate();
    let running = 0;
    let peak = 0;
    let started = 0;
    const held = async (): Promise<string> => {
      started++;
      running++;
      peak = Math.max(peak, running);
      await release.wait();
      running--;
      return 'done';
    };

    // Act
    const admitted = [calls.execute('a.example', held), calls.execute('b.example', held), calls.execute('c.example', held)];
    const refused = calls.execute('d.example', held);
    await expect(refused).rejects.toBeInstanceOf(BulkheadFullError);
    const startedBeforeRelease = started;
    release.open();
    const results = await Promise.all(admitted);

    // Assess
    expect(startedBeforeRelease).toBe(2);
    expect(results).toEqual(['done', 'done', 'done']);
    expect(peak).toBe(2);
    expect(started).toBe(3);
  });
});
