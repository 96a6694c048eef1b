import type { LocalEnvironment, RestApiModel } from '../../model';
import { formatRequestTime, resourceIdOf, type RequestIds } from './ids';
import { isBinaryMediaType } from './media-types';
import { headerValue, type HeaderPairs, type QueryMaps } from './request';

/** What the gateway knows of one request once it is inside the stage. */
export interface StageRequest {
  readonly ids: RequestIds;
  readonly receivedAt: Date;
  readonly httpMethod: string;
  /** The path after the stage, percent-encoded as sent, starting with `/`. */
  readonly path: string;
  /** Headers as the integration sees them: as sent, plus API Gateway's forwarding headers. */
  readonly headers: HeaderPairs;
  readonly query: QueryMaps;
  readonly body: Buffer;
  /** The TCP peer's address: what `identity.sourceIp` is, whatever `X-Forwarded-For` claims. */
  readonly sourceIp: string;
  /** `HTTP/1.1` */
  readonly protocol: string;
}

/** The part of the proxy event's `requestContext` that does not depend on the matched resource. */
export interface RequestContextInput {
  readonly api: RestApiModel;
  readonly env: LocalEnvironment;
  readonly request: StageRequest;
  /** The matched resource's path (`/v1/links/{code}`), or empty when nothing matched. */
  readonly resourcePath: string;
  /** The API key, when the method requires one: as sent until usage plans validate it, then as validated. */
  readonly apiKey?: string;
  /** The validated API key's id. */
  readonly apiKeyId?: string;
}

/** Headers API Gateway adds before calling an integration; the caller's copies are replaced. */
export function forwardingHeaders(sent: HeaderPairs, options: { sourceIp: string; port: number; traceId: string }): HeaderPairs {
  const replaced = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port', 'x-amzn-trace-id']);
  const forwardedFor = headerValue(sent, 'X-Forwarded-For');
  return [
    ...sent.filter(([name]) => !replaced.has(name.toLowerCase())),
    // API Gateway appends the address it saw to the chain the client sent.
    ['X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${options.sourceIp}` : options.sourceIp],
    ['X-Forwarded-Proto', 'http'],
    ['X-Forwarded-Port', String(options.port)],
    ['X-Amzn-Trace-Id', options.traceId],
  ];
}

/** Headers in the v1 event's two shapes: the last value of each, and all values (null when none). */
export function headerMaps(pairs: HeaderPairs): { headers: Record<string, string> | null; multiValueHeaders: Record<string, string[]> | null } {
  // Hop-by-hop and framing headers describe the client's connection, not the request; AWS drops them.
  const dropped = new Set(['connection', 'content-length', 'keep-alive', 'transfer-encoding']);
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const caseOf = new Map<string, string>();
  for (const [sentName, value] of pairs) {
    const lower = sentName.toLowerCase();
    if (dropped.has(lower)) continue;
    // Repeats of a header in another case join the first spelling seen.
    const name = caseOf.get(lower) ?? sentName;
    caseOf.set(lower, name);
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  return Object.keys(headers).length ? { headers, multiValueHeaders } : { headers: null, multiValueHeaders: null };
}

/** `requestContext` of a v1 proxy event (and of a REQUEST authorizer's event), without `authorizer`. */
export function requestContextOf(input: RequestContextInput): Record<string, unknown> {
  const { api, env, request } = input;
  const domainName = headerValue(request.headers, 'Host') ?? 'localhost';
  return {
    accountId: env.account,
    apiId: api.apiId,
    domainName,
    domainPrefix: domainName.split(':')[0]!.split('.')[0]!,
    extendedRequestId: request.ids.extendedRequestId,
    httpMethod: request.httpMethod,
    identity: {
      accessKey: null,
      accountId: null,
      apiKey: input.apiKey ?? null,
      apiKeyId: input.apiKeyId ?? null,
      caller: null,
      clientCert: null,
      cognitoAuthenticationProvider: null,
      cognitoAuthenticationType: null,
      cognitoIdentityId: null,
      cognitoIdentityPoolId: null,
      principalOrgId: null,
      sourceIp: request.sourceIp,
      user: null,
      userAgent: headerValue(request.headers, 'User-Agent') ?? null,
      userArn: null,
    },
    path: `/${api.stageName}${request.path}`,
    protocol: request.protocol,
    requestId: request.ids.requestId,
    requestTime: formatRequestTime(request.receivedAt),
    requestTimeEpoch: request.receivedAt.getTime(),
    resourceId: input.resourcePath ? resourceIdOf(input.resourcePath) : '',
    resourcePath: input.resourcePath,
    stage: api.stageName,
  };
}

/** The body as a v1 event carries it: text, or base64 for binary media types and non-UTF-8 bytes. */
export function eventBody(request: StageRequest, binaryMediaTypes: readonly string[]): { body: string | null; isBase64Encoded: boolean } {
  if (request.body.length === 0) return { body: null, isBase64Encoded: false };
  if (isBinaryMediaType(headerValue(request.headers, 'Content-Type'), binaryMediaTypes)) {
    return { body: request.body.toString('base64'), isBase64Encoded: true };
  }
  try {
    return { body: new TextDecoder('utf-8', { fatal: true }).decode(request.body), isBase64Encoded: false };
  } catch {
    return { body: request.body.toString('base64'), isBase64Encoded: true };
  }
}

/** An API Gateway v1 (REST) Lambda proxy event, `APIGatewayProxyEvent`. */
export function proxyEventOf(options: {
  readonly api: RestApiModel;
  readonly request: StageRequest;
  readonly resourcePath: string;
  readonly pathParameters: Readonly<Record<string, string>> | null;
  readonly requestContext: Record<string, unknown>;
}): Record<string, unknown> {
  const { api, request } = options;
  return {
    resource: options.resourcePath,
    path: request.path,
    httpMethod: request.httpMethod,
    ...headerMaps(request.headers),
    queryStringParameters: request.query.single,
    multiValueQueryStringParameters: request.query.multi,
    pathParameters: options.pathParameters,
    stageVariables: null,
    requestContext: options.requestContext,
    ...eventBody(request, api.binaryMediaTypes),
  };
}
