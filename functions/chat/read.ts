import { ValidationError } from '#shared/errors';
import { pushEphemeral } from './fanout';
import { ReadFrameSchema } from './frames';
import { memberConversation } from './membership';
import { markRead } from './store';
import { chatAction } from './ws';

/**
 * `read`: the member has read up to `seq`. Stored per member (only forward), then pushed as a read
 * receipt to the members' other connections. A receipt for a position already passed is stored
 * nowhere and pushed nowhere.
 */
export const handler = chatAction('read', ReadFrameSchema, async (frame, { principal, connectionId }) => {
  const conversation = await memberConversation(principal.tenantId, frame.conversationId, principal.userId);
  if (frame.seq > conversation.lastSeq) throw new ValidationError([{ field: 'frame.seq', rule: `must be at most ${conversation.lastSeq}, the conversation's last seq` }]);
  if (await markRead(principal.tenantId, frame.conversationId, principal.userId, frame.seq)) {
    await pushEphemeral(conversation, { type: 'read', conversationId: frame.conversationId, userId: principal.userId, seq: frame.seq }, connectionId);
  }
  return undefined;
});
