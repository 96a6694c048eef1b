import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { logger } from '#shared/powertools';
import { deleteConnection } from './store';

/**
 * `$disconnect`: forgets the connection. API Gateway delivers it on a best-effort basis, so the
 * fan-out also prunes a connection on its first 410.
 */
export const handler = middy(async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResult> => {
  await deleteConnection(event.requestContext.connectionId);
  logger.info('disconnected', { connectionId: event.requestContext.connectionId });
  return { statusCode: 200, body: '' };
}).use(injectLambdaContext(logger, { resetKeys: true }));
