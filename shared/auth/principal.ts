/**
 * Who is calling: what the authorizer proved about a token, handed to every handler.
 * Every read and write is scoped by `tenantId` from here, never from a request body.
 */
export interface Principal {
  readonly userId: string;
  readonly tenantId: string;
  readonly scopes: readonly string[];
}

/**
 * API Gateway passes an authorizer's context to the integration as flat string values,
 * so scopes travel space-separated, as in an OAuth `scope` claim.
 */
export interface AuthorizerContext {
  readonly userId: string;
  readonly tenantId: string;
  readonly scopes: string;
  [key: string]: string;
}

export function toAuthorizerContext(principal: Principal): AuthorizerContext {
  return { userId: principal.userId, tenantId: principal.tenantId, scopes: principal.scopes.join(' ') };
}

/**
 * Reads the principal back from `requestContext.authorizer`. Returns undefined when the
 * route had no authorizer or the context is incomplete.
 */
export function principalFromAuthorizer(context: Record<string, unknown> | null | undefined): Principal | undefined {
  if (!context) return undefined;
  const { userId, tenantId, scopes } = context;
  if (typeof userId !== 'string' || !userId || typeof tenantId !== 'string' || !tenantId) return undefined;
  return {
    userId,
    tenantId,
    scopes: typeof scopes === 'string' ? scopes.split(' ').filter(Boolean) : [],
  };
}

/** True when the principal holds every one of `required`. */
export function hasScopes(principal: Principal, required: readonly string[]): boolean {
  return required.every((scope) => principal.scopes.includes(scope));
}
