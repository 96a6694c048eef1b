import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { LRUCache } from 'lru-cache';
import { metrics } from '#shared/powertools';
import { z } from 'zod';
import { readEnv } from '#shared/env';
import { ForbiddenError } from '#shared/errors';
import { queueDelivery } from './deliver';
import { fanOut } from './fanout';
import { postFrame, SendFrameSchema } from './frames';
import { memberConversation } from './membership';
import { appendMessage, readConversationAndConnections, type Conversation, type MemberConnection } from './store';
import { chatAction } from './ws';

let threshold: number | undefined;

/** Members above which a conversation's fan-out goes through the queue (`CHAT_QUEUE_FANOUT_ABOVE`). */
function queueAbove(): number {
  threshold ??= readEnv({ CHAT_QUEUE_FANOUT_ABOVE: z.coerce.number().int().positive().default(20) }).CHAT_QUEUE_FANOUT_ABOVE;
  return threshold;
}

/**
 * The members of each conversation this instance stored a message in. Only ever a guess: it says
 * whose connections to read along with the conversation, and the sequencer's transaction checks
 * the members it pushes to are the conversation's.
 */
const knownMembers = new LRUCache<string, readonly string[]>({ max: 5_000 });

const notAMember = (conversationId: string) => new ForbiddenError(`not a member of conversation ${conversationId}`);

/**
 * The conversation, strongly consistent, and for a small one whose members this instance knows,
 * their live connections read in the same call (so the message costs the transaction, this read
 * and the baton's hand-on). A conversation this instance has not seen, or whose members it knows
 * without the sender, is read alone first.
 * @throws ForbiddenError when the sender is not a member (or the conversation is not in the tenant)
 */
async function conversationOf(tenantId: string, conversationId: string, senderId: string): Promise<{ conversation: Conversation; connections?: readonly MemberConnection[] }> {
  const members = knownMembers.get(`${tenantId}#${conversationId}`);
  if (!members?.includes(senderId) || members.length > queueAbove()) return { conversation: await memberConversation(tenantId, conversationId, senderId) };
  const { conversation, connections } = await readConversationAndConnections(tenantId, conversationId, members, Date.now());
  if (!conversation?.memberIds.includes(senderId)) throw notAMember(conversationId);
  const same = conversation.memberIds.length === members.length && conversation.memberIds.every((id, i) => id === members[i]);
  return same ? { conversation, connections } : { conversation };
}

/**
 * `send`: stores the message under the conversation's next seq, acknowledges it to the sender,
 * then pushes it, in seq order, to every connection of every member (the sender's included):
 * inline for a small conversation, through an SQS FIFO queue for one above `CHAT_QUEUE_FANOUT_ABOVE`
 * members.
 * A repeated `clientMessageId` is acknowledged with its original seq and stores nothing.
 */
export const handler = chatAction('send', SendFrameSchema, async (frame, { principal, connectionId }) => {
  const key = `${principal.tenantId}#${frame.conversationId}`;
  const read = await conversationOf(principal.tenantId, frame.conversationId, principal.userId);
  const outcome = await appendMessage(read.conversation, { senderId: principal.userId, clientMessageId: frame.clientMessageId, body: frame.body }, read.conversation.lastSeq);
  if (outcome.kind === 'not-member') {
    knownMembers.delete(key);
    throw notAMember(frame.conversationId);
  }
  if (outcome.kind === 'duplicate') {
    metrics.addMetric('DuplicateMessages', MetricUnit.Count, 1);
    return { type: 'ack', conversationId: frame.conversationId, clientMessageId: frame.clientMessageId, seq: outcome.seq, sentAt: outcome.sentAt, duplicate: true };
  }
  const { message } = outcome;
  // The members may have changed between the read and the commit; the commit says which it checked.
  const memberIds = outcome.memberIds ?? read.conversation.memberIds;
  const conversation: Conversation = { ...read.conversation, memberIds, lastSeq: message.seq };
  knownMembers.set(key, memberIds);
  await postFrame(connectionId, { type: 'ack', conversationId: frame.conversationId, clientMessageId: frame.clientMessageId, seq: message.seq, sentAt: message.sentAt });
  metrics.addMetric('MessagesStored', MetricUnit.Count, 1);
  // Small conversations are pushed from here; large ones through the FIFO queue (deliver.ts).
  if (memberIds.length > queueAbove()) await queueDelivery(conversation, message);
  else await fanOut(conversation, message, Date.now, { batonSince: outcome.batonSince, connections: memberIds === read.conversation.memberIds ? read.connections : undefined });
  return undefined;
});
