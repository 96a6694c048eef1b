import type { LambdaInvoker, RestApiModel, RestAuthorizerModel, RestMethodModel } from '../../model';
import type { ContextVariables } from './context-template';
import type { GatewayError } from './gateway-responses';
import { invokeWithin } from './invoke';
import { evaluatePolicy, parsePolicyDocument, type PolicyStatement } from './policy';
import { headerMaps, type StageRequest } from './proxy-event';
import { headerValue } from './request';

/** What an authorizer said about a caller, as API Gateway keeps it (and caches it). */
interface Authorization {
  readonly principalId: string;
  readonly statements: readonly PolicyStatement[];
  /** The `context` map, values stringified as API Gateway passes them on. */
  readonly context: Readonly<Record<string, string | null>>;
  /** The API key the caller is metered against, for APIs whose key source is AUTHORIZER. */
  readonly usageIdentifierKey?: string;
}

/** The request an authorizer is asked about. */
export interface AuthorizationRequest {
  readonly request: StageRequest;
  readonly methodArn: string;
  readonly resourcePath: string;
  readonly pathParameters: Readonly<Record<string, string>> | null;
  /** The proxy event's `requestContext`, given to REQUEST authorizers. */
  readonly requestContext: Record<string, unknown>;
  /** For `context.*` identity sources. */
  readonly contextVariables: ContextVariables;
}

/** The gateway's decision, with what `$context.authorizer.*` holds either way. */
export type AuthorizationDecision =
  | {
      readonly allowed: true;
      readonly principalId: string;
      readonly context: Readonly<Record<string, string | null>>;
      /** Time spent in the authorizer; 0 for a cached result, as AWS reports it. */
      readonly latencyMs: number;
      /** The authorizer's `usageIdentifierKey`, when it returned one. */
      readonly usageIdentifierKey?: string;
    }
  | {
      readonly allowed: false;
      readonly error: GatewayError;
      /** Why, for the access log: API Gateway's clients only see the gateway response. */
      readonly detail: string;
      readonly principalId?: string;
      readonly context?: Readonly<Record<string, string | null>>;
    };

/** The one authorizer error message API Gateway turns into a 401. */
const UNAUTHORIZED_MESSAGE = 'Unauthorized';
/** Cached results kept at most; the oldest go first. */
const CACHE_LIMIT = 10_000;

/**
 * Lambda (CUSTOM) authorizers of one API, with API Gateway's rules:
 * - identity sources are read first; a missing or empty one, or a TOKEN failing the
 *   validation expression, is a 401 without invoking the function;
 * - the function's error `Unauthorized` is a 401; any other error, a timeout or a malformed
 *   result is a 500 (AUTHORIZER_CONFIGURATION_ERROR, AWS's `AuthorizerConfigurationException`);
 * - results are cached per authorizer and identity-source values for `resultTtlSeconds`, and
 *   the cached policy is evaluated against each request's own method ARN.
 */
export class LambdaAuthorizers {
  private readonly cache = new Map<string, { readonly authorization: Authorization; readonly expiresAt: number }>();

  constructor(
    private readonly api: RestApiModel,
    private readonly invoker: LambdaInvoker,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Decides whether `input` may call `method`, invoking its authorizer unless a cached result applies. */
  async authorize(method: RestMethodModel, input: AuthorizationRequest): Promise<AuthorizationDecision> {
    const authorizer = this.api.authorizers.find((a) => a.id === method.authorizerId);
    if (!authorizer) {
      return refuse({ type: 'AUTHORIZER_CONFIGURATION_ERROR' }, `the method names authorizer "${method.authorizerId ?? ''}", which the API does not have`);
    }

    const identity = identityOf(authorizer, input);
    if ('missing' in identity) return refuse({ type: 'UNAUTHORIZED' }, `identity source ${identity.missing} is missing or empty`);
    if (authorizer.type === 'TOKEN' && authorizer.identityValidationExpression) {
      const valid = matchesExpression(authorizer.identityValidationExpression, identity.values[0]!);
      if (valid === undefined) {
        return refuse({ type: 'AUTHORIZER_CONFIGURATION_ERROR' }, `authorizer ${authorizer.name} has an invalid identity validation expression`);
      }
      if (!valid) return refuse({ type: 'UNAUTHORIZED' }, 'the token does not match the identity validation expression');
    }

    // Without identity sources there is nothing to key a cache on (AWS requires them to cache).
    const cacheable = authorizer.resultTtlSeconds > 0 && identity.values.length > 0;
    const key = `${authorizer.id}\n${JSON.stringify(identity.values)}`;
    let authorization = cacheable ? this.cached(key) : undefined;
    let latencyMs = 0;
    if (!authorization) {
      const invocation = await invokeWithin(this.invoker, authorizer.functionArn, eventFor(authorizer, identity.values, input), this.timeoutMs);
      latencyMs = invocation.latencyMs;
      if (invocation.kind === 'timed-out') return refuse({ type: 'AUTHORIZER_CONFIGURATION_ERROR' }, `authorizer ${authorizer.name} timed out`);
      if (invocation.kind === 'failed') {
        return refuse({ type: 'AUTHORIZER_CONFIGURATION_ERROR' }, `authorizer ${authorizer.name} could not be invoked: ${String(invocation.error)}`);
      }
      const { error, result } = invocation.outcome;
      if (error) {
        if (error.errorMessage === UNAUTHORIZED_MESSAGE) return refuse({ type: 'UNAUTHORIZED' }, `authorizer ${authorizer.name} refused the caller`);
        return refuse({ type: 'AUTHORIZER_CONFIGURATION_ERROR' }, `authorizer ${authorizer.name} failed: ${error.errorType}: ${error.errorMessage}`);
      }
      authorization = parseAuthorization(result);
      if (!authorization) {
        return refuse(
          { type: 'AUTHORIZER_CONFIGURATION_ERROR' },
          `authorizer ${authorizer.name} returned no usable principalId, policyDocument and context (values must be strings, numbers or booleans)`,
        );
      }
      if (cacheable) this.remember(key, authorization, authorizer.resultTtlSeconds);
    }

    const decision = evaluatePolicy(authorization.statements, input.methodArn);
    const { principalId, context } = authorization;
    if (decision === 'explicit-deny') {
      const message = 'User is not authorized to access this resource with an explicit deny';
      return { allowed: false, error: { type: 'ACCESS_DENIED', message }, detail: `the policy denies ${input.methodArn}`, principalId, context };
    }
    if (decision === 'implicit-deny') {
      return { allowed: false, error: { type: 'ACCESS_DENIED' }, detail: `the policy does not allow ${input.methodArn}`, principalId, context };
    }
    return { allowed: true, principalId, context, latencyMs, ...(authorization.usageIdentifierKey !== undefined ? { usageIdentifierKey: authorization.usageIdentifierKey } : {}) };
  }

  private cached(key: string): Authorization | undefined {
    const entry = this.cache.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > this.now()) return entry.authorization;
    this.cache.delete(key);
    return undefined;
  }

