import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { expect } from 'vitest';

/** The API's own host, as API Gateway puts it in `requestContext.domainName`. */
const API_DOMAIN = 'abc123.execute-api.us-east-1.amazonaws.com';
const STAGE = 'dev';
const SOURCE_IP = '198.51.100.7';

/** What a REST event carries besides its method, resource and path. */
export interface RestEventParts {
  /** The authorizer's context, as `requestContext.authorizer`; left out when not given. */
  readonly authorizer?: Record<string, unknown>;
  /** Sent as it is when a string, else as its JSON (with `Content-Type: application/json`). */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** @default 'abc123.execute-api.us-east-1.amazonaws.com' */
  readonly domainName?: string;
  /** @default 'dev' */
  readonly stage?: string;
  /** @default '198.51.100.7' */
  readonly sourceIp?: string;
}

/** An API Gateway REST (v1, proxy) event as the platform's API hands it to a function. */
export function restApiEvent(method: string, resource: string, path: string, parts: RestEventParts = {}): APIGatewayProxyEvent {
  const domainName = parts.domainName ?? API_DOMAIN;
  return {
    resource,
    path,
    httpMethod: method,
    headers: { Host: domainName, 'X-Forwarded-Proto': 'https', ...(parts.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...parts.headers },
    multiValueHeaders: {},
    queryStringParameters: parts.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: parts.pathParameters ?? null,
    stageVariables: null,
    body: parts.body === undefined ? null : typeof parts.body === 'string' ? parts.body : JSON.stringify(parts.body),
    isBase64Encoded: false,
    requestContext: {
      resourcePath: resource,
      httpMethod: method,
      stage: parts.stage ?? STAGE,
      domainName,
      requestId: randomUUID(),
      identity: { sourceIp: parts.sourceIp ?? SOURCE_IP },
      ...(parts.authorizer ? { authorizer: parts.authorizer } : {}),
    },
  } as unknown as APIGatewayProxyEvent;
}

/** The JSON body of a response. */
export function bodyOf<T = Record<string, unknown>>(result: APIGatewayProxyResult): T {
  return JSON.parse(result.body) as T;
}

/** The problem+json body of a response, after checking its status and content type. */
export function problemOf(result: APIGatewayProxyResult, status: number): Record<string, unknown> {
  expect(result.statusCode, result.body).toBe(status);
  expect(result.headers?.['content-type']).toBe('application/problem+json');
  return bodyOf(result);
}
