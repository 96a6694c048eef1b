/**
 * Route selection for WebSocket messages, as API Gateway documents it: the API's
 * `routeSelectionExpression` (`$request.body.action`, `${request.body.action}`, or several
 * variables with static text such as `${request.body.service}/${request.body.action}`) is
 * evaluated against the message's JSON body; the route whose key equals the result runs, else
 * `$default`. A body that is not JSON, or lacks a field the expression names, cannot be
 * evaluated and goes to `$default` too.
 */

type Part = { readonly literal: string } | { readonly path: readonly (string | number)[] };

/** The reserved keys a message can never select: they belong to the connection's life cycle. */
const LIFECYCLE_ROUTES = new Set(['$connect', '$disconnect']);

/**
 * The route key a message selects among `routeKeys`: the evaluated key when such a route exists,
 * else `$default` when there is one, else undefined (API Gateway then answers `Forbidden`).
 */
export function selectRoute(expression: string, body: string, routeKeys: ReadonlySet<string>): string | undefined {
  const key = evaluateSelectionExpression(expression, body);
  if (key !== undefined && !LIFECYCLE_ROUTES.has(key) && routeKeys.has(key)) return key;
  return routeKeys.has('$default') ? '$default' : undefined;
}

/** The key `expression` yields for `body`, or undefined when it cannot be evaluated. */
export function evaluateSelectionExpression(expression: string, body: string): string | undefined {
  const parts = parseExpression(expression);
  if (parts === undefined) return undefined;
  const variables = parts.some((part) => 'path' in part);
  let document: unknown;
  if (variables) {
    try {
      document = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  let key = '';
  for (const part of parts) {
    if ('literal' in part) {
      key += part.literal;
      continue;
    }
    const value = part.path.reduce<unknown>((node, step) => (isContainer(node) ? (node as Record<string | number, unknown>)[step] : undefined), document);
    if (value === undefined || value === null) return undefined;
    key += stringify(value);
  }
  return key;
}

function isContainer(node: unknown): node is object {
  return typeof node === 'object' && node !== null;
}

/**
 * AWS stringifies what the path selects; its documentation shows a two-element array as
 * `[item1, item2]`, so arrays are joined that way. Objects have no documented form: JSON is used.
 */
function stringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stringify).join(', ')}]`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Splits an expression into static text and `request.body` paths; undefined for other variables. */
function parseExpression(expression: string): Part[] | undefined {
  const parts: Part[] = [];
  let literal = '';
  let at = 0;
  while (at < expression.length) {
    const char = expression[at] as string;
    if (char === '\\' && expression[at + 1] === '$') {
      literal += '$';
      at += 2;
      continue;
    }
    if (char !== '$') {
      literal += char;
      at += 1;
      continue;
    }
    let variable: string;
    if (expression[at + 1] === '{') {
      const end = expression.indexOf('}', at + 2);
      if (end === -1) return undefined;
      variable = expression.slice(at + 2, end);
      at = end + 1;
    } else {
      variable = /^[A-Za-z0-9_.\-[\]]*/.exec(expression.slice(at + 1))?.[0] ?? '';
      at += 1 + variable.length;
    }
    const path = bodyPath(variable);
    if (path === undefined) return undefined;
    if (literal) parts.push({ literal });
    literal = '';
    parts.push({ path });
  }
  if (literal) parts.push({ literal });
  return parts;
}

/** `request.body.a.b[0]` → `['a', 'b', 0]`; undefined when the variable is not a body path. */
function bodyPath(variable: string): (string | number)[] | undefined {
  const rest = /^request\.body(.*)$/.exec(variable)?.[1];
  if (rest === undefined) return undefined;
  const path: (string | number)[] = [];
  for (const match of rest.matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)) path.push(match[1] ?? Number(match[2]));
  return path;
}
