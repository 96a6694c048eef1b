import { pushEphemeral } from './fanout';
import { TypingFrameSchema } from './frames';
import { memberConversation } from './membership';
import { chatAction } from './ws';

/** `typing`: pushed to the other connections of the conversation's members; never stored. */
export const handler = chatAction('typing', TypingFrameSchema, async (frame, { principal, connectionId }) => {
  const conversation = await memberConversation(principal.tenantId, frame.conversationId, principal.userId);
  await pushEphemeral(conversation, { type: 'typing', conversationId: frame.conversationId, userId: principal.userId, at: new Date().toISOString() }, connectionId);
  return undefined;
});
