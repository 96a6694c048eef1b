import type { ClickEvent } from '#shared/contracts/shortener-events';

/**
 * Writing clicks: one JSON line on stdout per click, no network call on the redirect path (the
 * subscription filter of lib/shortener/service.ts carries it on).
 */

/**
 * Where click lines go: stdout, where the Lambda runtime ships them to CloudWatch Logs as they
 * are (`console.log` would be wrapped into a JSON `message` string by the JSON log format). The
 * line has no `level`, which Lambda reads as INFO: keep the function's log level at INFO.
 */
export type ClickSink = (line: string) => void;

export const stdoutSink: ClickSink = (line) => {
  process.stdout.write(`${line}\n`);
};

/** Writes one click line. Synchronous and local: the redirect never waits on analytics storage. */
export function emitClick(click: ClickEvent, sink: ClickSink = stdoutSink): void {
  sink(JSON.stringify(click));
}
