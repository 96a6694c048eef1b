import { retryJobRoute } from '#shared/contracts/jobs';
import { ConflictError, NotFoundError } from '#shared/errors';
import { httpHandler } from '#shared/http/handler';
import { logger } from '#shared/powertools';
import { requeueDeadJob } from './requeue';
import { readJob } from './store';

/** POST /v1/jobs/{jobId}/retry: a dead job back to its lane, attempts counted afresh. */
export const handler = httpHandler(retryJobRoute, async ({ params, principal }) => {
  const job = await readJob(principal.tenantId, params.jobId);
  const { queued, before } = job ? await requeueDeadJob(job, logger) : {};
  if (!queued) {
    if (!before) throw new NotFoundError(`no job ${params.jobId}`);
    throw new ConflictError(`job ${params.jobId} is ${before.status}, not dead`);
  }
  return { status: 202, body: { jobId: queued.jobId, status: queued.status } };
});
