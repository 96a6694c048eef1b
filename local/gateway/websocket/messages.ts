import type { LambdaInvoker, WebSocketApiModel } from '../../model';
import type { LiveConnection } from './connection';
import { errorFrame, messageEvent, requestIdOf } from './events';
import { newWebSocketId } from './ids';
import { invokeIntegration } from './invoke';
import { selectRoute } from './route-selection';
import type { WebSocketGatewayLogEntry } from './types';

/** What routing a message needs; `routeKeys` is the API's route keys, computed once. */
export interface MessageContext {
  readonly api: WebSocketApiModel;
  readonly invoker: LambdaInvoker;
  readonly routeKeys: ReadonlySet<string>;
  readonly log: (entry: WebSocketGatewayLogEntry) => void;
}

/**
 * Hands one client message to the route it selects. Route responses are not modelled (as with
 * CDK's default routes), so what the handler returns is dropped; but, as on AWS, the client is
 * told when its message could not be routed (`Forbidden`) or its integration failed
 * (`Internal server error`) or timed out.
 */
export async function dispatchMessage(context: MessageContext, connection: LiveConnection, body: string): Promise<void> {
  const { api, invoker, routeKeys, log } = context;
  const connectionId = connection.id;
  const routeKey = selectRoute(api.routeSelectionExpression, body, routeKeys);
  const route = api.routes.find((candidate) => candidate.routeKey === routeKey);
  if (routeKey === undefined || !route) {
    const requestId = newWebSocketId();
    log({ level: 'warn', message: 'no route for message and no $default route', connectionId, requestId });
    connection.send(Buffer.from(errorFrame('Forbidden', connectionId, requestId)), false);
    return;
  }

  const event = messageEvent(connection.facts, routeKey, body);
  const requestId = requestIdOf(event);
  const outcome = await invokeIntegration(invoker, route.functionArn, event, route.timeoutMs);
  if (outcome.kind === 'failed') {
    log({ level: 'error', message: `${routeKey} failed: ${outcome.errorType}: ${outcome.errorMessage}`, connectionId, requestId, routeKey });
    connection.send(Buffer.from(errorFrame('Internal server error', connectionId, requestId)), false);
  } else if (outcome.kind === 'timed-out') {
    log({ level: 'error', message: `${routeKey} timed out after ${route.timeoutMs} ms`, connectionId, requestId, routeKey });
    connection.send(Buffer.from(errorFrame('Endpoint request timed out', connectionId, requestId)), false);
  } else {
    log({ level: 'info', message: `${routeKey} ran`, connectionId, requestId, routeKey });
  }
}
