import { listJobsRoute } from '#shared/contracts/jobs';
import { httpHandler } from '#shared/http/handler';
import { listJobs, toJob } from './store';

/** GET /v1/jobs?status&type&limit&cursor: the tenant's jobs, newest first. */
export const handler = httpHandler(listJobsRoute, async ({ query, principal }) => {
  const page = await listJobs(principal.tenantId, query);
  return { status: 200, body: { items: page.items.map((item) => toJob(item)), nextCursor: page.nextCursor } };
});
