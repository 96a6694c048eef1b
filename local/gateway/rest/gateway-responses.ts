import type { GatewayResponseModel, RestApiModel } from '../../model';
import { renderContextTemplate, type ContextVariables } from './context-template';

/** The gateway response types this emulator produces. */
export type GatewayResponseType =
  | 'UNAUTHORIZED'
  | 'ACCESS_DENIED'
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'INVALID_API_KEY'
  | 'REQUEST_TOO_LARGE'
  | 'THROTTLED'
  | 'QUOTA_EXCEEDED'
  | 'AUTHORIZER_FAILURE'
  | 'AUTHORIZER_CONFIGURATION_ERROR'
  | 'API_CONFIGURATION_ERROR'
  | 'INTEGRATION_FAILURE'
  | 'INTEGRATION_TIMEOUT'
  | 'DEFAULT_4XX'
  | 'DEFAULT_5XX';

/** An answer the gateway gives itself instead of the integration's. */
export interface GatewayError {
  readonly type: GatewayResponseType;
  /** `$context.error.message`; null where AWS leaves it null. Defaults to AWS's message for the type. */
  readonly message?: string | null;
  /** A status other than the type's default, where AWS uses one (502 for a failed Lambda proxy call). */
  readonly statusCode?: number;
}

/** An HTTP answer ready to send. */
export interface RenderedResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

interface BuiltIn {
  readonly statusCode: number;
  /** The `x-amzn-ErrorType` header AWS sends with it. */
  readonly errorType: string;
  readonly message: string | null;
}

/** API Gateway's own defaults, used when the API customises neither the type nor its DEFAULT_4XX/5XX. */
const BUILT_IN: Readonly<Record<GatewayResponseType, BuiltIn>> = {
  UNAUTHORIZED: { statusCode: 401, errorType: 'UnauthorizedException', message: 'Unauthorized' },
  ACCESS_DENIED: { statusCode: 403, errorType: 'AccessDeniedException', message: 'User is not authorized to access this resource' },
  MISSING_AUTHENTICATION_TOKEN: { statusCode: 403, errorType: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' },
  INVALID_API_KEY: { statusCode: 403, errorType: 'ForbiddenException', message: 'Forbidden' },
  REQUEST_TOO_LARGE: { statusCode: 413, errorType: 'RequestTooLargeException', message: 'Request Too Long' },
  THROTTLED: { statusCode: 429, errorType: 'TooManyRequestsException', message: 'Too Many Requests' },
  QUOTA_EXCEEDED: { statusCode: 429, errorType: 'LimitExceededException', message: 'Limit Exceeded' },
  AUTHORIZER_FAILURE: { statusCode: 500, errorType: 'AuthorizerFailureException', message: null },
  AUTHORIZER_CONFIGURATION_ERROR: { statusCode: 500, errorType: 'AuthorizerConfigurationException', message: null },
  API_CONFIGURATION_ERROR: { statusCode: 500, errorType: 'InternalServerErrorException', message: 'Internal server error' },
  INTEGRATION_FAILURE: { statusCode: 504, errorType: 'InternalServerErrorException', message: 'Internal server error' },
  INTEGRATION_TIMEOUT: { statusCode: 504, errorType: 'InternalServerErrorException', message: 'Endpoint request timed out' },
  DEFAULT_4XX: { statusCode: 400, errorType: 'BadRequestException', message: 'Bad Request' },
  DEFAULT_5XX: { statusCode: 500, errorType: 'InternalServerErrorException', message: 'Internal server error' },
};

const DEFAULT_TEMPLATE = '{"message":$context.error.messageString}';

/** `$context.error.message` for an error: its own, or AWS's default for its type. */
export function errorMessageOf(error: GatewayError): string | null {
  return error.message === undefined ? BUILT_IN[error.type].message : error.message;
}

/** Reads a request value a gateway response header maps (`method.request.header.Origin`, ...). */
export type RequestValueLookup = (source: 'header' | 'querystring' | 'path', name: string) => string | undefined;

/**
 * The response API Gateway sends for `error`, as the API configures it:
 * 1. the API's gateway response for the type, if any;
 * 2. else its DEFAULT_4XX or DEFAULT_5XX (by the type's status), whose status, headers and
 *    template apply to every type of that family not customised itself;
 * 3. else AWS's built-in `{"message": ...}`.
 * Header values are static strings, or mappings of request values and `$context` variables.
 * @param variables the request's `$context` variables, with `context.error.*` already set
 */
export function renderGatewayResponse(
  api: RestApiModel,
  error: GatewayError,
  variables: ContextVariables,
  lookup: RequestValueLookup,
): RenderedResponse {
  const builtIn = BUILT_IN[error.type];
  const baseStatus = error.statusCode ?? builtIn.statusCode;
  const own = findResponse(api, error.type);
  const family = findResponse(api, baseStatus >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX');
  const configured = own ?? family;

  const statusCode = own?.statusCode ?? family?.statusCode ?? baseStatus;
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'x-amzn-ErrorType': builtIn.errorType };
  for (const [name, mapping] of Object.entries(configured?.headers ?? {})) {
    const value = resolveHeaderValue(mapping, variables, lookup);
    if (value === undefined) continue;
    // The API's header replaces ours whatever its case.
    for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    headers[name] = value;
  }
  const body = renderContextTemplate(configured?.template ?? DEFAULT_TEMPLATE, variables);
  return { statusCode, headers, body };
}

function findResponse(api: RestApiModel, type: string): GatewayResponseModel | undefined {
  return api.gatewayResponses.find((r) => r.responseType === type);
}

/**
 * A gateway response header's value. The model gives static values with their quotes removed;
 * a value still quoted is unquoted here too, so either form of the model works. Unquoted
 * mapping expressions are resolved against the request; an unresolvable one drops the header.
 */
function resolveHeaderValue(mapping: string, variables: ContextVariables, lookup: RequestValueLookup): string | undefined {
  const quoted = /^'(.*)'$/s.exec(mapping);
  if (quoted) return quoted[1]!;
  const request = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(mapping);
  if (request) return lookup(request[1] as 'header' | 'querystring' | 'path', request[2]!);
  if (/^context\.[A-Za-z0-9_.]+$/.test(mapping)) return variables.get(mapping) ?? undefined;
  if (/^stageVariables\.[A-Za-z0-9_.]+$/.test(mapping)) return undefined;
  return mapping;
}
