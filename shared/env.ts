import { z } from 'zod';
import { ConfigurationError } from './errors';

/**
 * Reads a function's configuration from its environment, validated once at cold start.
 * A missing or malformed variable throws a `ConfigurationError` that names every bad
 * variable, so a broken deploy fails loudly on its first invocation instead of deep
 * inside a request.
 *
 * @param shape zod schemas keyed by variable name
 * @param source the environment to read; tests pass a plain object
 */
export function readEnv<S extends z.ZodRawShape>(shape: S, source: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const parsed = z.object(shape).safeParse(source);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    return source[name] === undefined ? `${name} is not set` : `${name}: ${issue.message}`;
  });
  throw new ConfigurationError(`Invalid environment: ${problems.join('; ')}`);
}

/** A comma-separated list, such as `CORS_ORIGINS=https://a.example,https://b.example`. */
export const csv = z
  .string()
  .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean));

/** A positive integer given as a string. */
export const positiveInt = z.coerce.number().int().positive();
