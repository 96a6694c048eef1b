import { randomUUID } from 'node:crypto';

/** An error answer on the wire: what a service sends when it throttles or fails. */
export interface ServiceErrorAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A service's throttling answer, or its internal failure. */
export type ServiceErrorKind = 'throttle' | 'error';

interface JsonError {
  readonly status: number;
  readonly type: string;
  readonly message: string;
  /** Services differ in the member's case (`message`, Secrets Manager's `Message`). */
  readonly messageKey?: 'message' | 'Message';
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * The errors each JSON-protocol service uses, as its SDK models them: the SDK turns the type
 * into the exception's name, and retries the throttling ones on its own when it is allowed to.
 */
const JSON_ERRORS: Record<string, Record<ServiceErrorKind, JsonError>> = {
  dynamodb: {
    throttle: {
      status: 400,
      type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
    },
    error: { status: 500, type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' },
  },
  // SQS speaks JSON but keeps its query-protocol error codes in `x-amzn-query-error`.
  sqs: {
    throttle: { status: 403, type: 'com.amazonaws.sqs#RequestThrottled', message: 'Request is throttled.', headers: { 'x-amzn-query-error': 'RequestThrottled;Sender' } },
    error: { status: 500, type: 'com.amazonaws.sqs#InternalFailure', message: 'The request processing has failed because of an unknown error.', headers: { 'x-amzn-query-error': 'InternalFailure;Receiver' } },
  },
  events: {
    throttle: { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' },
    error: { status: 500, type: 'InternalException', message: 'An internal error occurred.' },
  },
  secretsmanager: {
    throttle: { status: 400, type: 'ThrottlingException', message: 'Rate exceeded', messageKey: 'Message' },
    error: { status: 500, type: 'InternalServiceError', message: 'An error occurred on the server side.', messageKey: 'Message' },
  },
  lambda: {
    throttle: {
      status: 429,
      type: 'TooManyRequestsException',
      message: 'Rate Exceeded.',
      extra: { Reason: 'CallerRateLimitExceeded', Type: 'User' },
      headers: { 'retry-after': '1' },
    },
    error: { status: 500, type: 'ServiceException', message: 'An internal error occurred.', messageKey: 'Message', extra: { Type: 'Service' } },
  },
};

/** Any other JSON service: the errors every AWS service shares. */
const COMMON_ERRORS: Record<ServiceErrorKind, JsonError> = {
  throttle: { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' },
  error: { status: 500, type: 'InternalFailure', message: 'The request processing has failed because of an unknown error.' },
};

/** S3 answers in XML; it throttles with 503 `SlowDown`. */
const S3_ERRORS: Record<ServiceErrorKind, { status: number; code: string; message: string }> = {
  throttle: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
  error: { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
};

/**
 * What `service` answers when it throttles (`throttle`) or fails inside (`error`), in its own
 * protocol, so the SDK raises the exception it would raise against AWS.
 * @param contentType the request's, echoed for the JSON protocols (1.0 or 1.1)
 */
export function serviceError(service: string, kind: ServiceErrorKind, request: { method: string; contentType?: string }): ServiceErrorAnswer {
  const requestId = randomUUID();
  if (service === 's3') {
    const error = S3_ERRORS[kind];
    const body =
      request.method === 'HEAD'
        ? ''
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${error.message}</Message><RequestId>${requestId}</RequestId><HostId>local</HostId></Error>`;
    return {
      status: error.status,
      headers: { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)), 'x-amz-request-id': requestId },
      body,
    };
  }
  const error = (JSON_ERRORS[service] ?? COMMON_ERRORS)[kind];
  const body = JSON.stringify({ __type: error.type, [error.messageKey ?? 'message']: error.message, ...error.extra });
  const contentType = request.contentType?.startsWith('application/x-amz-json') ? request.contentType : 'application/json';
  return {
    status: error.status,
    headers: {
      'content-type': contentType,
      'content-length': String(Buffer.byteLength(body)),
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': error.type.split('#').pop()!,
      ...error.headers,
    },
    body,
  };
}
