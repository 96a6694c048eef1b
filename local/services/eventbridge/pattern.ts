/**
 * EventBridge event patterns: checked as PutRule checks them, matched as an event bus matches
 * them. The grammar and the error texts follow AWS's documentation and its open-source matcher
 * (aws/event-ruler, whose `JsonRuleCompiler` gives PutRule its "Reason: ..." messages).
 *
 * A pattern is compiled once into a tree of small predicates; matching walks the event along
 * that tree. Where the pattern descends into an event array of objects, one element has to
 * satisfy the whole sub-pattern, which is EventBridge's "array consistency".
 */
import { isIP } from 'node:net';

/** PutRule's answer to a malformed pattern; `reason` is what AWS puts after "Reason:". */
export class InvalidEventPatternError extends Error {
  constructor(readonly reason: string) {
    super(`Event pattern is not valid. Reason: ${reason}`);
    this.name = 'InvalidEventPatternError';
  }
}

/** A compiled pattern: answers whether one event matches it. */
export type PatternMatcher = (event: unknown) => boolean;

/**
 * Compiles a pattern (parsed JSON) into a matcher.
 * @throws InvalidEventPatternError when PutRule would reject the pattern
 */
export function compilePattern(pattern: unknown): PatternMatcher {
  if (!isPlainObject(pattern)) fail('Filter is not an object');
  const rule = compileObject(pattern, false);
  return (event) => matchObject(rule, event);
}

/**
 * Rejects a pattern PutRule would reject, with AWS's reason.
 * @throws InvalidEventPatternError
 */
export function validatePattern(pattern: unknown): void {
  compilePattern(pattern);
}

/**
 * Whether `event` matches `pattern`. Compiles the pattern on every call: callers that match
 * many events against one pattern should keep the result of {@link compilePattern}.
 * @throws InvalidEventPatternError when the pattern is malformed
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern)(event);
}

// ---------------------------------------------------------------------------------------------
// Compiled form

/** What an event field holds at a leaf: only these values are ever compared. */
type Leaf = string | number | boolean | null;

/** One alternative in a field's array, judged against all the leaf values found there. */
type LeafRule = (leaves: readonly Leaf[]) => boolean;

type FieldRule =
  | { readonly key: string; readonly kind: 'object'; readonly rule: ObjectRule }
  | { readonly key: string; readonly kind: 'leaf'; readonly alternatives: readonly LeafRule[] };

/** Every field must match, and every `$or` group must have one alternative that matches. */
interface ObjectRule {
  readonly fields: readonly FieldRule[];
  readonly anyOf: readonly (readonly ObjectRule[])[];
}

const OR_KEY = '$or';

/** Words `event-ruler` will not take as field names inside `$or`, to keep it unambiguous. */
const RESERVED_IN_OR = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=', 'regex', 'not-wildcard', 'not-equals-ignore-case', 'date-after', 'date-on-or-after',
  'date-before', 'date-on-or-before', 'in-date-range', 'ip-address-in-range', 'ip-address-not-in-range',
]);

function fail(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Compilation (and validation: both happen in one pass, so they cannot disagree)

function compileObject(pattern: Record<string, unknown>, insideOr: boolean): ObjectRule {
  const entries = Object.entries(pattern);
  if (entries.length === 0) fail('Empty objects are not allowed');
  const fields: FieldRule[] = [];
  const anyOf: ObjectRule[][] = [];
  for (const [key, value] of entries) {
    if (key === OR_KEY) {
      anyOf.push(compileOr(value));
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) {
      fail(`${key} is Ruler reserved fieldName which cannot be used inside ${OR_KEY}.`);
    }
    if (Array.isArray(value)) fields.push({ key, kind: 'leaf', alternatives: compileLeafAlternatives(value) });
    else if (isPlainObject(value)) fields.push({ key, kind: 'object', rule: compileObject(value, insideOr) });
    else fail(`"${key}" must be an object or an array`);
  }
  return { fields, anyOf };
}

function compileOr(value: unknown): ObjectRule[] {
  if (!Array.isArray(value)) fail(`It must be an Array followed with ${OR_KEY}.`);
  const alternatives = value.map((item) => {
    if (!isPlainObject(item)) fail(`Only JSON object is allowed in array of ${OR_KEY} relationship.`);
    return compileObject(item, true);
  });
  if (alternatives.length < 2) fail(`There must have at least 2 Objects in ${OR_KEY} relationship.`);
  return alternatives;
}

function compileLeafAlternatives(values: readonly unknown[]): LeafRule[] {
  if (values.length === 0) fail('Empty arrays are not allowed');
  return values.map((value) => {
    if (isPlainObject(value)) return compileMatchExpression(value);
    if (typeof value === 'string') return anyLeaf(exactString(value));
    if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
      return anyLeaf((leaf) => leaf === value);
    }
    return fail('Match value must be String, number, true, false, or null');
  });
}

