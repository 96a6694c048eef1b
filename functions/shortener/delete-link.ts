import { deleteLinkRoute } from '#shared/contracts/shortener';
import { httpHandler } from '#shared/http/handler';
import { logger } from '#shared/powertools';
import { deleteLink } from './links';

/** DELETE /v1/links/{code}: retires the code and drops its statistics. */
export const handler = httpHandler(deleteLinkRoute, async ({ params, principal }) => {
  await deleteLink(params.code, principal.tenantId, new Date());
  logger.info('link deleted', { code: params.code });
  return { status: 204 };
});
