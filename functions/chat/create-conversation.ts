import { randomUUID } from 'node:crypto';
import { createConversationRoute } from '#shared/contracts/chat';
import { ValidationError } from '#shared/errors';
import { httpHandler } from '#shared/http/handler';
import { apiUrlOf } from '#shared/http/urls';
import { chatSettings, createConversation } from './store';


/** POST /v1/conversations: a conversation of the caller and the members named, all of the caller's tenant. */
export const handler = httpHandler(createConversationRoute, async ({ body, principal, event, headers }) => {
  const maxGroupSize = chatSettings().maxGroupSize;
  const memberIds = [...new Set([principal.userId, ...body.memberIds])];
  if (memberIds.length > maxGroupSize) {
    throw new ValidationError([{ field: 'body.memberIds', rule: `a conversation holds at most ${maxGroupSize} members, the caller included` }]);
  }
  const conversation = await createConversation({
    conversationId: randomUUID().replaceAll('-', ''),
    tenantId: principal.tenantId,
    title: body.title ?? null,
    memberIds,
    createdAt: new Date().toISOString(),
    createdBy: principal.userId,
  });
  return {
    status: 201,
    body: { conversationId: conversation.conversationId, title: conversation.title, memberIds: [...conversation.memberIds], createdAt: conversation.createdAt, createdBy: conversation.createdBy, lastSeq: 0 },
    headers: { location: `${apiUrlOf(event, headers)}/v1/conversations/${conversation.conversationId}` },
  };
});
