import { z } from 'zod';
import { readEnv } from '#shared/env';
import type { JobType } from './types/job-type';
import { reportExport } from './types/report-export';
import { testTypes } from './types/test-types';
import { webhookDeliver } from './types/webhook-deliver';

/** Every job type the service runs in production. */
const productionTypes: readonly JobType[] = [webhookDeliver, reportExport];

let registry: ReadonlyMap<string, JobType> | undefined;

/**
 * The job types of this stage, by name: the production ones, and the test types where
 * `JOBS_TEST_TYPES` is `true` (every stage but production).
 */
export function jobTypes(): ReadonlyMap<string, JobType> {
  if (!registry) {
    const { JOBS_TEST_TYPES } = readEnv({ JOBS_TEST_TYPES: z.enum(['true', 'false']).default('false') });
    const types = [...productionTypes, ...(JOBS_TEST_TYPES === 'true' ? testTypes : [])];
    registry = new Map(types.map((type) => [type.name, type]));
  }
  return registry;
}
