import { ForbiddenError } from '#shared/errors';
import { readConversation, type Conversation } from './store';

/**
 * The conversation, if `userId` is one of its members. A conversation of another tenant is not
 * even looked up (the tenant is part of its key), and reads the same as one the user is not in.
 * @throws ForbiddenError
 */
export async function memberConversation(tenantId: string, conversationId: string, userId: string): Promise<Conversation> {
  const conversation = await readConversation(tenantId, conversationId);
  if (!conversation || !conversation.memberIds.includes(userId)) throw new ForbiddenError(`not a member of conversation ${conversationId}`);
  return conversation;
}
