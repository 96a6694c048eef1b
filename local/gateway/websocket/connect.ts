import type { LambdaInvoker, LocalEnvironment, WebSocketApiModel } from '../../model';
import { authorizeConnection, connectMethodArn } from './authorizer';
import { authorizerEvent, connectEvent, type ConnectionFacts } from './events';
import type { Handshake } from './handshake';
import { invokeIntegration } from './invoke';

/**
 * Whether a handshake becomes a connection. On AWS the upgrade stays pending while the
 * authorizer and the `$connect` integration run, and the client gets the HTTP status they
 * decide, so a refusal here is an HTTP response, never a WebSocket close.
 */
export type Admission =
  | {
      readonly kind: 'accept';
      readonly facts: ConnectionFacts;
      /** The subprotocol the `$connect` handler chose with `Sec-WebSocket-Protocol`, if any. */
      readonly protocol?: string;
      /** Other headers the handler returned, for the 101 response. */
      readonly headers: readonly (readonly [string, string])[];
    }
  | {
      readonly kind: 'refuse';
      readonly statusCode: number;
      readonly headers: readonly (readonly [string, string])[];
      readonly body: string;
      readonly why: string;
    };

/** What admitting a connection needs: the API, the functions, and the account and region of its ARNs. */
export interface AdmissionContext {
  readonly api: WebSocketApiModel;
  readonly invoker: LambdaInvoker;
  readonly env: LocalEnvironment;
}

const json = (message: string) => JSON.stringify({ message });

/** Runs the authorizer (if any) and the `$connect` route (if any) for a new connection. */
export async function admitConnection(context: AdmissionContext, facts: ConnectionFacts, handshake: Handshake): Promise<Admission> {
  const { api, invoker, env } = context;
  let admitted = facts;

  if (api.connectAuthorizer) {
    const methodArn = connectMethodArn(env, api.apiId, api.stageName);
    const decision = await authorizeConnection(api.connectAuthorizer, authorizerEvent(facts, handshake, methodArn), handshake, invoker);
    if (decision.kind === 'refuse') {
      const message = { 401: 'Unauthorized', 403: 'Forbidden', 500: 'Internal server error' }[decision.statusCode];
      return refuse(decision.statusCode, json(message), decision.why);
    }
    admitted = { ...facts, authorizer: decision.authorizer };
  }

  const route = api.routes.find((candidate) => candidate.routeKey === '$connect');
  if (!route) return { kind: 'accept', facts: admitted, headers: [] };

  const outcome = await invokeIntegration(invoker, route.functionArn, connectEvent(admitted, handshake), route.timeoutMs);
  if (outcome.kind === 'timed-out') return refuse(504, json('Endpoint request timed out'), '$connect timed out');
  if (outcome.kind === 'failed') {
    return refuse(500, json('Internal server error'), `$connect failed: ${outcome.errorType}: ${outcome.errorMessage}`);
  }
  return readConnectResponse(outcome.result, admitted);
}

/**
 * Reads the `$connect` handler's proxy response: a 2xx `statusCode` accepts, with its headers
 * (notably `Sec-WebSocket-Protocol`) on the 101; any other status refuses the handshake with
 * that status and the handler's body. A response without a numeric `statusCode` is malformed,
 * which API Gateway answers with 502, as for a REST proxy integration.
 */
export function readConnectResponse(result: unknown, facts: ConnectionFacts): Admission {
  const response = typeof result === 'object' && result !== null ? (result as Record<string, unknown>) : {};
  const statusCode = Number(response.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    return refuse(502, json('Internal server error'), '$connect returned a malformed response (no statusCode)');
  }
  const headers = responseHeaders(response);
  if (statusCode < 200 || statusCode > 299) {
    const body = typeof response.body === 'string' ? response.body : '';
    return refuse(statusCode, body, `$connect answered ${statusCode}`, headers);
  }
  const protocol = headers.find(([name]) => name.toLowerCase() === 'sec-websocket-protocol')?.[1];
  return {
    kind: 'accept',
    facts,
    ...(protocol ? { protocol } : {}),
    headers: headers.filter(([name]) => name.toLowerCase() !== 'sec-websocket-protocol'),
  };
}

function refuse(statusCode: number, body: string, why: string, headers: readonly (readonly [string, string])[] = []): Admission {
  return { kind: 'refuse', statusCode, headers, body, why };
}

/** `headers` and `multiValueHeaders` of a proxy response, as name and value pairs. */
function responseHeaders(response: Record<string, unknown>): [string, string][] {
  const pairs: [string, string][] = [];
  const single = response.headers;
  if (typeof single === 'object' && single !== null) {
    for (const [name, value] of Object.entries(single)) if (value !== undefined && value !== null) pairs.push([name, String(value)]);
  }
  const multi = response.multiValueHeaders;
  if (typeof multi === 'object' && multi !== null) {
    for (const [name, values] of Object.entries(multi)) {
      if (Array.isArray(values)) for (const value of values) pairs.push([name, String(value)]);
    }
  }
  return pairs;
}
