import { addMembersRoute } from '#shared/contracts/chat';
import { httpHandler } from '#shared/http/handler';
import { addMembers } from './directory';
import { chatSettings } from './store';


/** POST /v1/conversations/{id}/members: a member adds others of the same tenant. */
export const handler = httpHandler(addMembersRoute, async ({ params, body, principal }) => {
  const maxGroupSize = chatSettings().maxGroupSize;
  const c = await addMembers(principal.tenantId, params.conversationId, principal.userId, body.memberIds, maxGroupSize);
  return { status: 200, body: { conversationId: c.conversationId, title: c.title, memberIds: [...c.memberIds], createdAt: c.createdAt, createdBy: c.createdBy, lastSeq: c.lastSeq } };
});
