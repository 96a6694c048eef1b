import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { sqsClient } from '#shared/clients/sqs';
import { sqsConsumer } from '#shared/consumer/sqs';
import { readEnv } from '#shared/env';
import { pushAndHandOn } from './fanout';
import { StoredMessageSchema } from './frames';
import { readConversation, readMessages, type ChatMessage, type Conversation } from './store';

/**
 * Fan-out of large conversations, off the sender's invocation (the celebrity problem): `send`
 * queues `{ tenantId, conversationId, seq, message }` on an SQS FIFO queue, grouped by
 * conversation, and this consumer pushes. One conversation's deliveries run one at a time (one
 * in-flight batch per group), so no baton wait is needed; since concurrent senders may queue seqs
 * out of order, a delivery pushes every message from the conversation's `pushedSeq + 1` up to its
 * seq, in order (from the table, unless it is just the message the delivery carries), and a later
 * delivery of a seq already pushed does nothing.
 */

export const DeliverySchema = z.object({
  tenantId: z.string().min(1),
  conversationId: z.string().min(1),
  seq: z.number().int().positive(),
  /** The message itself (at most 32 KB, well within SQS's 256 KB), which saves reading it back. */
  message: StoredMessageSchema.optional(),
});
export type Delivery = z.infer<typeof DeliverySchema>;

let queueUrl: string | undefined;

/** Queues a stored message for the FIFO fan-out. Deduplicated by conversation and seq. */
export async function queueDelivery(conversation: Pick<Conversation, 'tenantId' | 'conversationId'>, message: ChatMessage): Promise<void> {
  queueUrl ??= readEnv({ CHAT_FANOUT_QUEUE_URL: z.url() }).CHAT_FANOUT_QUEUE_URL;
  const delivery: Delivery = { tenantId: conversation.tenantId, conversationId: conversation.conversationId, seq: message.seq, message };
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
  const conversation = await readConversation(tenantId, conversationId);
  if (!conversation || conversation.pushedSeq >= seq) return;
  const messages =
    delivery.message?.seq === seq && conversation.pushedSeq === seq - 1
      ? [delivery.message]
      : await readMessages(tenantId, conversationId, { afterSeq: conversation.pushedSeq, limit: seq - conversation.pushedSeq });
  await pushAndHandOn(conversation, messages);
  // The sequencer never leaves a hole, so this is a should-not-happen: let SQS deliver it again.
  if (messages.at(-1)?.seq !== seq) throw new Error(`conversation ${conversationId}: messages up to ${seq} could not all be read; pushed to ${messages.at(-1)?.seq ?? conversation.pushedSeq}`);
}

export const handler = sqsConsumer({
  name: 'chat.deliver',
  schema: DeliverySchema,
  dedupKey: (delivery) => `${delivery.tenantId}#${delivery.conversationId}#${delivery.seq}`,
  process: deliver,
});
