import { z } from 'zod';
import { addMembersRoute } from '#shared/contracts/chat';
import { readEnv } from '#shared/env';
import { httpHandler } from '#shared/http/handler';
import { addMembers } from './directory';

let maxGroupSize: number | undefined;

/** POST /v1/conversations/{id}/members: a member adds others of the same tenant. */
export const handler = httpHandler(addMembersRoute, async ({ params, body, principal }) => {
  maxGroupSize ??= readEnv({ CHAT_MAX_GROUP_SIZE: z.coerce.number().int().positive().default(100) }).CHAT_MAX_GROUP_SIZE;
  const c = await addMembers(principal.tenantId, params.conversationId, principal.userId, body.memberIds, maxGroupSize);
  return { status: 200, body: { conversationId: c.conversationId, title: c.title, memberIds: [...c.memberIds], createdAt: c.createdAt, createdBy: c.createdBy, lastSeq: c.lastSeq } };
});
