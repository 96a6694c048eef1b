/**
 * Evaluation of the IAM policy a Lambda authorizer returns, for `execute-api:Invoke` on one
 * method ARN, as IAM does it: an applicable `Deny` wins, else an applicable `Allow` allows,
 * else the request is implicitly denied. `Action`/`NotAction` and `Resource`/`NotResource`
 * take a string or a list, with `*` (any characters, `/` included) and `?` (one character).
 */

/** One statement, normalised to lists. */
export interface PolicyStatement {
  readonly effect: 'Allow' | 'Deny';
  readonly action?: readonly string[];
  readonly notAction?: readonly string[];
  readonly resource?: readonly string[];
  readonly notResource?: readonly string[];
}

export type PolicyDecision = 'allow' | 'explicit-deny' | 'implicit-deny';

const INVOKE = 'execute-api:Invoke';

/**
 * The statements of a policy document, or undefined when it is not one API Gateway could use
 * (no `Statement`, an `Effect` other than `Allow`/`Deny`, a statement with no action or
 * resource): API Gateway then fails the request as an authorizer configuration error.
 */
export function parsePolicyDocument(document: unknown): PolicyStatement[] | undefined {
  if (!isRecord(document)) return undefined;
  const raw = document['Statement'];
  const statements = Array.isArray(raw) ? raw : raw === undefined ? undefined : [raw];
  if (!statements) return undefined;
  const parsed: PolicyStatement[] = [];
  for (const statement of statements) {
    if (!isRecord(statement)) return undefined;
    const effect = statement['Effect'];
    if (effect !== 'Allow' && effect !== 'Deny') return undefined;
    const action = strings(statement['Action']);
    const notAction = strings(statement['NotAction']);
    const resource = strings(statement['Resource']);
    const notResource = strings(statement['NotResource']);
    if (action === null || notAction === null || resource === null || notResource === null) return undefined;
    if (!action && !notAction) return undefined;
    if (!resource && !notResource) return undefined;
    parsed.push({
      effect,
      ...(action ? { action } : {}),
      ...(notAction ? { notAction } : {}),
      ...(resource ? { resource } : {}),
      ...(notResource ? { notResource } : {}),
    });
  }
  return parsed;
}

/** Whether `statements` let the caller invoke `methodArn`. */
export function evaluatePolicy(statements: readonly PolicyStatement[], methodArn: string): PolicyDecision {
  const applicable = statements.filter((s) => appliesToAction(s) && appliesToResource(s, methodArn));
  if (applicable.some((s) => s.effect === 'Deny')) return 'explicit-deny';
  return applicable.some((s) => s.effect === 'Allow') ? 'allow' : 'implicit-deny';
}

function appliesToAction(statement: PolicyStatement): boolean {
  // IAM compares action names without regard to case; resources are compared exactly.
  const matches = (pattern: string) => wildcard(pattern.toLowerCase()).test(INVOKE.toLowerCase());
  if (statement.action) return statement.action.some(matches);
  return !statement.notAction!.some(matches);
}

function appliesToResource(statement: PolicyStatement, methodArn: string): boolean {
  const matches = (pattern: string) => wildcard(pattern).test(methodArn);
  if (statement.resource) return statement.resource.some(matches);
  return !statement.notResource!.some(matches);
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${escaped}$`, 's');
}

/** A string or list of strings as a list; undefined when absent, null when malformed. */
function strings(value: unknown): string[] | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
