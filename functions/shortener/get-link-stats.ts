import { getLinkStatsRoute } from '#shared/contracts/shortener';
import { httpHandler } from '#shared/http/handler';
import { tenantLink } from './links';
import { readStats } from './stats';

/** GET /v1/links/{code}/stats: a link's clicks; the link must be the caller's tenant's. */
export const handler = httpHandler(getLinkStatsRoute, async ({ params, principal }) => {
  await tenantLink(params.code, principal.tenantId);
  return { status: 200, body: await readStats(params.code) };
});
