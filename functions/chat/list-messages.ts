import { listMessagesRoute } from '#shared/contracts/chat';
import { NotFoundError } from '#shared/errors';
import { httpHandler } from '#shared/http/handler';
import { readConversation, readMessages } from './store';

/** GET /v1/conversations/{id}/messages: members only; anyone else, and another tenant, reads 404. */
export const handler = httpHandler(listMessagesRoute, async ({ params, query, principal }) => {
  const conversation = await readConversation(principal.tenantId, params.conversationId);
  if (!conversation || !conversation.memberIds.includes(principal.userId)) throw new NotFoundError(`no conversation ${params.conversationId}`);
  const messages = await readMessages(principal.tenantId, params.conversationId, { afterSeq: query.afterSeq, ...(query.beforeSeq !== undefined ? { beforeSeq: query.beforeSeq } : {}), limit: query.limit + 1 });
  return { status: 200, body: { messages: messages.slice(0, query.limit), lastSeq: conversation.lastSeq, hasMore: messages.length > query.limit } };
});
