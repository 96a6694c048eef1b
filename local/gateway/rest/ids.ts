import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** The identifiers API Gateway gives one request. */
export interface RequestIds {
  /** `$context.requestId` and `x-amzn-RequestId`: a UUID. */
  readonly requestId: string;
  /** `$context.extendedRequestId` and `x-amz-apigw-id`: 16 base64 characters, as AWS makes them. */
  readonly extendedRequestId: string;
  /** `X-Amzn-Trace-Id`: the caller's, when it sent one with a root, else a new X-Ray root. */
  readonly traceId: string;
}

/** New identifiers for a request received at `now`, keeping the caller's trace if it has a root. */
export function newRequestIds(now: Date, incomingTraceId: string | undefined): RequestIds {
  return {
    requestId: randomUUID(),
    extendedRequestId: randomBytes(11).toString('base64'),
    traceId: incomingTraceId && /(^|;)\s*Root=/.test(incomingTraceId) ? incomingTraceId : newTraceId(now),
  };
}

/** An X-Ray trace header: `Root=1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>`. */
function newTraceId(now: Date): string {
  const seconds = Math.floor(now.getTime() / 1000).toString(16).padStart(8, '0');
  return `Root=1-${seconds}-${randomBytes(12).toString('hex')}`;
}

/**
 * A resource id like API Gateway's (6 lower-case letters and digits), derived from the path so
 * it stays the same across restarts and requests, as a deployed resource's id does.
 */
export function resourceIdOf(resourcePath: string): string {
  const digest = createHash('sha256').update(resourcePath).digest();
  return BigInt(`0x${digest.subarray(0, 8).toString('hex')}`).toString(36).padStart(6, '0').slice(-6);
}

export { formatRequestTime } from '../request-time';
