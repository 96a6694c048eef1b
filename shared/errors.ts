/**
 * Typed errors. Domain code throws these; only the edge (`#shared/http/problem`) maps them
 * to HTTP status codes and problem+json. A client sees an error's message only when it is
 * one of these 4xx classes: anything else becomes a 500 that says nothing of internals.
 */

/** One field that broke one rule, as a client can act on it. */
export interface FieldViolation {
  /** Where the value sits: `body.items[2].qty`, `query.limit`, `header.content-type`. */
  readonly field: string;
  /** The rule it broke, in words. */
  readonly rule: string;
}

/** Base of every error a client may be told about. */
export abstract class AppError extends Error {
  /** Stable, machine-readable code, also used for the problem `type`. */
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request broke one or more rules on its fields. */
export class ValidationError extends AppError {
  readonly code = 'validation-failed';
  constructor(
    readonly violations: readonly FieldViolation[],
    message = violations.map((v) => `${v.field}: ${v.rule}`).join('; '),
  ) {
    super(message);
  }
}

/** The body is not well-formed JSON. */
export class MalformedBodyError extends AppError {
  readonly code = 'malformed-body';
}

/** The body is larger than the route accepts. */
export class PayloadTooLargeError extends AppError {
  readonly code = 'payload-too-large';
  constructor(readonly limitBytes: number) {
    super(`body exceeds ${limitBytes} bytes`);
  }
}

/** The body's content type is not one the route accepts. */
export class UnsupportedMediaTypeError extends AppError {
  readonly code = 'unsupported-media-type';
}

/** No valid credentials. The message never says why a token was refused. */
export class UnauthorizedError extends AppError {
  readonly code = 'unauthorized';
  constructor() {
    super('invalid token');
  }
}

/** Valid credentials that lack a required scope. */
export class ForbiddenError extends AppError {
  readonly code = 'forbidden';
}

/** The resource does not exist, or belongs to another tenant (which must read the same). */
export class NotFoundError extends AppError {
  readonly code = 'not-found';
}

/** The request conflicts with the resource's current state. */
export class ConflictError extends AppError {
  readonly code = 'conflict';
}

/** The Idempotency-Key was used before with another request body. */
export class IdempotencyKeyReusedError extends AppError {
  readonly code = 'idempotency-key-reused';
  constructor() {
    super('this Idempotency-Key was used with another request body; use a new key for a new request');
  }
}

/** The resource existed and is gone for good. */
export class GoneError extends AppError {
  readonly code = 'gone';
}

/** A limit refused the request; `retryAfterSeconds` is honest. */
export class TooManyRequestsError extends AppError {
  readonly code = 'too-many-requests';
  /**
   * @param retryAfterSeconds when the same request would pass; undefined when it never will
   * @param violatedPolicies the limits that refused it, named for the client
   * @param headers rate-limit headers the refusal carries (`RateLimit`, `Retry-After`, ...)
   * @param extensions more members for the problem body (the decision of `/v1/limits/check`);
   *   they never replace the standard ones
   */
  constructor(
    message: string,
    readonly retryAfterSeconds: number | undefined,
    readonly violatedPolicies: readonly string[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

/** A dependency the request needs is unavailable; retrying later may succeed. */
export class ServiceUnavailableError extends AppError {
  readonly code = 'service-unavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The function's own configuration is broken: a deploy problem, never the client's. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}
