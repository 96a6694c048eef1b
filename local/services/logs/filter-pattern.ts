/**
 * CloudWatch Logs filter patterns, as metric filters, subscription filters and FilterLogEvents
 * read them: the empty pattern, term patterns (`ERROR`, `"exact phrase"`, `-term`,
 * `?A ?B`), JSON patterns (`{ $.a.b = "x*" && ($.n > 5 || $.c IS TRUE) }`) and regular
 * expressions (`%...%`). Space-delimited patterns (`[ip, user, ...]`) are refused: see the
 * README for what is left out and why.
 *
 * A pattern is compiled once; matching a message against it is a walk of the compiled tree.
 */

/** A pattern CloudWatch Logs would refuse, or one the local cloud does not serve. */
export class FilterPatternError extends Error {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`Invalid filter pattern ${JSON.stringify(pattern)}: ${reason}`);
    this.name = 'FilterPatternError';
  }
}

/** A compiled pattern. */
export interface FilterPattern {
  /** `all` (the empty pattern), `terms`, `json` or `regex`. */
  readonly kind: 'all' | 'terms' | 'json' | 'regex';
  /** Whether one log event's message is valid for the pattern. */
  matches(message: string): boolean;
}

/**
 * Compiles a filter pattern.
 * @throws FilterPatternError when the pattern is malformed or is a space-delimited pattern
 */
export function compileFilterPattern(pattern: string): FilterPattern {
  const text = pattern.trim();
  if (text === '') return { kind: 'all', matches: () => true };
  if (text.startsWith('{')) {
    const test = compileJsonPattern(pattern, text);
    return { kind: 'json', matches: test };
  }
  if (text.startsWith('[')) throw new FilterPatternError(pattern, 'space-delimited patterns are not served by the local cloud');
  if (text.length > 1 && text.startsWith('%') && text.endsWith('%')) {
    const regex = compileRegex(pattern, text.slice(1, -1));
    return { kind: 'regex', matches: (message) => regex.test(message) };
  }
  return { kind: 'terms', matches: compileTerms(pattern, text) };
}

/**
 * Whether `message` matches `pattern`. Compiles the pattern on every call: callers that match
 * many messages should keep the result of {@link compileFilterPattern}.
 * @throws FilterPatternError when the pattern is malformed
 */
export function matchesFilterPattern(pattern: string, message: string): boolean {
  return compileFilterPattern(pattern).matches(message);
}

function compileRegex(pattern: string, source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new FilterPatternError(pattern, `bad regular expression: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Term patterns

interface Term {
  readonly text: string;
  /** `-term`: the message must not contain it. */
  readonly excluded: boolean;
}

/**
 * Terms are case-sensitive substrings. Without `?`, every term must hold. A `?` starts an
 * alternative: `?A ?B` is A or B, and CDK's `anyTermGroup` writes `?"A" "B" ?"C" "D"` for
 * (A and B) or (C and D), so terms after a `?` term join its group.
 */
function compileTerms(pattern: string, text: string): (message: string) => boolean {
  const groups: Term[][] = [];
  let current: Term[] | undefined;
  for (const token of termTokens(pattern, text)) {
    if (token.optional || !current) {
      current = [];
      groups.push(current);
    }
    current.push({ text: token.text, excluded: token.excluded });
  }
  const holds = (term: Term, message: string) => message.includes(term.text) !== term.excluded;
  return (message) => groups.some((group) => group.every((term) => holds(term, message)));
}

function termTokens(pattern: string, text: string): { text: string; optional: boolean; excluded: boolean }[] {
  const tokens: { text: string; optional: boolean; excluded: boolean }[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++;
      continue;
    }
    let optional = false;
    let excluded = false;
    if ((text[i] === '?' || text[i] === '-') && i + 1 < text.length && !/\s/.test(text[i + 1]!)) {
      optional = text[i] === '?';
      excluded = text[i] === '-';
      i++;
    }
    if (text[i] === '"') {
      const [value, end] = quoted(pattern, text, i);
      tokens.push({ text: value, optional, excluded });
      i = end;
    } else {
      let end = i;
      while (end < text.length && !/\s/.test(text[end]!)) end++;
      tokens.push({ text: text.slice(i, end), optional, excluded });
      i = end;
    }
  }
  return tokens;
}

/** Reads `"..."` starting at `start` (the opening quote); `\"` and `\\` are escapes. */
function quoted(pattern: string, text: string, start: number): [string, number] {
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      value += text[++i];
    } else if (c === '"') {
      return [value, i + 1];
    } else {
      value += c;
    }
  }
  throw new FilterPatternError(pattern, `unterminated quoted string at ${start}`);
}

