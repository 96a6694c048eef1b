import { getMeRoute } from '#shared/contracts/platform';
import { httpHandler } from '#shared/http/handler';

/** Echoes what the authorizer verified, so a client can check a token without side effects. */
export const handler = httpHandler(getMeRoute, async ({ principal }) => ({
  status: 200,
  body: { userId: principal.userId, tenantId: principal.tenantId, scopes: [...principal.scopes] },
}));
