import { randomBytes } from 'node:crypto';
import { formatRequestTime as formatClf } from '../request-time';

/**
 * An identifier shaped like the ones API Gateway gives WebSocket connections, requests and
 * messages: 11 random bytes in URL-safe base64 with its `=` pad, e.g. `L0SM9cOFvHcCIhw=`.
 * Handlers that store or log connection ids then see what they will see on AWS, including the
 * `=`, `-` and `_` that must be URL-encoded in an `@connections` path.
 */
export function newWebSocketId(): string {
  return `${randomBytes(11).toString('base64url')}=`;
}

/** `requestContext.requestTime`, from epoch milliseconds. */
export function formatRequestTime(epochMs: number): string {
  return formatClf(new Date(epochMs));
}