// ---------------------------------------------------------------------------------------------
// JSON patterns

type Token =
  | { readonly kind: 'punct'; readonly value: '(' | ')' | '&&' | '||' | '}' | '{' }
  | { readonly kind: 'op'; readonly value: Operator }
  | { readonly kind: 'selector'; readonly value: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'regex'; readonly value: string }
  | { readonly kind: 'word'; readonly value: string };

type Operator = '=' | '!=' | '<' | '<=' | '>' | '>=';

type PathStep = string | number;

type Condition = (document: unknown) => boolean;

const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function compileJsonPattern(pattern: string, text: string): (message: string) => boolean {
  const tokens = jsonTokens(pattern, text);
  const parser = new JsonPatternParser(pattern, tokens);
  const condition = parser.parse();
  return (message) => {
    const document = parseJsonObject(message);
    return document !== undefined && condition(document);
  };
}

/** A JSON pattern matches only messages that are a JSON object (or array), never plain text. */
function parseJsonObject(message: string): unknown {
  const text = message.trim();
  if (!text.startsWith('{') && !text.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}

function jsonTokens(pattern: string, text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (reason: string): never => {
    throw new FilterPatternError(pattern, reason);
  };
  while (i < text.length) {
    const c = text[i]!;
    const two = text.slice(i, i + 2);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '{' || c === '}' || c === '(' || c === ')') {
      tokens.push({ kind: 'punct', value: c });
      i++;
    } else if (two === '&&' || two === '||') {
      tokens.push({ kind: 'punct', value: two });
      i += 2;
    } else if (two === '!=' || two === '<=' || two === '>=') {
      tokens.push({ kind: 'op', value: two });
      i += 2;
    } else if (c === '=' || c === '<' || c === '>') {
      tokens.push({ kind: 'op', value: c });
      i++;
    } else if (c === '"') {
      const [value, end] = quoted(pattern, text, i);
      tokens.push({ kind: 'string', value });
      i = end;
    } else if (c === '%') {
      const end = text.indexOf('%', i + 1);
      if (end === -1) fail(`unterminated regular expression at ${i}`);
      tokens.push({ kind: 'regex', value: text.slice(i + 1, end) });
      i = end + 1;
    } else if (c === '$') {
      let end = i + 1;
      while (end < text.length && !/[\s=!<>()&|{}]/.test(text[end]!)) end++;
      tokens.push({ kind: 'selector', value: text.slice(i, end) });
      i = end;
    } else {
      let end = i;
      while (end < text.length && !/[\s=!<>()&|{}"%]/.test(text[end]!)) end++;
      if (end === i) fail(`unexpected ${JSON.stringify(c)} at ${i}`);
      tokens.push({ kind: 'word', value: text.slice(i, end) });
      i = end;
    }
  }
  return tokens;
}

/**
 * `{ expr }` where expr is comparisons joined by `&&` and `||` (`&&` binds tighter), with
 * parentheses. A comparison is `selector op value`, `selector IS NULL|TRUE|FALSE`,
 * `selector EXISTS` or `selector NOT EXISTS`.
 */
class JsonPatternParser {
  private position = 0;

  constructor(
    private readonly pattern: string,
    private readonly tokens: readonly Token[],
  ) {}

  parse(): Condition {
    this.expectPunct('{');
    const condition = this.or();
    this.expectPunct('}');
    if (this.position < this.tokens.length) this.fail(`unexpected ${this.describe(this.peek())} after the closing brace`);
    return condition;
  }

  private or(): Condition {
    const alternatives = [this.and()];
    while (this.isPunct('||')) {
      this.position++;
      alternatives.push(this.and());
    }
    return alternatives.length === 1 ? alternatives[0]! : (document) => alternatives.some((c) => c(document));
  }

  private and(): Condition {
    const all = [this.unary()];
    while (this.isPunct('&&')) {
      this.position++;
      all.push(this.unary());
    }
    return all.length === 1 ? all[0]! : (document) => all.every((c) => c(document));
  }

  private unary(): Condition {
    if (this.isPunct('(')) {
      this.position++;
      const inner = this.or();
      this.expectPunct(')');
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Condition {
    const token = this.next();
    if (token?.kind !== 'selector') this.fail(`expected a selector like $.field, found ${this.describe(token)}`);
    const path = this.path(token.value);
    const get = (document: unknown) => resolvePath(document, path);

    const keyword = this.peek();
    if (keyword?.kind === 'word') {
      const word = keyword.value.toUpperCase();
      if (word === 'IS') {
        this.position++;
        const what = this.next();
        const value = what?.kind === 'word' ? what.value.toUpperCase() : '';
        if (value === 'NULL') return (document) => get(document) === null;
        if (value === 'TRUE') return (document) => get(document) === true;
        if (value === 'FALSE') return (document) => get(document) === false;
        this.fail(`expected NULL, TRUE or FALSE after IS, found ${this.describe(what)}`);
      }
      if (word === 'NOT') {
        this.position++;
        const what = this.next();
        if (what?.kind !== 'word' || what.value.toUpperCase() !== 'EXISTS') this.fail(`expected EXISTS after NOT, found ${this.describe(what)}`);
        return (document) => get(document) === undefined;
      }
      if (word === 'EXISTS') {
        this.position++;
        return (document) => get(document) !== undefined;
      }
    }

    const op = this.next();
    if (op?.kind !== 'op') this.fail(`expected an operator after ${token.value}, found ${this.describe(op)}`);
    const value = this.next();
    if (value?.kind === 'regex') {
      if (op.value !== '=' && op.value !== '!=') this.fail(`${op.value} cannot compare with a regular expression`);
      const regex = compileRegex(this.pattern, value.value);
      const test = (v: unknown) => isScalar(v) && regex.test(String(v));
      return op.value === '=' ? (document) => test(get(document)) : (document) => present(get(document)) && !test(get(document));
    }
    if (value?.kind === 'word' && NUMBER.test(value.value)) {
      const n = Number(value.value);
      const compare = numeric(op.value, n);
      return (document) => {
        const v = get(document);
        return typeof v === 'number' && compare(v);
      };
    }
    if (value?.kind === 'string' || value?.kind === 'word') {
      if (op.value !== '=' && op.value !== '!=') this.fail(`${op.value} needs a number, found ${this.describe(value)}`);
      const equals = stringEquals(value.value);
      return op.value === '=' ? (document) => equals(get(document)) : (document) => present(get(document)) && !equals(get(document));
    }
    return this.fail(`expected a value after ${op.value}, found ${this.describe(value)}`);
  }

  /** `$.a.b[0].c` → ['a', 'b', 0, 'c']. */
  private path(selector: string): PathStep[] {
    const steps: PathStep[] = [];
    const re = /\.([^.[\]]+)|\[(\d+)\]/y;
    re.lastIndex = 1;
    while (re.lastIndex < selector.length) {
      const start = re.lastIndex;
      const match = re.exec(selector);
      if (!match) this.fail(`bad selector ${selector} at ${start}`);
      steps.push(match[1] !== undefined ? match[1] : Number(match[2]));
    }
    if (steps.length === 0) this.fail(`selector ${selector} names no field`);
    return steps;
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private next(): Token | undefined {
    return this.tokens[this.position++];
  }

  private isPunct(value: string): boolean {
    const token = this.peek();
    return token?.kind === 'punct' && token.value === value;
  }

  private expectPunct(value: string): void {
    if (!this.isPunct(value)) this.fail(`expected ${value}, found ${this.describe(this.peek())}`);
    this.position++;
  }

  private describe(token: Token | undefined): string {
    return token ? JSON.stringify(token.value) : 'the end';
  }

  private fail(reason: string): never {
    throw new FilterPatternError(this.pattern, reason);
  }
}

function resolvePath(document: unknown, path: readonly PathStep[]): unknown {
  let current: unknown = document;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(current) || step >= current.length) return undefined;
      current = current[step];
    } else {
      if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, step)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
  }
  return current;
}

function present(value: unknown): boolean {
  return value !== undefined;
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function numeric(op: Operator, n: number): (v: number) => boolean {
  switch (op) {
    case '=':
      return (v) => v === n;
    case '!=':
      return (v) => v !== n;
    case '<':
      return (v) => v < n;
    case '<=':
      return (v) => v <= n;
    case '>':
      return (v) => v > n;
    case '>=':
      return (v) => v >= n;
  }
}

/**
 * A string value, where `*` stands for any characters. It is compared with strings, and with
 * numbers and booleans by their JSON text; a bare `*` also holds for objects and arrays (CDK's
 * `FilterPattern.exists` is `{ $.field = "*" }`). `null` never equals a string: `IS NULL` is for it.
 */
function stringEquals(expected: string): (value: unknown) => boolean {
  const wildcard = expected.includes('*');
  const regex = wildcard ? new RegExp(`^${expected.split('*').map(escapeRegex).join('.*')}$`, 's') : undefined;
  return (value) => {
    if (value === undefined || value === null) return false;
    if (!isScalar(value)) return expected === '*';
    const text = String(value);
    return regex ? regex.test(text) : text === expected;
  };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
