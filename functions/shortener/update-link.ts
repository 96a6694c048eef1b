import { updateLinkRoute } from '#shared/contracts/shortener';
import { httpHandler } from '#shared/http/handler';
import { baseUrlOf } from './base-url';
import { shortenerEnv, toLink, updateLink } from './links';

/** PATCH /v1/links/{code}: disable or enable, change or remove the expiry or the click limit. */
export const handler = httpHandler(updateLinkRoute, async ({ params, body, principal, event, headers }) => {
  const item = await updateLink(params.code, principal.tenantId, {
    ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
    ...(body.expiresAt !== undefined ? { expiresAt: body.expiresAt === null ? null : new Date(body.expiresAt).toISOString() } : {}),
    ...(body.maxClicks !== undefined ? { maxClicks: body.maxClicks } : {}),
  });
  return { status: 200, body: toLink(item, baseUrlOf(event, headers, shortenerEnv())) };
});
