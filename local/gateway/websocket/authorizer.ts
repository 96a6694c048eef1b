import type { LambdaInvoker, LocalEnvironment, WebSocketApiModel } from '../../model';
import { headerValue, type Handshake } from './handshake';
import { invokeIntegration } from './invoke';

/** The `$connect` route's REQUEST authorizer, as the model describes it. */
export type ConnectAuthorizerModel = NonNullable<WebSocketApiModel['connectAuthorizer']>;

/**
 * What the authorizer decided: the context every event of the connection will carry, or the
 * HTTP status the handshake is refused with (401 `Unauthorized`, 403 a Deny, 500 a broken
 * authorizer), and why, for the log.
 */
export type AuthorizationDecision =
  | { readonly kind: 'allow'; readonly authorizer: Readonly<Record<string, unknown>> }
  | { readonly kind: 'refuse'; readonly statusCode: 401 | 403 | 500; readonly why: string };

/** AWS refuses authorizer results over 8 KB (a WebSocket API quota that cannot be raised). */
const MAX_RESULT_BYTES = 8 * 1024;

/** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect`: no HTTP method, unlike REST. */
export function connectMethodArn(env: LocalEnvironment, apiId: string, stage: string): string {
  return `arn:aws:execute-api:${env.region}:${env.account}:${apiId}/${stage}/$connect`;
}

/**
 * The first identity source the handshake lacks. AWS refuses such a handshake with 401 without
 * invoking the authorizer. Sources this gateway cannot evaluate (`context.*`) count as present;
 * a local stage has no stage variables, so `stageVariables.*` are always missing.
 */
export function missingIdentitySource(sources: readonly string[], handshake: Handshake): string | undefined {
  return sources.find((source) => {
    const header = /^route\.request\.header\.(.+)$/i.exec(source)?.[1];
    if (header !== undefined) return !headerValue(handshake.headers, header);
    const parameter = /^route\.request\.querystring\.(.+)$/i.exec(source)?.[1];
    if (parameter !== undefined) return !handshake.queryStringParameters[parameter];
    return /^stageVariables\./.test(source);
  });
}

/**
 * Runs the `$connect` authorizer as API Gateway does: identity sources first, then the
 * function, whose `Unauthorized` error means 401 and whose policy must allow `methodArn`.
 */
export async function authorizeConnection(
  authorizer: ConnectAuthorizerModel,
  event: { readonly methodArn: string },
  handshake: Handshake,
  invoker: LambdaInvoker,
): Promise<AuthorizationDecision> {
  const missing = missingIdentitySource(authorizer.identitySource, handshake);
  if (missing !== undefined) return { kind: 'refuse', statusCode: 401, why: `identity source ${missing} is missing` };

  const outcome = await invokeIntegration(invoker, authorizer.functionArn, event);
  if (outcome.kind === 'failed') {
    // Only this exact message is a 401; any other failure is the authorizer's own fault.
    return outcome.errorMessage === 'Unauthorized'
      ? { kind: 'refuse', statusCode: 401, why: 'the authorizer answered Unauthorized' }
      : { kind: 'refuse', statusCode: 500, why: `the authorizer failed: ${outcome.errorType}: ${outcome.errorMessage}` };
  }
  if (outcome.kind === 'timed-out') return { kind: 'refuse', statusCode: 500, why: 'the authorizer timed out' };
  return evaluateAuthorizerResult(outcome.result, event.methodArn);
}

/**
 * Reads an authorizer's answer: `principalId`, a policy that must allow `methodArn` (an explicit
 * Deny wins), and a flat `context` of strings, numbers and booleans. Context values reach the
 * integrations as strings, as API Gateway passes them; an object or array in the context is a
 * configuration error (500), like on AWS.
 */
export function evaluateAuthorizerResult(result: unknown, methodArn: string): AuthorizationDecision {
  const broken = (why: string): AuthorizationDecision => ({ kind: 'refuse', statusCode: 500, why });
  if (!isRecord(result)) return broken('the authorizer returned no policy object');
  if (JSON.stringify(result).length > MAX_RESULT_BYTES) return broken('the authorizer result is over 8 KB');
  const { principalId, policyDocument, context } = result;
  if (typeof principalId !== 'string' && typeof principalId !== 'number') return broken('the authorizer returned no principalId');
  if (!isRecord(policyDocument)) return broken('the authorizer returned no policyDocument');

  const statements = asList(policyDocument.Statement).filter(isRecord);
  const applies = (statement: Record<string, unknown>) =>
    asList(statement.Action).some((action) => typeof action === 'string' && globMatches(action.toLowerCase(), 'execute-api:invoke')) &&
    asList(statement.Resource).some((resource) => typeof resource === 'string' && globMatches(resource, methodArn));
  const effect = (wanted: string) => statements.some((statement) => statement.Effect === wanted && applies(statement));
  if (effect('Deny') || !effect('Allow')) return { kind: 'refuse', statusCode: 403, why: `the policy does not allow ${methodArn}` };

  const flat: Record<string, unknown> = {};
  if (context !== undefined && context !== null) {
    if (!isRecord(context)) return broken('the authorizer context is not an object');
    for (const [key, value] of Object.entries(context)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        return broken(`the authorizer context value ${key} is not a string, number or boolean`);
      }
      flat[key] = String(value);
    }
  }
  return { kind: 'allow', authorizer: { ...flat, principalId: String(principalId) } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** IAM wildcards: `*` any run of characters, `?` any one character. */
function globMatches(pattern: string, value: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(value);
}
