import { z } from 'zod';
import { readEnv } from '#shared/env';

let settings: { readonly maxTimeoutSeconds: number } | undefined;

/** The stage's job settings (`JOBS_MAX_TIMEOUT_SECONDS`: the longest attempt a job may ask for), read once. */
export function jobSettings(): { readonly maxTimeoutSeconds: number } {
  if (!settings) {
    const env = readEnv({ JOBS_MAX_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(60) });
    settings = { maxTimeoutSeconds: env.JOBS_MAX_TIMEOUT_SECONDS };
  }
  return settings;
}
