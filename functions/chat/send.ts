import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { metrics } from '#shared/powertools';
import { fanOut } from './fanout';
import { postFrame, SendFrameSchema } from './frames';
import { memberConversation } from './membership';
import { appendMessage } from './store';
import { chatAction } from './ws';

/**
 * `send`: stores the message under the conversation's next seq, acknowledges it to the sender,
 * then pushes it, in seq order, to every connection of every member (the sender's included).
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
  await fanOut(conversation, message);
  return undefined;
});
