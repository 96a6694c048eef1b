import type { LocalEnvironment } from '../model';

/**
 * Resolves CloudFormation intrinsics to local values: `Ref`, `Fn::GetAtt`, `Fn::Join`,
 * `Fn::Sub`, `Fn::Select`, `Fn::Split`, `Fn::If` (with conditions), `Fn::ImportValue`,
 * `Fn::GetStackOutput`, `Fn::Base64`, `Fn::GetAZs` and the pseudo parameters. What a resource's
 * `Ref` or attribute means locally comes from the `identity` callbacks the caller gives, so this
 * module knows CloudFormation and nothing of any service.
 */

export type Template = {
  readonly Resources?: Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown>; readonly Condition?: string }>;
  readonly Parameters?: Record<string, { readonly Type: string; readonly Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Outputs?: Record<string, { readonly Value: unknown; readonly Export?: { readonly Name: unknown } }>;
};

/** Raised for an intrinsic that has no local value; the message says which and why. */
export class UnresolvableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableError';
  }
}

/** What a resource is locally: its `Ref` value and its attributes. */
export interface ResourceIdentity {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface StackScope {
  readonly stackName: string;
  readonly template: Template;
  /** The local identity of every resource of this stack, by logical id. */
  readonly identities: ReadonlyMap<string, ResourceIdentity>;
}

/** Every stack of the assembly, for cross-stack references. */
export interface AssemblyScope {
  readonly env: LocalEnvironment;
  readonly stacks: ReadonlyMap<string, StackScope>;
  /** Rewrites every string of a fully resolved value (an execute-api URL into its local URL, say). */
  readonly rewrite?: (value: string) => string;
}

const PSEUDO = (env: LocalEnvironment, stackName: string): Record<string, string> => ({
  'AWS::Region': env.region,
  'AWS::AccountId': env.account,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': stackName,
  'AWS::StackId': `arn:aws:cloudformation:${env.region}:${env.account}:stack/${stackName}/00000000-0000-0000-0000-000000000000`,
  'AWS::NotificationARNs': '',
});

/** Marks a value CloudFormation leaves out (`Ref: AWS::NoValue`). */
export const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Resolves `value` within `stackName`. Strings come back rewritten by `scope.rewrite`; objects
 * and arrays are resolved deeply; `AWS::NoValue` entries are dropped.
 * @throws UnresolvableError naming the first intrinsic with no local value
 */
export function resolveValue(value: unknown, stackName: string, scope: AssemblyScope): unknown {
  const stack = scope.stacks.get(stackName);
  if (!stack) throw new UnresolvableError(`unknown stack ${stackName}`);
  const resolved = resolveIn(value, stack, scope);
  return resolved === NO_VALUE ? undefined : rewriteDeep(resolved, scope.rewrite);
}

/** URLs are rewritten once a value is whole: a joined URL only looks like one after the join. */
function rewriteDeep(value: unknown, rewrite: AssemblyScope['rewrite']): unknown {
  if (!rewrite) return value;
  if (typeof value === 'string') return rewrite(value);
  if (Array.isArray(value)) return value.map((v) => rewriteDeep(v, rewrite));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteDeep(v, rewrite)]));
  return value;
}

/** Resolves to a string, or throws saying what it got instead. */
export function resolveString(value: unknown, stackName: string, scope: AssemblyScope): string {
  const resolved = resolveValue(value, stackName, scope);
  if (typeof resolved === 'string') return resolved;
  if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
  throw new UnresolvableError(`expected a string, got ${JSON.stringify(resolved)?.slice(0, 100)}`);
}

