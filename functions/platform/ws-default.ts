import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { connectionsClient } from '#shared/clients/apigateway-management';
import { readEnv } from '#shared/env';
import { logger } from '#shared/powertools';
import { limitMessage } from '#shared/websocket/limits';

const env = readEnv({ WEBSOCKET_CALLBACK_URL: z.url() });

/** The only part of a frame this handler reads: which action the client asked for. */
const FrameSchema = z.object({ action: z.string().max(64).optional() }).loose();

/**
 * Frames whose `action` matches no route land here. The client gets an error frame and the
 * connection stays open: a typo must not cost a reconnect.
 */
export const handler = middy(async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, requestId } = event.requestContext;
  const frame = parseFrame(event.body);
  const limited = await limitMessage(event as Parameters<typeof limitMessage>[0]);
  const reply = limited ?? (frame.success
    ? { type: 'error', code: 'unknown-action', message: `no route for action ${JSON.stringify(frame.data.action ?? null)}`, requestId }
    : { type: 'error', code: 'malformed-frame', message: 'frames are JSON objects with an "action" field', requestId });
  logger.info('unroutable frame', { connectionId, code: reply.code });
  try {
    await connectionsClient(env.WEBSOCKET_CALLBACK_URL).send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(reply)) }),
    );
  } catch (error) {
    // The client left before the answer: nothing to tell it, and nothing to retry.
    if (!(error instanceof GoneException)) throw error;
  }
  return { statusCode: 200 };
}).use(injectLambdaContext(logger, { resetKeys: true }));

function parseFrame(body: string | undefined) {
  try {
    return FrameSchema.safeParse(JSON.parse(body ?? ''));
  } catch {
    return FrameSchema.safeParse(undefined);
  }
}
