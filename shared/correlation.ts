import { randomUUID } from 'node:crypto';

/** The header a caller sets, and every response and outgoing message carries. */
export const CORRELATION_HEADER = 'x-correlation-id';

/** Caller-supplied ids are echoed into logs and headers, so only a safe, bounded alphabet is kept. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** W3C trace context: version-traceid-parentid-flags. */
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The correlation id for a request: the caller's `x-correlation-id` if it is safe, else
 * the trace id of a W3C `traceparent`, else a new UUID.
 * @param headers request headers; names are matched case-insensitively
 */
export function correlationIdFrom(headers: Record<string, string | undefined> | null | undefined): string {
  const lower = lowerCaseKeys(headers);
  const given = lower[CORRELATION_HEADER]?.trim();
  if (given && SAFE_ID.test(given)) return given;
  const trace = TRACEPARENT.exec(lower['traceparent']?.trim().toLowerCase() ?? '');
  if (trace?.[1] && !/^0+$/.test(trace[1])) return trace[1];
  return randomUUID();
}

/** Header names are case-insensitive; API Gateway passes them as the client sent them. */
export function lowerCaseKeys(headers: Record<string, string | undefined> | null | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v;
  return out;
}
