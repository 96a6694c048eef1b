import { listConversationsRoute } from '#shared/contracts/chat';
import { httpHandler } from '#shared/http/handler';
import { conversationsOf } from './directory';

/** GET /v1/conversations: the caller's conversations, with last seq and unread count. */
export const handler = httpHandler(listConversationsRoute, async ({ query, principal }) => {
  const conversations = await conversationsOf(principal.tenantId, principal.userId, query.limit);
  return {
    status: 200,
    body: {
      items: conversations.map((c) => ({
        conversationId: c.conversationId,
        title: c.title,
        memberIds: [...c.memberIds],
        createdAt: c.createdAt,
        createdBy: c.createdBy,
        lastSeq: c.lastSeq,
        readSeq: c.readSeq,
        unread: Math.max(0, c.lastSeq - c.readSeq),
      })),
    },
  };
});
