import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { allowPolicy, authenticate, bearerTokenFrom, stageWildcardArn, UNAUTHORIZED } from '#shared/auth/authorizer';
import type { TokenVerifier } from '#shared/auth/jwt';
import { verifierFromEnv } from '#shared/auth/verifier-from-env';
import { logger } from '#shared/powertools';

/**
 * The REST API's TOKEN authorizer: `Authorization: Bearer <jwt>` in, an Allow policy carrying
 * the principal out, or `Unauthorized` (401).
 *
 * The policy allows the whole stage, not just `methodArn`: API Gateway caches the result per
 * token and reuses it on every route, so a policy naming only the first route would turn the
 * caller's next request, to any other route, into a 403. What a principal may do on a route is
 * the route's business, decided from the scopes in the context.
 *
 * @param verifier checks the token; the deployed handler builds it from the environment
 */
export function createRequestAuthorizer(verifier: TokenVerifier) {
  return async (event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const resource = stageWildcardArn(event.methodArn);
    if (!resource) {
      logger.error('Unexpected methodArn', { methodArn: event.methodArn });
      throw new Error(UNAUTHORIZED);
    }
    const principal = await authenticate(verifier, bearerTokenFrom(event.authorizationToken));
    logger.appendKeys({ userId: principal.userId, tenantId: principal.tenantId });
    logger.info('Token accepted');
    return allowPolicy(principal, resource);
  };
}

export const handler = middy<APIGatewayTokenAuthorizerEvent, APIGatewayAuthorizerResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(createRequestAuthorizer(verifierFromEnv()));
