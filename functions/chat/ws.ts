import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import type { z } from 'zod';
import { principalFromAuthorizer, type Principal } from '#shared/auth/principal';
import { AppError, ValidationError } from '#shared/errors';
import { toViolations } from '#shared/http/validation';
import { logger, metrics } from '#shared/powertools';
import { limitMessage } from '#shared/websocket/limits';
import { postFrame, type ServerFrame } from './frames';

/** What an action handler gets besides its frame. */
export interface ActionContext {
  readonly principal: Principal;
  readonly connectionId: string;
  readonly requestId: string;
}

type MessageEvent = APIGatewayProxyWebsocketEventV2 & { requestContext: { authorizer?: Record<string, unknown> } };

/**
 * A WebSocket action: the frame parsed and validated by `schema`, the message limits applied, the
 * principal from the `$connect` authorizer. The handler's answer (if any) is posted back to the
 * sending connection. Anything wrong becomes an error frame `{ type: 'error', code, message,
 * requestId }` to the sender, never a closed connection; nothing is stored for a refused frame.
 */
export function chatAction<S extends z.ZodType>(action: string, schema: S, handle: (frame: z.output<S>, context: ActionContext) => Promise<ServerFrame | undefined>) {
  return middy(async (event: MessageEvent): Promise<APIGatewayProxyResultV2> => {
    const { connectionId, requestId } = event.requestContext;
    logger.appendKeys({ connectionId, action });
    const reply = (frame: ServerFrame) => postFrame(connectionId, frame);
    const refuse = (code: string, message: string, extra: Partial<Extract<ServerFrame, { type: 'error' }>> = {}) =>
      reply({ type: 'error', code, message, requestId, ...extra });

    let body: unknown;
    try {
      body = JSON.parse(event.body ?? '');
    } catch {
      await refuse('malformed-frame', 'frames are JSON objects with an "action" field');
      return { statusCode: 200 };
    }
    const limited = await limitMessage(event);
    if (limited) {
      await reply(limited);
      return { statusCode: 200 };
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const errors = toViolations(parsed.error, 'body').map((v) => ({ field: v.field.replace(/^body/, 'frame'), rule: v.rule }));
      await refuse('validation-failed', errors.map((e) => `${e.field}: ${e.rule}`).join('; '), { errors });
      return { statusCode: 200 };
    }
    const principal = principalFromAuthorizer(event.requestContext.authorizer);
    if (!principal) {
      // $connect's authorizer admitted this connection, so this is a misconfigured route.
      await refuse('unauthorized', 'this connection carries no identity');
      return { statusCode: 200 };
    }
    logger.appendKeys({ tenantId: principal.tenantId, userId: principal.userId });
    try {
      const answer = await handle(parsed.data, { principal, connectionId, requestId });
      if (answer) await reply(answer);
    } catch (error) {
      if (error instanceof AppError) {
        logger.info('frame refused', { code: error.code, reason: error.message });
        await refuse(error.code, error.message, error instanceof ValidationError ? { errors: [...error.violations] } : {});
      } else {
        logger.error('frame failed', { error: error as Error });
        await refuse('internal', 'the message could not be handled; quote the request id');
      }
    }
    return { statusCode: 200 };
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
