import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { UnauthorizedError } from '../errors';
import { logger } from '../powertools';
import type { TokenVerifier } from './jwt';
import { toAuthorizerContext, type Principal } from './principal';

/**
 * The one error message API Gateway turns into a 401 from a Lambda authorizer. Any other
 * thrown error becomes a 500, which is what a verifier that cannot reach its keys should cause.
 */
export const UNAUTHORIZED = 'Unauthorized';

/** The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 9110). */
export function bearerTokenFrom(authorization: string | null | undefined): string | undefined {
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '')?.[1];
}

/**
 * Verifies `token` for an authorizer: the principal, or the exact error API Gateway maps to 401.
 * A missing token is refused the same way as a bad one.
 */
export async function authenticate(verifier: TokenVerifier, token: string | undefined): Promise<Principal> {
  if (!token) {
    logger.info('Token refused', { reason: 'no token' });
    throw new Error(UNAUTHORIZED);
  }
  try {
    return await verifier.verify(token);
  } catch (error) {
    if (error instanceof UnauthorizedError) throw new Error(UNAUTHORIZED);
    logger.error('Token could not be verified', { error: error as Error });
    throw error;
  }
}

/**
 * The resource for every method and path of the stage a REST `methodArn` belongs to:
 * `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/GET/jobs/42` gives the same ARN
 * ending in `{stage}/` followed by two `*` wildcards (any method, any path). Undefined when
 * `methodArn` is not an execute-api ARN. The partition is kept, so `aws-cn` works too.
 */
export function stageWildcardArn(methodArn: string): string | undefined {
  const stage = /^(arn:[a-z-]+:execute-api:[^:]+:[^:]+:[^/:]+\/[^/]+)\//.exec(methodArn)?.[1];
  return stage && `${stage}/*/*`;
}

/** An Allow policy on `resource` for `principal`, whose context reaches every integration. */
export function allowPolicy(principal: Principal, resource: string): APIGatewayAuthorizerResult {
  return {
    principalId: principal.userId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resource }],
    },
    context: toAuthorizerContext(principal),
  };
}
