import type { Logger } from '@aws-lambda-powertools/logger';
import type { z } from 'zod';

/** What a job's code gets besides its payload. */
export interface JobContext {
  readonly tenantId: string;
  readonly jobId: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
  /** Aborted when the job's `timeoutSeconds` run out: pass it to every call that can take it. */
  readonly signal: AbortSignal;
  /** Records progress (0–100), shown by `GET /v1/jobs/{id}`; best effort. */
  readonly reportProgress: (percent: number) => Promise<void>;
  readonly logger: Logger;
}

/**
 * A registered job type: the schema its payload must pass at submission (and again before it
 * runs), and the code that runs it. `run` returns the job's result (JSON); it throws to fail the
 * attempt: `PermanentJobError` makes the job dead at once, anything else is retried with backoff
 * until `maxAttempts`.
 */
export interface JobType<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly payload: S;
  /** Exists only outside production (`test.fail`, `test.sleep`). @default false */
  readonly testOnly?: boolean;
  /** What one attempt may cost in outbound work; documented in the README. */
  readonly description: string;
  /**
   * Checks at submission what the schema cannot (configuration-dependent rules, such as which
   * URLs a webhook may reach): the problems found, each naming a field of the payload. A job
   * refused here is never stored. @default no further checks
   */
  admit?(payload: z.output<S>): readonly { readonly field: string; readonly rule: string }[];
  run(payload: z.output<S>, context: JobContext): Promise<unknown>;
}

export function defineJobType<S extends z.ZodType>(type: JobType<S>): JobType<S> {
  return type;
}

/** A failure no retry can mend (a 4xx from a webhook receiver, say): the job is dead at once. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}
