import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { principalFromAuthorizer } from '#shared/auth/principal';
import { subprotocolResponseHeaders } from '#shared/auth/websocket';
import { logger } from '#shared/powertools';

/** API Gateway passes `$connect` handshake headers, which the v2 WebSocket event type leaves out. */
type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  headers?: Record<string, string | undefined>;
  requestContext: { authorizer?: Record<string, unknown> };
};

/**
 * Accepts a connection the authorizer already allowed, answering the `bearer` subprotocol
 * when the client offered its token that way. Domains that keep a connection registry
 * replace this handler with their own.
 */
export const handler = middy(async (event: ConnectEvent): Promise<APIGatewayProxyResult> => {
  const principal = principalFromAuthorizer(event.requestContext.authorizer);
  logger.info('connected', { connectionId: event.requestContext.connectionId, tenantId: principal?.tenantId, userId: principal?.userId });
  return { statusCode: 200, headers: subprotocolResponseHeaders(event.headers), body: '' };
}).use(injectLambdaContext(logger, { resetKeys: true }));
