import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineJobType, PermanentJobError } from './job-type';

/**
 * Job types for tests and demos, registered only outside production (`jobs.testTypes`).
 */

export const testEcho = defineJobType({
  name: 'test.echo',
  description: 'Returns `value` as its result.',
  testOnly: true,
  payload: z.object({ value: z.unknown().optional() }).strict(),
  run: async (payload) => ({ echoed: payload.value ?? null }),
});

export const testFail = defineJobType({
  name: 'test.fail',
  description: 'Fails every attempt (or every attempt before `succeedOnAttempt`); `permanent` makes the failure one no retry mends.',
  testOnly: true,
  payload: z
    .object({
      succeedOnAttempt: z.number().int().min(1).optional(),
      permanent: z.boolean().default(false),
    })
    .strict(),
  run: async (payload, { attempt }) => {
    if (payload.succeedOnAttempt !== undefined && attempt >= payload.succeedOnAttempt) return { succeededOnAttempt: attempt };
    if (payload.permanent) throw new PermanentJobError(`test.fail: failing for good on attempt ${attempt}`);
    throw new Error(`test.fail: failing on purpose on attempt ${attempt}`);
  },
});

export const testSleep = defineJobType({
  name: 'test.sleep',
  description: 'Sleeps `ms` milliseconds (cut short by the job timeout), reporting progress.',
  testOnly: true,
  payload: z.object({ ms: z.number().int().min(0).max(900_000) }).strict(),
  run: async (payload, { signal, reportProgress }) => {
    const started = Date.now();
    await sleep(payload.ms / 2, undefined, { signal });
    await reportProgress(50);
    await sleep(payload.ms - payload.ms / 2, undefined, { signal });
    return { sleptMs: Date.now() - started };
  },
});

export const testCrash = defineJobType({
  name: 'test.crash',
  description: 'Kills its worker (an uncaught exception: the runtime exits mid-batch) on attempt `crashOnAttempt`; succeeds on any other.',
  testOnly: true,
  payload: z.object({ crashOnAttempt: z.number().int().min(1).default(1) }).strict(),
  run: (payload, { attempt }) => {
    if (attempt !== payload.crashOnAttempt) return Promise.resolve({ survivedAttempt: attempt });
    // Thrown outside the handler's promise, as a bug in a callback would be: nothing catches it.
    setImmediate(() => {
      throw new Error('test.crash: the worker dies');
    });
    return new Promise<never>(() => {});
  },
});

export const testTypes = [testEcho, testFail, testSleep, testCrash] as const;
