import { listLinksRoute } from '#shared/contracts/shortener';
import { httpHandler } from '#shared/http/handler';
import { baseUrlOf } from './base-url';
import { listLinks, shortenerEnv, toLink } from './links';

/** GET /v1/links: the caller's tenant's links, newest first, a page at a time. */
export const handler = httpHandler(listLinksRoute, async ({ query, principal, event, headers }) => {
  const page = await listLinks(principal.tenantId, query.limit, query.cursor);
  const base = baseUrlOf(event, headers, shortenerEnv());
  return { status: 200, body: { items: page.items.map((item) => toLink(item, base)), nextCursor: page.nextCursor } };
});
