import type { FunctionLogLine } from './runtime/lambda';

/** A function's log line, read for people: time, function, level, message, correlation id. */
export interface ReadableLogLine {
  readonly time: string;
  readonly functionName: string;
  readonly level: string;
  readonly message: string;
  readonly correlationId?: string;
  /** Every other structured field, for `--verbose`. */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Levels in the order they matter. */
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL'];

/**
 * Parses one line a function printed. Powertools writes JSON with `level`, `message`,
 * `timestamp` and the keys a handler appended (`correlationId`); anything else is shown as it
 * is. EMF metric blobs (`_aws`) are metrics, not logs, and come back as undefined: the local
 * cloud collects them into its metric store (`cloud.metrics`, `GET /_local/metrics`) before any
 * log reader sees the line.
 */
export function parseLogLine(entry: FunctionLogLine): ReadableLogLine | undefined {
  const text = entry.line.trim();
  if (!text) return undefined;
  let parsed: Record<string, unknown> | undefined;
  if (text.startsWith('{')) {
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
  }
  if (parsed && '_aws' in parsed) return undefined;
  if (!parsed) {
    return { time: new Date().toISOString(), functionName: entry.functionName, level: entry.stream === 'stderr' ? 'WARN' : 'INFO', message: text, fields: {} };
  }
  const { level, message, timestamp, correlationId, ...fields } = parsed;
  for (const noise of ['service', 'sampling_rate', 'xray_trace_id', 'function_arn', 'function_memory_size', 'function_name', 'function_request_id', 'cold_start']) delete fields[noise];
  return {
    time: typeof timestamp === 'string' ? timestamp : new Date().toISOString(),
    functionName: entry.functionName,
    level: typeof level === 'string' ? level.toUpperCase() : 'INFO',
    message: typeof message === 'string' ? message : JSON.stringify(message),
    ...(typeof correlationId === 'string' ? { correlationId } : {}),
    fields,
  };
}

const COLORS: Record<string, string> = { DEBUG: '\x1b[90m', INFO: '\x1b[36m', WARN: '\x1b[33m', ERROR: '\x1b[31m', CRITICAL: '\x1b[35m' };

/**
 * `12:04:31.120 GetHealth  INFO  request refused  [corr 3f7c…]`, colored on a terminal,
 * with the structured fields after it when `verbose`.
 */
export function formatLogLine(line: ReadableLogLine, options: { color: boolean; verbose: boolean; nameWidth: number }): string {
  const time = line.time.slice(11, 23);
  const color = options.color ? (COLORS[line.level] ?? '') : '';
  const reset = options.color ? '\x1b[0m' : '';
  const dim = options.color ? '\x1b[2m' : '';
  const name = shortName(line.functionName).padEnd(options.nameWidth);
  const correlation = line.correlationId ? ` ${dim}[${line.correlationId}]${reset}` : '';
  const fields = options.verbose && Object.keys(line.fields).length ? ` ${dim}${JSON.stringify(line.fields)}${reset}` : '';
  return `${dim}${time}${reset} ${name} ${color}${line.level.padEnd(5)}${reset} ${line.message}${correlation}${fields}`;
}

/** Whether a line at `level` passes a minimum level. */
export function atLeast(level: string, minimum: string): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(minimum);
}

/** `switchyard-dev-service-GetHealth2561B211` → `GetHealth`: the stack and hash add nothing on a terminal. */
export function shortName(functionName: string): string {
  return functionName.replace(/^.*?-(?=[A-Z][A-Za-z0-9]*$)/, '').replace(/[0-9A-F]{8}$/, '');
}
