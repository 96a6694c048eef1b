import {
  AppError,
  ConflictError,
  ForbiddenError,
  GoneError,
  IdempotencyKeyReusedError,
  MalformedBodyError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
  type FieldViolation,
} from '../errors';

/** RFC 9457 problem details, with the extensions every Switchyard error carries. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  readonly correlationId: string;
  /** For validation problems: each field and the rule it broke. */
  readonly errors?: readonly FieldViolation[];
  readonly retryAfterSeconds?: number;
  /** For 429: the rate-limit policies that refused the request. */
  readonly violatedPolicies?: readonly string[];
  /** Members a particular problem adds (RFC 9457 extension members). */
  readonly [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The one place where error classes meet HTTP status codes. */
const STATUS_BY_ERROR: ReadonlyArray<readonly [abstract new (...args: never[]) => AppError, number, string]> = [
  [ValidationError, 400, 'Bad Request'],
  [MalformedBodyError, 400, 'Bad Request'],
  [UnauthorizedError, 401, 'Unauthorized'],
  [ForbiddenError, 403, 'Forbidden'],
  [NotFoundError, 404, 'Not Found'],
  [ConflictError, 409, 'Conflict'],
  [GoneError, 410, 'Gone'],
  [PayloadTooLargeError, 413, 'Content Too Large'],
  [UnsupportedMediaTypeError, 415, 'Unsupported Media Type'],
  [IdempotencyKeyReusedError, 422, 'Unprocessable Content'],
  [TooManyRequestsError, 429, 'Too Many Requests'],
  [ServiceUnavailableError, 503, 'Service Unavailable'],
];

/** A problem type URI per error code: stable, resolvable by nobody, documented in the README. */
export function problemType(code: string): string {
  return `urn:switchyard:problem:${code}`;
}

/**
 * Maps any thrown value to a problem. Only `AppError`s tell the client what went wrong;
 * anything else is a 500 whose detail says nothing of internals (the log has the cause).
 */
export function toProblem(error: unknown, correlationId: string, instance?: string): Problem {
  if (error instanceof AppError) {
    const match = STATUS_BY_ERROR.find(([type]) => error instanceof type);
    if (match) {
      const [, status, title] = match;
      return {
        ...(error instanceof TooManyRequestsError ? error.extensions : {}),
        type: problemType(error.code),
        title,
        status,
        // A 5xx says nothing of internals, even when it is one of ours.
        detail: status >= 500 ? 'The service is temporarily unavailable; retry later.' : error.message,
        ...(instance ? { instance } : {}),
        correlationId,
        ...(error instanceof ValidationError ? { errors: error.violations } : {}),
        ...(retryAfterOf(error) !== undefined ? { retryAfterSeconds: retryAfterOf(error) } : {}),
        ...(error instanceof TooManyRequestsError && error.violatedPolicies.length ? { violatedPolicies: error.violatedPolicies } : {}),
      };
    }
  }
  return {
    type: problemType('internal'),
    title: 'Internal Server Error',
    status: 500,
    detail: 'An unexpected error occurred; quote the correlation id when reporting it.',
    ...(instance ? { instance } : {}),
    correlationId,
  };
}

function retryAfterOf(error: AppError): number | undefined {
  if (error instanceof TooManyRequestsError || error instanceof ServiceUnavailableError) {
    return error.retryAfterSeconds === undefined ? undefined : Math.max(0, Math.ceil(error.retryAfterSeconds));
  }
  return undefined;
}