  private remember(key: string, authorization: Authorization, ttlSeconds: number): void {
    this.cache.delete(key);
    this.cache.set(key, { authorization, expiresAt: this.now() + ttlSeconds * 1000 });
    if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
  }
}

/** Whether the whole token matches (API Gateway uses Java's `matches`); undefined for a bad pattern. */
function matchesExpression(expression: string, token: string): boolean | undefined {
  try {
    return new RegExp(`^(?:${expression})$`).test(token);
  } catch {
    return undefined;
  }
}

function refuse(error: GatewayError, detail: string): AuthorizationDecision {
  return { allowed: false, error, detail };
}

/**
 * The values of an authorizer's identity sources, in order, or the first one missing.
 * Sources: `method.request.header.X`, `method.request.querystring.X`, their `multivalue`
 * forms (values joined with commas), `context.X`; stage variables never resolve (the local
 * stage has none).
 */
function identityOf(authorizer: RestAuthorizerModel, input: AuthorizationRequest): { values: string[] } | { missing: string } {
  const sources = authorizer.identitySource
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // A TOKEN authorizer has exactly one source, its token header.
  const used = authorizer.type === 'TOKEN' ? sources.slice(0, 1) : sources;
  const values: string[] = [];
  for (const source of used) {
    const value = identityValue(source, input);
    if (!value) return { missing: source };
    values.push(value);
  }
  return { values };
}

function identityValue(source: string, input: AuthorizationRequest): string | undefined {
  const { request } = input;
  const parameter = /^method\.request\.(header|multivalueheader|querystring|multivaluequerystring)\.(.+)$/.exec(source);
  if (parameter) {
    const [, kind, name] = parameter as unknown as [string, string, string];
    if (kind === 'header') return headerValue(request.headers, name);
    if (kind === 'multivalueheader') {
      const values = request.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
      return values.length ? values.join(',') : undefined;
    }
    if (kind === 'querystring') return request.query.single?.[name];
    return request.query.multi?.[name]?.join(',');
  }
  if (source.startsWith('context.')) return input.contextVariables.get(source) ?? undefined;
  return undefined;
}

function eventFor(authorizer: RestAuthorizerModel, identity: readonly string[], input: AuthorizationRequest): Record<string, unknown> {
  if (authorizer.type === 'TOKEN') return { type: 'TOKEN', authorizationToken: identity[0], methodArn: input.methodArn };
  const { request } = input;
  return {
    type: 'REQUEST',
    methodArn: input.methodArn,
    resource: input.resourcePath,
    path: request.path,
    httpMethod: request.httpMethod,
    ...headerMaps(request.headers),
    queryStringParameters: request.query.single,
    multiValueQueryStringParameters: request.query.multi,
    pathParameters: input.pathParameters,
    stageVariables: null,
    requestContext: input.requestContext,
  };
}

/** An authorizer's result as API Gateway accepts it, or undefined when it would not. */
function parseAuthorization(result: unknown): Authorization | undefined {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return undefined;
  const fields = result as Record<string, unknown>;
  const principalId = fields['principalId'];
  if (typeof principalId !== 'string' && typeof principalId !== 'number') return undefined;
  const statements = parsePolicyDocument(fields['policyDocument']);
  if (!statements) return undefined;
  const raw = fields['context'] ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const context: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (value === null) context[key] = null;
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') context[key] = String(value);
    // Objects and arrays are refused by API Gateway, failing the request.
    else return undefined;
  }
  const usageIdentifierKey = fields['usageIdentifierKey'];
  return { principalId: String(principalId), statements, context, ...(typeof usageIdentifierKey === 'string' ? { usageIdentifierKey } : {}) };
}
