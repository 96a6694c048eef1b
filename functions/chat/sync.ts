import { SyncFrameSchema } from './frames';
import { memberConversation } from './membership';
import { readMessages } from './store';
import { chatAction } from './ws';

/**
 * `sync`: the messages after `afterSeq`, oldest first, for a client that reconnects. The stored
 * messages are always exactly 1..lastSeq (see the sequencer), so what it gets has no gap, and
 * `hasMore` says to ask again from the last seq it got.
 */
export const handler = chatAction('sync', SyncFrameSchema, async (frame, { principal }) => {
  const conversation = await memberConversation(principal.tenantId, frame.conversationId, principal.userId);
  const messages = await readMessages(principal.tenantId, frame.conversationId, { afterSeq: frame.afterSeq, limit: frame.limit + 1 });
  return {
    type: 'sync',
    conversationId: frame.conversationId,
    messages: messages.slice(0, frame.limit),
    // Read before the messages: a message stored meanwhile may be newer than it.
    lastSeq: Math.max(conversation.lastSeq, ...messages.map((m) => m.seq)),
    hasMore: messages.length > frame.limit,
  };
});
