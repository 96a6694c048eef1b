import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { metrics } from '#shared/powertools';
import { z } from 'zod';
import { readEnv } from '#shared/env';
import { queueDelivery } from './deliver';
import { fanOut } from './fanout';
import { postFrame, SendFrameSchema } from './frames';
import { memberConversation } from './membership';
import { appendMessage } from './store';
import { chatAction } from './ws';

let threshold: number | undefined;

/** Members above which a conversation's fan-out goes through the queue (`CHAT_QUEUE_FANOUT_ABOVE`). */
function queueAbove(): number {
  threshold ??= readEnv({ CHAT_QUEUE_FANOUT_ABOVE: z.coerce.number().int().positive().default(20) }).CHAT_QUEUE_FANOUT_ABOVE;
  return threshold;
}

/**
 * `send`: stores the message under the conversation's next seq, acknowledges it to the sender,
 * then pushes it, in seq order, to every connection of every member (the sender's included):
 * inline for a small conversation, through an SQS FIFO queue for one above `CHAT_QUEUE_FANOUT_ABOVE`
 * members.
 * A repeated `clientMessageId` is acknowledged with its original seq and stores nothing.
 */
export const handler = chatAction('send', SendFrameSchema, async (frame, { principal, connectionId }) => {
  const conversation = await memberConversation(principal.tenantId, frame.conversationId, principal.userId);
  const outcome = await appendMessage(conversation, { senderId: principal.userId, clientMessageId: frame.clientMessageId, body: frame.body }, conversation.lastSeq);
  if (outcome.kind === 'duplicate') {
    metrics.addMetric('DuplicateMessages', MetricUnit.Count, 1);
    return { type: 'ack', conversationId: frame.conversationId, clientMessageId: frame.clientMessageId, seq: outcome.seq, sentAt: outcome.sentAt, duplicate: true };
  }
  const { message } = outcome;
  await postFrame(connectionId, { type: 'ack', conversationId: frame.conversationId, clientMessageId: frame.clientMessageId, seq: message.seq, sentAt: message.sentAt });
  metrics.addMetric('MessagesStored', MetricUnit.Count, 1);
  // Small conversations are pushed from here; large ones through the FIFO queue (deliver.ts).
  if (conversation.memberIds.length > queueAbove()) await queueDelivery(conversation, message);
  else await fanOut(conversation, message);
  return undefined;
});
