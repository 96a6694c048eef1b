import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { principalFromAuthorizer } from '#shared/auth/principal';
import { logger } from '#shared/powertools';
import { deleteConnection } from './store';

type DisconnectEvent = APIGatewayProxyWebsocketEventV2 & { requestContext: { authorizer?: Record<string, unknown> } };

/**
 * `$disconnect`: forgets the connection, under the user the `$connect` authorizer named. API
 * Gateway delivers it on a best-effort basis, so the fan-out also prunes a connection on its first 410.
 */
export const handler = middy(async (event: DisconnectEvent): Promise<APIGatewayProxyResult> => {
  const { connectionId } = event.requestContext;
  const principal = principalFromAuthorizer(event.requestContext.authorizer);
  if (!principal) {
    // Every connection passed the $connect authorizer, whose context travels with all its events.
    logger.warn('disconnect without an identity; the fan-out prunes the connection at its first 410', { connectionId });
    return { statusCode: 200, body: '' };
  }
  await deleteConnection(principal.tenantId, principal.userId, connectionId);
  logger.info('disconnected', { connectionId, tenantId: principal.tenantId, userId: principal.userId });
  return { statusCode: 200, body: '' };
}).use(injectLambdaContext(logger, { resetKeys: true }));
