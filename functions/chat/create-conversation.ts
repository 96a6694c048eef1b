import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createConversationRoute } from '#shared/contracts/chat';
import { readEnv } from '#shared/env';
import { ValidationError } from '#shared/errors';
import { httpHandler } from '#shared/http/handler';
import { createConversation } from './store';

let maxGroupSize: number | undefined;

/** POST /v1/conversations: a conversation of the caller and the members named, all of the caller's tenant. */
export const handler = httpHandler(createConversationRoute, async ({ body, principal, event, headers }) => {
  maxGroupSize ??= readEnv({ CHAT_MAX_GROUP_SIZE: z.coerce.number().int().positive().default(100) }).CHAT_MAX_GROUP_SIZE;
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
  const proto = headers['x-forwarded-proto'] === 'http' ? 'http' : 'https';
  return {
    status: 201,
    body: { conversationId: conversation.conversationId, title: conversation.title, memberIds: [...conversation.memberIds], createdAt: conversation.createdAt, createdBy: conversation.createdBy, lastSeq: 0 },
    headers: { location: `${proto}://${event.requestContext.domainName}/${event.requestContext.stage}/v1/conversations/${conversation.conversationId}` },
  };
});