function resolveIn(value: unknown, stack: StackScope, scope: AssemblyScope): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIn(v, stack, scope)).filter((v) => v !== NO_VALUE);
  if (!value || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [key, arg] = entries[0]!;
    if (key === 'Ref' || key.startsWith('Fn::')) return intrinsic(key, arg, stack, scope);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    const r = resolveIn(v, stack, scope);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

function intrinsic(name: string, arg: unknown, stack: StackScope, scope: AssemblyScope): unknown {
  const resolve = (v: unknown) => resolveIn(v, stack, scope);
  const str = (v: unknown) => {
    const r = resolve(v);
    if (typeof r === 'string' || typeof r === 'number' || typeof r === 'boolean') return String(r);
    throw new UnresolvableError(`${name} expected a string, got ${JSON.stringify(r)?.slice(0, 100)}`);
  };
  switch (name) {
    case 'Ref':
      return ref(String(arg), stack, scope);
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split(/\.(.*)/s, 2);
      return getAtt(logicalId!, attribute!, stack);
    }
    case 'Fn::Join': {
      const [separator, parts] = arg as [string, unknown];
      const list = resolve(parts);
      if (!Array.isArray(list)) throw new UnresolvableError('Fn::Join expects a list');
      return list.map((p) => str(p)).join(separator);
    }
    case 'Fn::Sub': {
      const [template, variables] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [arg as string, {}];
      return template.replace(/\$\{([^}!][^}]*)\}/g, (_, expression: string) => {
        if (expression in variables) return str(variables[expression]);
        if (expression.includes('.')) {
          const [logicalId, attribute] = expression.split(/\.(.*)/s, 2);
          return String(getAtt(logicalId!, attribute!, stack));
        }
        return String(ref(expression, stack, scope));
      }).replace(/\$\{!/g, '${');
    }
    case 'Fn::Select': {
      const [index, list] = arg as [unknown, unknown];
      const items = resolve(list);
      if (!Array.isArray(items)) throw new UnresolvableError('Fn::Select expects a list');
      const i = Number(resolve(index));
      if (!(i in items)) throw new UnresolvableError(`Fn::Select index ${i} out of range`);
      return items[i];
    }
    case 'Fn::Split': {
      const [separator, source] = arg as [string, unknown];
      return str(source).split(separator);
    }
    case 'Fn::Base64':
      return Buffer.from(str(arg)).toString('base64');
    case 'Fn::GetAZs':
      return ['a', 'b', 'c'].map((zone) => `${scope.env.region}${zone}`);
    case 'Fn::If': {
      const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
      return resolve(evaluateCondition(condition, stack, scope) ? whenTrue : whenFalse);
    }
    case 'Fn::ImportValue':
      return importValue(str(arg), scope);
    case 'Fn::GetStackOutput': {
      const { StackName, OutputName } = arg as { StackName: unknown; OutputName: unknown };
      return stackOutput(str(StackName), str(OutputName), scope);
    }
    case 'Fn::Equals':
    case 'Fn::Not':
    case 'Fn::And':
    case 'Fn::Or':
    case 'Condition':
      return conditionFunction(name, arg, stack, scope);
    default:
      throw new UnresolvableError(`${name} is not supported locally`);
  }
}

function ref(name: string, stack: StackScope, scope: AssemblyScope): unknown {
  if (name === 'AWS::NoValue') return NO_VALUE;
  const pseudo = PSEUDO(scope.env, stack.stackName)[name];
  if (pseudo !== undefined) return pseudo;
  const parameter = stack.template.Parameters?.[name];
  if (parameter) {
    if (parameter.Default === undefined) throw new UnresolvableError(`parameter ${name} has no default (give one in cdk.json or the stage config)`);
    return parameter.Default;
  }
  const identity = stack.identities.get(name);
  if (!identity) throw new UnresolvableError(`Ref to unknown resource ${name} in ${stack.stackName}`);
  return identity.ref;
}

function getAtt(logicalId: string, attribute: string, stack: StackScope): string {
  const identity = stack.identities.get(logicalId);
  if (!identity) throw new UnresolvableError(`Fn::GetAtt on unknown resource ${logicalId} in ${stack.stackName}`);
  const value = identity.attributes[attribute];
  if (value === undefined) {
    const type = stack.template.Resources?.[logicalId]?.Type ?? 'unknown type';
    throw new UnresolvableError(`Fn::GetAtt ${logicalId}.${attribute} (${type}) has no local value`);
  }
  return value;
}

function stackOutput(stackName: string, outputName: string, scope: AssemblyScope): unknown {
  const stack = scope.stacks.get(stackName);
  const output = stack?.template.Outputs?.[outputName];
  if (!stack || !output) throw new UnresolvableError(`output ${outputName} of stack ${stackName} not found`);
  return resolveIn(output.Value, stack, scope);
}

function importValue(exportName: string, scope: AssemblyScope): unknown {
  for (const stack of scope.stacks.values()) {
    for (const output of Object.values(stack.template.Outputs ?? {})) {
      if (output.Export && resolveIn(output.Export.Name, stack, scope) === exportName) return resolveIn(output.Value, stack, scope);
    }
  }
  throw new UnresolvableError(`no stack exports ${exportName}`);
}

/** Evaluates a named condition of the stack's `Conditions` section. */
export function evaluateCondition(name: string, stack: StackScope, scope: AssemblyScope): boolean {
  const definition = stack.template.Conditions?.[name];
  if (definition === undefined) throw new UnresolvableError(`unknown condition ${name}`);
  return Boolean(resolveIn(definition, stack, scope));
}

function conditionFunction(name: string, arg: unknown, stack: StackScope, scope: AssemblyScope): boolean {
  const resolve = (v: unknown) => resolveIn(v, stack, scope);
  switch (name) {
    case 'Condition':
      return evaluateCondition(String(arg), stack, scope);
    case 'Fn::Equals': {
      const [a, b] = arg as [unknown, unknown];
      return JSON.stringify(resolve(a)) === JSON.stringify(resolve(b));
    }
    case 'Fn::Not':
      return !resolve((arg as unknown[])[0]);
    case 'Fn::And':
      return (arg as unknown[]).every((c) => Boolean(resolve(c)));
    default:
      return (arg as unknown[]).some((c) => Boolean(resolve(c)));
  }
}
