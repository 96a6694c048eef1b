/**
 * What a target receives: the event itself, a constant `Input`, the part of the event an
 * `InputPath` selects, or an `InputTransformer` template filled from the event.
 *
 * Template filling follows AWS's documented and observed behaviour (LocalStack's tests,
 * recorded against AWS, pin down the corners the documentation leaves open):
 * - a template that is a JSON object or array is JSON: outside quotes a placeholder becomes
 *   the value's JSON (strings quoted), inside quotes a string goes in escaped and a number or
 *   boolean as its text, while an object or array inside quotes makes the input invalid and
 *   the event is not delivered;
 * - any other template is text: values go in raw, objects and arrays as JSON without quotes
 *   (`{a:1,b:x}`), which is what AWS sends;
 * - a path that selects nothing gives an empty string.
 */
import type { EventTargetModel } from '../../model';

/** A delivered EventBridge event, in the shape targets receive. */
export interface EventBridgeEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

/** What the predefined `aws.events.*` variables refer to. */
export interface TransformContext {
  readonly ruleName: string;
  readonly ruleArn: string;
  /** When EventBridge received the event. */
  readonly ingestionTime: Date;
}

/** The rendered input: JSON text (an SQS body) and its value (a Lambda payload). */
export interface TargetInput {
  readonly text: string;
  /** `text` parsed as JSON, or `text` itself when a text template made something else. */
  readonly value: unknown;
}

/** Turns an event into what one target receives. */
export type InputRenderer = (event: EventBridgeEvent, context: TransformContext) => TargetInput;

/** The target's input settings are invalid (PutTargets would refuse them). */
export class InvalidTargetInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTargetInputError';
  }
}

/** A template could not be filled into valid JSON for this event; the event is not delivered. */
export class InputTransformationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputTransformationError';
  }
}

type TargetInputSettings = Pick<EventTargetModel, 'id' | 'input' | 'inputPath' | 'inputTransformer'>;

const PREDEFINED = new Set([
  'aws.events.rule-arn',
  'aws.events.rule-name',
  'aws.events.event.ingestion-time',
  'aws.events.event',
  'aws.events.event.json',
]);

/** Names AWS allows in InputPathsMap, plus the dotted predefined ones. */
const PLACEHOLDER = /<([A-Za-z0-9_.-]+)>/g;
/** The same, anchored where the scan stands. */
const PLACEHOLDER_HERE = /<([A-Za-z0-9_.-]+)>/y;

/**
 * Checks a target's input settings and compiles them.
 * @throws InvalidTargetInputError with the message PutTargets would give
 */
export function compileTargetInput(target: TargetInputSettings): InputRenderer {
  const given = [target.input, target.inputPath, target.inputTransformer].filter((setting) => setting !== undefined);
  if (given.length > 1) {
    throw new InvalidTargetInputError(`Only one of Input, InputPath, or InputTransformer must be provided for target ${target.id}.`);
  }
  if (target.input !== undefined) return constantInput(target.id, target.input);
  if (target.inputPath !== undefined) {
    const select = compileJsonPath(target.inputPath, target.id);
    return (event) => jsonInput(select(event) ?? null);
  }
  if (target.inputTransformer !== undefined) return compileTransformer(target.id, target.inputTransformer);
  return (event) => jsonInput(event);
}

function constantInput(targetId: string, input: string): InputRenderer {
  let value: unknown;
  try {
    value = JSON.parse(input);
  } catch {
    throw new InvalidTargetInputError(`Input for target ${targetId} is not valid JSON.`);
  }
  // Copied for every delivery, so that a target changing what it got changes nothing else.
  return () => ({ text: input, value: structuredClone(value) });
}

/** Every delivery gets its own copy of the value, for the same reason. */
function jsonInput(value: unknown): TargetInput {
  const text = JSON.stringify(value);
  return { text, value: JSON.parse(text) };
}

// ---------------------------------------------------------------------------------------------
// JSONPath, the subset EventBridge documents: $, .name (dashes and underscores too), [n], [*], .*

type Step = { readonly kind: 'name'; readonly name: string } | { readonly kind: 'index'; readonly index: number } | { readonly kind: 'all' };

/**
 * Compiles a JSONPath into a selector; without a wildcard it selects one value (or nothing),
 * with one it selects the array of every value it reaches.
 */
function compileJsonPath(path: string, targetId: string): (root: unknown) => unknown {
  const steps: Step[] = [];
  const invalid = () => new InvalidTargetInputError(`JSONPath ${JSON.stringify(path)} of target ${targetId} is not valid.`);
  if (!path.startsWith('$')) throw invalid();
  const stepPattern = /\.([^.[\]]+)|\[(\d+)\]|\[\*\]|\['([^']*)'\]/y;
  stepPattern.lastIndex = 1;
  while (stepPattern.lastIndex < path.length) {
    const match = stepPattern.exec(path);
    if (!match) throw invalid();
    const [, name, index, quoted] = match;
    if (name === '*' || match[0] === '[*]') steps.push({ kind: 'all' });
    else if (index !== undefined) steps.push({ kind: 'index', index: Number(index) });
    else steps.push({ kind: 'name', name: name ?? quoted ?? '' });
  }
  const wildcard = steps.some((step) => step.kind === 'all');
  return (root) => {
    let current: unknown[] = [root];
    for (const step of steps) current = current.flatMap((value) => applyStep(step, value));
    return wildcard ? current : current[0];
  };
}

