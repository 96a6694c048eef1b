import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { allowPolicy, authenticate } from '#shared/auth/authorizer';
import type { TokenVerifier } from '#shared/auth/jwt';
import { verifierFromEnv } from '#shared/auth/verifier-from-env';
import { connectionTokenFrom } from '#shared/auth/websocket';
import { logger } from '#shared/powertools';

/**
 * What API Gateway sends a WebSocket `$connect` REQUEST authorizer: the REST request
 * authorizer's event without `resource`, `path` and `httpMethod`, and with a WebSocket
 * request context (`routeKey`, `eventType`, `connectionId`).
 */
export type ConnectionAuthorizerEvent = Pick<APIGatewayRequestAuthorizerEvent, 'type' | 'methodArn' | 'headers' | 'queryStringParameters'> & {
  readonly requestContext?: { readonly connectionId?: string; readonly routeKey?: string } | null;
};

/**
 * The WebSocket API's `$connect` authorizer: the token comes as the subprotocol after `bearer`
 * in `Sec-WebSocket-Protocol` (browsers) or as `?token=` (other clients). Allows `methodArn`,
 * the one route a `$connect` authorizer guards, with the principal in the context; refuses
 * with `Unauthorized` (401) when the token is missing or invalid.
 *
 * @param verifier checks the token; the deployed handler builds it from the environment
 */
export function createConnectionAuthorizer(verifier: TokenVerifier) {
  return async (event: ConnectionAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const principal = await authenticate(verifier, connectionTokenFrom(event.headers, event.queryStringParameters));
    logger.appendKeys({ userId: principal.userId, tenantId: principal.tenantId });
    logger.info('Connection token accepted', { connectionId: event.requestContext?.connectionId });
    return allowPolicy(principal, event.methodArn);
  };
}

export const handler = middy<ConnectionAuthorizerEvent, APIGatewayAuthorizerResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(createConnectionAuthorizer(verifierFromEnv()));
