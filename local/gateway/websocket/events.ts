import type { Handshake } from './handshake';
import { formatRequestTime, newWebSocketId } from './ids';

/**
 * Events API Gateway sends a WebSocket API's Lambda proxy integrations and its `$connect`
 * REQUEST authorizer, in the shapes AWS documents ("Input format of a Lambda function for proxy
 * integration for WebSocket APIs", "Control access to WebSocket APIs with AWS Lambda REQUEST
 * authorizers").
 */

/** What every event of one connection shares. */
export interface ConnectionFacts {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly apiId: string;
  readonly stage: string;
  readonly domainName: string;
  readonly sourceIp: string;
  readonly userAgent?: string;
  /** The authorizer's context plus `principalId`, when the API has a `$connect` authorizer. */
  readonly authorizer?: Readonly<Record<string, unknown>>;
}

type EventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

function requestContext(facts: ConnectionFacts, routeKey: string, eventType: EventType, requestId: string, now: number) {
  return {
    routeKey,
    eventType,
    // AWS documents `requestId` as the same value as `extendedRequestId` for WebSocket APIs.
    extendedRequestId: requestId,
    requestTime: formatRequestTime(now),
    messageDirection: 'IN' as const,
    stage: facts.stage,
    connectedAt: facts.connectedAt,
    requestTimeEpoch: now,
    identity: { sourceIp: facts.sourceIp, ...(facts.userAgent === undefined ? {} : { userAgent: facts.userAgent }) },
    requestId,
    domainName: facts.domainName,
    connectionId: facts.connectionId,
    apiId: facts.apiId,
    ...(facts.authorizer === undefined ? {} : { authorizer: facts.authorizer }),
  };
}

/** The request id an event carries, for error frames and logs. */
export function requestIdOf(event: { readonly requestContext: { readonly requestId: string } }): string {
  return event.requestContext.requestId;
}

function nonEmpty<T extends object>(name: string, value: T): Record<string, T> {
  // AWS leaves the query keys out of a `$connect` event whose URL had no query string.
  return Object.keys(value).length === 0 ? {} : { [name]: value };
}

/** The `$connect` route's event: the handshake's headers and query string. */
export function connectEvent(facts: ConnectionFacts, handshake: Handshake, now = Date.now()) {
  return {
    headers: handshake.headers,
    multiValueHeaders: handshake.multiValueHeaders,
    ...nonEmpty('queryStringParameters', handshake.queryStringParameters),
    ...nonEmpty('multiValueQueryStringParameters', handshake.multiValueQueryStringParameters),
    requestContext: requestContext(facts, '$connect', 'CONNECT', newWebSocketId(), now),
    isBase64Encoded: false,
  };
}

/**
 * The `$connect` REQUEST authorizer's event. Its `methodArn` has no HTTP method: it ends with
 * the stage and `$connect`. `facts` has no authorizer context yet: this event is what makes it.
 */
export function authorizerEvent(facts: ConnectionFacts, handshake: Handshake, methodArn: string, now = Date.now()) {
  return {
    type: 'REQUEST' as const,
    methodArn,
    headers: handshake.headers,
    multiValueHeaders: handshake.multiValueHeaders,
    queryStringParameters: handshake.queryStringParameters,
    multiValueQueryStringParameters: handshake.multiValueQueryStringParameters,
    stageVariables: {},
    requestContext: requestContext(facts, '$connect', 'CONNECT', newWebSocketId(), now),
  };
}

/** A message's event: the raw frame text as `body`, with no headers (AWS sends none after the handshake). */
export function messageEvent(facts: ConnectionFacts, routeKey: string, body: string, now = Date.now()) {
  return {
    requestContext: { ...requestContext(facts, routeKey, 'MESSAGE', newWebSocketId(), now), messageId: newWebSocketId() },
    body,
    isBase64Encoded: false,
  };
}

/**
 * The `$disconnect` route's event. AWS sends a fixed set of near-empty headers here, not the
 * handshake's, and tells why the connection ended.
 */
export function disconnectEvent(facts: ConnectionFacts, statusCode: number, reason: string, now = Date.now()) {
  const headers = { Host: facts.domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' };
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    requestContext: {
      ...requestContext(facts, '$disconnect', 'DISCONNECT', newWebSocketId(), now),
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
    },
    isBase64Encoded: false,
  };
}

/**
 * The frame API Gateway sends a client when it cannot route or run a message:
 * `{"message": "Forbidden", "connectionId":"…", "requestId":"…"}`, spacing as AWS writes it.
 */
export function errorFrame(message: string, connectionId: string, requestId: string): string {
  return `{"message": ${JSON.stringify(message)}, "connectionId":${JSON.stringify(connectionId)}, "requestId":${JSON.stringify(requestId)}}`;
}