/** Lifts a test on one value to a rule over all the values at a field. */
function anyLeaf(test: (leaf: Leaf) => boolean): LeafRule {
  return (leaves) => leaves.some(test);
}

/** A plain string also matches another spelling of the same IP address, as in AWS. */
function exactString(expected: string): (leaf: Leaf) => boolean {
  const address = parseIpAddress(expected);
  if (address === undefined) return (leaf) => leaf === expected;
  return (leaf) => {
    if (leaf === expected) return true;
    if (typeof leaf !== 'string') return false;
    const other = parseIpAddress(leaf);
    return other !== undefined && other.bits === address.bits && other.value === address.value;
  };
}

function compileMatchExpression(expression: Record<string, unknown>): LeafRule {
  const keys = Object.keys(expression);
  const operator = keys[0];
  if (operator === undefined) fail('Match expression name not found');
  const operand = expression[operator];
  const rule = compileOperator(operator, operand);
  if (keys.length > 1) fail('Only one key allowed in match expression');
  return rule;
}

function compileOperator(operator: string, operand: unknown): LeafRule {
  switch (operator) {
    case 'prefix':
      return anyLeaf(compileAffix(operand, 'prefix'));
    case 'suffix':
      return anyLeaf(compileAffix(operand, 'suffix'));
    case 'equals-ignore-case': {
      if (typeof operand !== 'string') fail('equals-ignore-case match pattern must be a string');
      const expected = operand.toLowerCase();
      return anyLeaf((leaf) => typeof leaf === 'string' && leaf.toLowerCase() === expected);
    }
    case 'wildcard': {
      if (typeof operand !== 'string') fail('wildcard match pattern must be a string');
      const regex = wildcardRegex(operand);
      return anyLeaf((leaf) => typeof leaf === 'string' && regex.test(leaf));
    }
    case 'anything-but':
      return anyLeaf(compileAnythingBut(operand));
    case 'numeric': {
      const inRange = compileNumeric(operand);
      return anyLeaf((leaf) => typeof leaf === 'number' && inRange(leaf));
    }
    case 'exists': {
      if (typeof operand !== 'boolean') fail('exists match pattern must be either true or false.');
      // A field "exists" when it holds at least one leaf value: an object or an empty array does not.
      return operand ? (leaves) => leaves.length > 0 : (leaves) => leaves.length === 0;
    }
    case 'cidr': {
      if (typeof operand !== 'string') fail('prefix match pattern must be a string');
      const contains = compileCidr(operand);
      return anyLeaf((leaf) => typeof leaf === 'string' && contains(leaf));
    }
    default:
      return fail(`Unrecognized match type ${operator}`);
  }
}

/** `prefix` / `suffix`, with a string or `{ "equals-ignore-case": string }`. */
function compileAffix(operand: unknown, kind: 'prefix' | 'suffix'): (leaf: Leaf) => boolean {
  const fits = kind === 'prefix' ? (s: string, a: string) => s.startsWith(a) : (s: string, a: string) => s.endsWith(a);
  if (typeof operand === 'string') return (leaf) => typeof leaf === 'string' && fits(leaf, operand);
  if (!isPlainObject(operand)) fail(`${kind} match pattern must be a string`);
  const keys = Object.keys(operand);
  const inner = keys[0];
  if (inner === undefined) fail(`${kind === 'prefix' ? 'Prefix' : 'Suffix'} expression name not found`);
  if (inner !== 'equals-ignore-case') fail(`Unsupported ${kind} pattern: ${inner}`);
  const text = operand[inner];
  if (typeof text !== 'string') fail('equals-ignore-case match pattern must be a string');
  if (keys.length > 1) fail('Only one key allowed in match expression');
  const folded = text.toLowerCase();
  return (leaf) => typeof leaf === 'string' && fits(leaf.toLowerCase(), folded);
}

/**
 * `anything-but`: a value, a list of strings or of numbers, or one of `prefix`, `suffix`,
 * `equals-ignore-case`, `wildcard` (each with a string or a list of strings). It matches any
 * present value the exclusion does not cover: a string exclusion never excludes a number and
 * vice versa, and null passes (AWS-validated behaviour).
 */
