import { removeMemberRoute } from '#shared/contracts/chat';
import { httpHandler } from '#shared/http/handler';
import { removeMember } from './directory';

/** DELETE /v1/conversations/{id}/members/{userId}: leave, or (the creator) remove someone. */
export const handler = httpHandler(removeMemberRoute, async ({ params, principal }) => {
  await removeMember(principal.tenantId, params.conversationId, principal.userId, params.userId);
  return { status: 204 };
});
