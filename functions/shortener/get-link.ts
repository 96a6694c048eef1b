import { getLinkRoute } from '#shared/contracts/shortener';
import { httpHandler } from '#shared/http/handler';
import { baseUrlOf } from './base-url';
import { shortenerEnv, tenantLink, toLink } from './links';

/** GET /v1/links/{code}: one of the caller's tenant's links; anyone else's reads as 404. */
export const handler = httpHandler(getLinkRoute, async ({ params, principal, event, headers }) => {
  const item = await tenantLink(params.code, principal.tenantId);
  return { status: 200, body: toLink(item, baseUrlOf(event, headers, shortenerEnv())) };
});
