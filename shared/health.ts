/** When this function instance loaded its code; a Lambda execution environment's age. */
const instanceStartedAt = Date.now();

/** Seconds since this instance started (not `process.uptime()`, which a shared host process inflates). */
export function instanceUptimeSeconds(now = Date.now()): number {
  return Math.floor((now - instanceStartedAt) / 1000);
}

/** A dependency check: resolves when the dependency answered, rejects otherwise. */
export type Probe = (signal: AbortSignal) => Promise<unknown>;

export interface CheckResult {
  readonly status: 'pass' | 'fail';
  readonly latencyMs: number;
  readonly error?: string;
}

export interface HealthReport {
  readonly status: 'pass' | 'fail';
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly checks: Record<string, CheckResult>;
}

export interface ReadinessOptions {
  readonly version: string;
  /** Each probe is abandoned (and aborted) after this long. */
  readonly timeoutMs: number;
  readonly uptimeSeconds: number;
  readonly now?: () => number;
}

/**
 * Runs every probe in parallel, each under its own timeout, and reports `fail` if any
 * failed. A slow dependency costs at most `timeoutMs`, never the caller's whole budget.
 * Error text is the error's class and message only: health is public, so it carries no
 * stack, endpoint or credential detail.
 */
export async function checkReadiness(probes: Readonly<Record<string, Probe>>, options: ReadinessOptions): Promise<HealthReport> {
  const now = options.now ?? performance.now.bind(performance);
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]): Promise<[string, CheckResult]> => {
      const started = now();
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new Error(`timed out after ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      });
      try {
        await Promise.race([probe(controller.signal), timeout]);
        return [name, { status: 'pass', latencyMs: Math.round(now() - started) }];
      } catch (error) {
        const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
        return [name, { status: 'fail', latencyMs: Math.round(now() - started), error: message.slice(0, 200) }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const checks = Object.fromEntries(entries);
  return {
    status: entries.every(([, result]) => result.status === 'pass') ? 'pass' : 'fail',
    version: options.version,
    uptimeSeconds: Math.floor(options.uptimeSeconds),
    checks,
  };
}