function applyStep(step: Step, value: unknown): unknown[] {
  if (typeof value !== 'object' || value === null) return [];
  if (step.kind === 'all') return Array.isArray(value) ? value : Object.values(value);
  if (step.kind === 'index') return Array.isArray(value) && step.index < value.length ? [value[step.index]] : [];
  return !Array.isArray(value) && Object.hasOwn(value, step.name) ? [(value as Record<string, unknown>)[step.name]] : [];
}

// ---------------------------------------------------------------------------------------------
// InputTransformer

function compileTransformer(
  targetId: string,
  transformer: NonNullable<EventTargetModel['inputTransformer']>,
): InputRenderer {
  const selectors = new Map<string, (root: unknown) => unknown>();
  for (const [name, path] of Object.entries(transformer.inputPathsMap ?? {})) {
    if (name.startsWith('aws.')) {
      throw new InvalidTargetInputError(`InputPathsMap of target ${targetId} uses the reserved name ${name}.`);
    }
    selectors.set(name, compileJsonPath(path, targetId));
  }
  const template = transformer.inputTemplate;
  for (const [, name = ''] of template.matchAll(PLACEHOLDER)) {
    if (!selectors.has(name) && !PREDEFINED.has(name)) {
      throw new InvalidTargetInputError(`InputTemplate for target ${targetId} contains invalid placeholder ${name}.`);
    }
  }
  const isJson = /^\s*[[{]/.test(template);

  return (event, context) => {
    const variables = (name: string): unknown => {
      const select = selectors.get(name);
      return select ? select(event) : predefined(name, event, context);
    };
    const text = isJson ? fillJsonTemplate(template, variables) : fillTextTemplate(template, variables);
    if (!isJson) return { text, value: parseOr(text, text) };
    try {
      return { text, value: JSON.parse(text) };
    } catch {
      throw new InputTransformationError(`InputTemplate of target ${targetId} did not give valid JSON for event ${event.id}.`);
    }
  };
}

function predefined(name: string, event: EventBridgeEvent, context: TransformContext): unknown {
  switch (name) {
    case 'aws.events.rule-arn':
      return context.ruleArn;
    case 'aws.events.rule-name':
      return context.ruleName;
    case 'aws.events.event.ingestion-time':
      return formatEventTime(context.ingestionTime);
    case 'aws.events.event':
      // The event without its detail, with the keys AWS uses here (note `detailType`).
      return {
        id: event.id,
        account: event.account,
        detailType: event['detail-type'],
        time: event.time,
        source: event.source,
        region: event.region,
        resources: event.resources,
        version: event.version,
      };
    case 'aws.events.event.json':
      return event;
    default:
      return undefined;
  }
}

function fillTextTemplate(template: string, variables: (name: string) => unknown): string {
  return template.replace(PLACEHOLDER, (_whole, name: string) => unquoted(variables(name)));
}

/** Fills a JSON template, judging each placeholder by whether it sits inside a string literal. */
function fillJsonTemplate(template: string, variables: (name: string) => unknown): string {
  let out = '';
  let inString = false;
  let i = 0;
  while (i < template.length) {
    const char = template.charAt(i);
    PLACEHOLDER_HERE.lastIndex = i;
    const found = char === '<' ? PLACEHOLDER_HERE.exec(template) : null;
    if (found) {
      const name = found[1] ?? '';
      out += inString ? insideQuotes(variables(name), name) : outsideQuotes(variables(name));
      i += found[0].length;
      continue;
    }
    if (inString && char === '\\') {
      out += template.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (char === '"') inString = !inString;
    out += char;
    i++;
  }
  return out;
}

function outsideQuotes(value: unknown): string {
  return value === undefined ? '""' : JSON.stringify(value);
}

function insideQuotes(value: unknown, name: string): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return JSON.stringify(value).slice(1, -1);
  if (typeof value === 'object' && value !== null) {
    throw new InputTransformationError(`placeholder <${name}> holds JSON ${Array.isArray(value) ? 'array' : 'object'} and cannot go inside quotes`);
  }
  return String(value);
}

/** AWS's rendering of a value in a text template: JSON with its quotes taken out. */
function unquoted(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return `[${value.map(unquoted).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.entries(value).map(([key, item]) => `${key}:${unquoted(item)}`).join(',')}}`;
  }
  return String(value);
}

function parseOr(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

/** EventBridge's timestamp format: ISO 8601 in UTC, to the second (`2017-10-02T16:24:49Z`). */
export function formatEventTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
