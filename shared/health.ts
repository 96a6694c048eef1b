import { logger } from './powertools';

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
 * Health is public, so a failed check names only the kind of failure (`Timeout`,
 * `ECONNREFUSED`, `ResourceNotFoundException`): messages carry addresses, table names and
 * account ids. The whole error goes to the log instead.
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
          reject(Object.assign(new Error(`timed out after ${options.timeoutMs} ms`), { name: 'Timeout' }));
        }, options.timeoutMs);
      });
      try {
        await Promise.race([probe(controller.signal), timeout]);
        return [name, { status: 'pass', latencyMs: Math.round(now() - started) }];
      } catch (error) {
        logger.warn('readiness check failed', { check: name, error: error as Error });
        return [name, { status: 'fail', latencyMs: Math.round(now() - started), error: failureKind(error) }];
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

/** `ECONNREFUSED` for a socket error, the class for an SDK error (`ResourceNotFoundException`), else `Error`. */
function failureKind(error: unknown): string {
  if (!(error instanceof Error)) return 'Error';
  const code = (error as { code?: unknown }).code;
  const kind = typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) ? code : error.name;
  return /^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(kind) ? kind : 'Error';
}
