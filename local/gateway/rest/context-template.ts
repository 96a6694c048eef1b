/**
 * The `$context` variables a gateway response template or header may use, keyed by their
 * name without the `$` (`context.requestId`, `context.error.messageString`, ...). A null value
 * is a variable that exists but has no value (`$context.error.message` of an authorizer
 * configuration error).
 */
export type ContextVariables = ReadonlyMap<string, string | null>;

const REFERENCE = /\$!?(?:\{(context(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\}|(context(?:\.[A-Za-z_][A-Za-z0-9_]*)+))/g;

/**
 * Renders the `$context.*` references of a template (`$context.x`, `${context.x}`, and the
 * quiet forms `$!context.x`, `$!{context.x}`). This is the part of VTL gateway responses use;
 * directives (`#if`, `#set`) and `$util` are left as written. An unknown or null variable renders
 * as nothing, except `$context.error.messageString`, whose null renders as JSON `null` (that is
 * how AWS's default template answers `{"message":null}` for authorizer configuration errors).
 */
export function renderContextTemplate(template: string, variables: ContextVariables): string {
  return template.replace(REFERENCE, (_, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = variables.get(name);
    if (value === undefined || value === null) return name === 'context.error.messageString' ? 'null' : '';
    return value;
  });
}