function compileAnythingBut(operand: unknown): (leaf: Leaf) => boolean {
  if (typeof operand === 'string' || typeof operand === 'number') return excludeValues([operand]);
  if (Array.isArray(operand)) {
    if (operand.some((v) => typeof v !== 'string' && typeof v !== 'number')) {
      fail('Inside anything but list, start|null|boolean is not supported.');
    }
    const hasStrings = operand.some((v) => typeof v === 'string');
    const hasNumbers = operand.some((v) => typeof v === 'number');
    if (hasStrings === hasNumbers) {
      fail('Inside anything but list, either all values are number or string, mixed type is not supported');
    }
    return excludeValues(operand as (string | number)[]);
  }
  if (!isPlainObject(operand)) fail('Value of anything-but must be an array or single string/number value.');

  const keys = Object.keys(operand);
  const kind = keys[0];
  if (kind === undefined) fail('Anything-But expression name not found');
  if (kind !== 'prefix' && kind !== 'suffix' && kind !== 'equals-ignore-case' && kind !== 'wildcard') {
    fail(`Unsupported anything-but pattern: ${kind}`);
  }
  const value = operand[kind];
  if (typeof value !== 'string' && !Array.isArray(value)) {
    fail('Value of anything-but must be an array or single string/number value.');
  }
  const texts = typeof value === 'string' ? [value] : value;
  for (const text of texts) {
    if (typeof text === 'string') continue;
    if (kind === 'equals-ignore-case') fail('Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.');
    if (kind === 'wildcard') fail('wildcard match pattern must be a string');
    fail('prefix/suffix match pattern must be a string');
  }
  const strings = texts as string[];
  if ((kind === 'prefix' || kind === 'suffix') && strings.some((s) => s === '')) fail('Null prefix/suffix not allowed');
  if (keys.length > 1) fail('Only one key allowed in match expression');

  const excluded = excludedBy(kind, strings);
  return (leaf) => typeof leaf !== 'string' || !excluded(leaf);
}

function excludeValues(values: readonly (string | number)[]): (leaf: Leaf) => boolean {
  const set = new Set<Leaf>(values);
  return (leaf) => !set.has(leaf);
}

function excludedBy(kind: 'prefix' | 'suffix' | 'equals-ignore-case' | 'wildcard', texts: readonly string[]): (s: string) => boolean {
  switch (kind) {
    case 'prefix':
      return (s) => texts.some((t) => s.startsWith(t));
    case 'suffix':
      return (s) => texts.some((t) => s.endsWith(t));
    case 'equals-ignore-case': {
      const folded = new Set(texts.map((t) => t.toLowerCase()));
      return (s) => folded.has(s.toLowerCase());
    }
    case 'wildcard': {
      const regexes = texts.map(wildcardRegex);
      return (s) => regexes.some((r) => r.test(s));
    }
  }
}

/**
 * `*` matches any run of characters (newlines included); `\*` is a literal star and `\\` a
 * literal backslash. Two stars in a row and any other escape are rejected, as in AWS.
 */
function wildcardRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === '*') {
      if (pattern.charAt(i + 1) === '*') fail(`Consecutive wildcard characters at pos ${i}`);
      source += '.*';
    } else if (char === '\\') {
      const next = pattern.charAt(i + 1);
      if (next !== '*' && next !== '\\') fail(`Invalid escape character at pos ${i}`);
      source += escapeRegex(next);
      i++;
    } else {
      source += escapeRegex(char);
    }
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** `["=", n]`, `[">"|">=", n]`, `["<"|"<=", n]` or `[">"|">=", a, "<"|"<=", b]`. */
function compileNumeric(operand: unknown): (n: number) => boolean {
  if (!Array.isArray(operand)) fail('Value of numeric must be an array.');
  const [operator, first, ...rest] = operand as unknown[];
  if (typeof operator !== 'string') fail(`Invalid member in numeric match: ${JSON.stringify(operator)}`);
  if (operator !== '=' && operator !== '<' && operator !== '<=' && operator !== '>' && operator !== '>=') {
    fail(`Unrecognized numeric range operator: ${operator}`);
  }
  if (typeof first !== 'number' || !Number.isFinite(first)) fail(`Value of ${operator} must be numeric`);
  const lower = comparison(operator, first);
  if (rest.length === 0) return lower;
  if (operator === '=' || operator === '<' || operator === '<=') fail('Too many elements in numeric expression');

  const [upperOperator, second, ...extra] = rest;
  if (typeof upperOperator !== 'string') fail(`Bad value in numeric range: ${JSON.stringify(upperOperator)}`);
  if (upperOperator !== '<' && upperOperator !== '<=') fail(`Bad numeric range operator: ${upperOperator}`);
  if (typeof second !== 'number' || !Number.isFinite(second)) fail(`Value of ${upperOperator} must be numeric`);
  if (extra.length > 0) fail('Too many terms in numeric range expression');
  if (second <= first) fail('Bottom must be less than top');
  const upper = comparison(upperOperator, second);
  return (n) => lower(n) && upper(n);
}

