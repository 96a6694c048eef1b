import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { sqsClient } from '#shared/clients/sqs';
import { sqsConsumer } from '#shared/consumer/sqs';
import { readEnv } from '#shared/env';
import { pushToMembers } from './fanout';
import { advancePushed, readConversation, readMessages, readPushed, type ChatMessage, type Conversation } from './store';

/**
 * Fan-out of large conversations, off the sender's invocation (the celebrity problem): `send`
 * queues `{ tenantId, conversationId, seq }` on an SQS FIFO queue, grouped by conversation, and
 * this consumer pushes. One conversation's deliveries run one at a time (one in-flight batch per
 * group), so no baton wait is needed; since concurrent senders may queue seqs out of order, a
 * delivery pushes every message from the conversation's `pushedSeq + 1` up to its seq, from the
 * table, in order, and a later delivery of a seq already pushed does nothing.
 */

export const DeliverySchema = z.object({
  tenantId: z.string().min(1),
  conversationId: z.string().min(1),
  seq: z.number().int().positive(),
});
export type Delivery = z.infer<typeof DeliverySchema>;

let queueUrl: string | undefined;

/** Queues a stored message for the FIFO fan-out. Deduplicated by conversation and seq. */
export async function queueDelivery(conversation: Pick<Conversation, 'tenantId' | 'conversationId'>, message: Pick<ChatMessage, 'seq'>): Promise<void> {
  queueUrl ??= readEnv({ CHAT_FANOUT_QUEUE_URL: z.url() }).CHAT_FANOUT_QUEUE_URL;
  const delivery: Delivery = { tenantId: conversation.tenantId, conversationId: conversation.conversationId, seq: message.seq };
  await sqsClient.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(delivery),
      MessageGroupId: `${conversation.tenantId}#${conversation.conversationId}`,
      MessageDeduplicationId: `${conversation.conversationId}-${message.seq}`,
    }),
  );
}

/** Pushes everything stored up to `delivery.seq` that was not pushed yet, in order. */
export async function deliver(delivery: Delivery): Promise<void> {
  const { tenantId, conversationId, seq } = delivery;
  const pushed = await readPushed(tenantId, conversationId);
  if (pushed >= seq) return;
  const conversation = await readConversation(tenantId, conversationId);
  if (!conversation) return;
  const messages = await readMessages(tenantId, conversationId, { afterSeq: pushed, limit: seq - pushed });
  await pushToMembers(conversation, messages);
  await advancePushed(tenantId, conversationId, seq);
}

export const handler = sqsConsumer({
  name: 'chat.deliver',
  schema: DeliverySchema,
  dedupKey: (delivery) => `${delivery.tenantId}#${delivery.conversationId}#${delivery.seq}`,
  process: deliver,
});
