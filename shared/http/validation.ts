import type { z } from 'zod';
import { ValidationError, type FieldViolation } from '../errors';

/** Where a value came from, prefixed to every field path a client sees. */
export type InputLocation = 'body' | 'query' | 'path' | 'header';

/**
 * Parses `value` with `schema`; on failure throws a `ValidationError` naming each field
 * (`body.items[2].qty`) and the rule it broke.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, location: InputLocation): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(toViolations(result.error, location));
}

/** Turns zod issues into field violations. */
export function toViolations(error: z.ZodError, location: InputLocation): FieldViolation[] {
  return error.issues.map((issue) => ({
    field: fieldPath(location, issue.path),
    rule: issue.message,
  }));
}

function fieldPath(location: InputLocation, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`),
    location,
  );
}