function comparison(operator: '=' | '<' | '<=' | '>' | '>=', bound: number): (n: number) => boolean {
  switch (operator) {
    case '=':
      return (n) => n === bound;
    case '<':
      return (n) => n < bound;
    case '<=':
      return (n) => n <= bound;
    case '>':
      return (n) => n > bound;
    case '>=':
      return (n) => n >= bound;
  }
}

// ---------------------------------------------------------------------------------------------
// IP addresses (v4 and v6), for `cidr` and for plain strings that are addresses

interface IpAddress {
  /** 32 or 128. */
  readonly bits: number;
  readonly value: bigint;
}

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;

function parseIpAddress(text: string): IpAddress | undefined {
  if (IPV4_SHAPE.test(text)) {
    const octets = text.split('.').map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    return { bits: 32, value: octets.reduce((acc, o) => (acc << 8n) | BigInt(o), 0n) };
  }
  if (IPV6_SHAPE.test(text) && isIP(text) === 6) {
    const [head = '', tail] = text.split('::');
    const headGroups = head === '' ? [] : head.split(':');
    const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
    const zeros = tail === undefined ? [] : new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
    const groups = [...headGroups, ...zeros, ...tailGroups];
    return { bits: 128, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  return undefined;
}

function compileCidr(cidr: string): (address: string) => boolean {
  const parts = cidr.split('/');
  if (parts.length !== 2) fail("Malformed CIDR, one '/' required");
  const [ip = '', maskText = ''] = parts;
  if (!/^-?[0-9]+$/.test(maskText)) fail('Malformed CIDR, mask bits must be an integer');
  const mask = Number(maskText);
  if (mask < 0) fail('Malformed CIDR, mask bits must not be negative');
  const network = parseIpAddress(ip);
  if (network === undefined) fail(`Nonstandard IP address: ${ip}`);
  // AWS caps the mask one short of the address width (a /32 is a plain address match).
  if (network.bits === 32 && mask > 31) fail('IPv4 mask bits must be < 32');
  if (network.bits === 128 && mask > 127) fail('IPv6 mask bits must be < 128');
  const shift = BigInt(network.bits - mask);
  const prefix = network.value >> shift;
  return (text) => {
    const address = parseIpAddress(text);
    return address !== undefined && address.bits === network.bits && address.value >> shift === prefix;
  };
}

// ---------------------------------------------------------------------------------------------
// Matching

const NOTHING: Record<string, unknown> = Object.freeze({});

function matchObject(rule: ObjectRule, value: unknown): boolean {
  // An array of objects matches when one element satisfies the whole sub-pattern; a value
  // with no object at all is matched as an empty object, so `exists: false` still holds.
  const candidates = objectsIn(value);
  if (candidates.length === 0) candidates.push(NOTHING);
  return candidates.some((candidate) => matchFields(rule, candidate));
}

function matchFields(rule: ObjectRule, object: Record<string, unknown>): boolean {
  for (const field of rule.fields) {
    const value = Object.hasOwn(object, field.key) ? object[field.key] : undefined;
    if (field.kind === 'object') {
      if (!matchObject(field.rule, value)) return false;
    } else {
      const leaves = leavesIn(value);
      if (!field.alternatives.some((alternative) => alternative(leaves))) return false;
    }
  }
  return rule.anyOf.every((group) => group.some((alternative) => matchFields(alternative, object)));
}

/** Objects found at a field: itself, or the objects of a (nested) array. */
function objectsIn(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.flatMap(objectsIn);
  return isPlainObject(value) ? [value] : [];
}

/** Leaf values found at a field: itself, or the scalars of a (nested) array. */
function leavesIn(value: unknown): Leaf[] {
  if (Array.isArray(value)) return value.flatMap(leavesIn);
  const isLeaf = value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
  return isLeaf ? [value] : [];
}
