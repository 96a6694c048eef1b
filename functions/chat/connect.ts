import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { principalFromAuthorizer } from '#shared/auth/principal';
import { subprotocolResponseHeaders } from '#shared/auth/websocket';
import { logger } from '#shared/powertools';
import { putConnection } from './store';

type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  requestContext: { authorizer?: Record<string, unknown> };
};

/** What a client may call its device: `?device=` or `X-Device-Id`, short and printable. */
function deviceOf(event: ConnectEvent): string | null {
  const header = Object.entries(event.headers ?? {}).find(([name]) => name.toLowerCase() === 'x-device-id')?.[1];
  const given = event.queryStringParameters?.['device'] ?? header;
  return given && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : null;
}

/**
 * `$connect`, after the authorizer admitted the token: records the connection (user, tenant,
 * device, when), findable by user, expiring with API Gateway's 2-hour limit.
 */
export const handler = middy(async (event: ConnectEvent): Promise<APIGatewayProxyResult> => {
  const principal = principalFromAuthorizer(event.requestContext.authorizer);
  if (!principal) return { statusCode: 401, body: '' };
  const now = Date.now();
  await putConnection(
    { connectionId: event.requestContext.connectionId, tenantId: principal.tenantId, userId: principal.userId, device: deviceOf(event), connectedAt: new Date(now).toISOString() },
    now,
  );
  logger.info('connected', { connectionId: event.requestContext.connectionId, tenantId: principal.tenantId, userId: principal.userId });
  return { statusCode: 200, headers: subprotocolResponseHeaders(event.headers), body: '' };
}).use(injectLambdaContext(logger, { resetKeys: true }));
