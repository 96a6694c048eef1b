import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, TransactWriteCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '#shared/clients/dynamodb';
import { batchGetAll } from '#shared/clients/dynamodb-batch';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '#shared/errors';
import { chatTable, conversationPartition, memberItem, readConversation, userPartition, type Conversation } from './store';

/** What a user sees of the conversations they are in: each with their read position. */
export interface ConversationSummary extends Conversation {
  readonly readSeq: number;
}

/**
 * A user's newest conversations, at most `limit`: their member items (the `byUser` index,
 * `conv#...`), then the conversations' meta items in batches for `lastSeq` and `createdAt`.
 * The index orders member items by conversation id, not by time, so every one is read before the
 * newest are picked; member items without a meta item (a create interrupted part-way) are left out.
 */
export async function conversationsOf(tenantId: string, userId: string, limit: number): Promise<ConversationSummary[]> {
  const reads = new Map<string, number>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page: QueryCommandOutput = await documentClient.send(
      new QueryCommand({
        TableName: chatTable(),
        IndexName: 'byUser',
        KeyConditionExpression: 'gsi1pk = :user AND begins_with(gsi1sk, :conv)',
        ExpressionAttributeValues: { ':user': userPartition(tenantId, userId), ':conv': 'conv#' },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) reads.set(String(item['conversationId']), Number(item['readSeq'] ?? 0));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  const keys = [...reads.keys()].map((conversationId) => ({ pk: conversationPartition(tenantId, conversationId), sk: 'meta' }));
  const metas = await batchGetAll<Conversation>(chatTable(), keys, { consistentRead: true });
  return metas
    .map((meta) => ({ ...meta, readSeq: reads.get(meta.conversationId) ?? 0 }))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(0, limit);
}

/**
 * Rewrites a conversation's member list and member items in one transaction, guarded by the list
 * as it was read, so that two concurrent changes cannot lose one another.
 * @throws ConflictError when the list changed meanwhile (the client retries)
 */
async function replaceMembers(conversation: Conversation, next: readonly string[], added: readonly string[], removed: readonly string[], now: string): Promise<Conversation> {
  const pk = conversationPartition(conversation.tenantId, conversation.conversationId);
  try {
    await documentClient.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: chatTable(),
              Key: { pk, sk: 'meta' },
              UpdateExpression: 'SET memberIds = :next',
              ConditionExpression: 'memberIds = :previous',
              ExpressionAttributeValues: { ':next': next, ':previous': conversation.memberIds },
            },
          },
          ...added.map((userId) => ({ Put: { TableName: chatTable(), Item: memberItem(conversation.tenantId, conversation.conversationId, userId, now) } })),
          ...removed.map((userId) => ({ Delete: { TableName: chatTable(), Key: { pk, sk: `member#${userId}` } } })),
        ],
      }),
    );
  } catch (error) {
    if (error instanceof TransactionCanceledException) throw new ConflictError('the members changed meanwhile; read the conversation and retry');
    throw error;
  }
  return { ...conversation, memberIds: [...next] };
}

/**
 * Adds members; only a member may.
 * @throws NotFoundError for a conversation the caller is not in; ValidationError past the group size
 */
export async function addMembers(tenantId: string, conversationId: string, callerId: string, memberIds: readonly string[], maxGroupSize: number): Promise<Conversation> {
  const conversation = await readConversation(tenantId, conversationId);
  if (!conversation || !conversation.memberIds.includes(callerId)) throw new NotFoundError(`no conversation ${conversationId}`);
  const added = [...new Set(memberIds)].filter((id) => !conversation.memberIds.includes(id));
  if (!added.length) return conversation;
  const next = [...conversation.memberIds, ...added];
  if (next.length > maxGroupSize) throw new ValidationError([{ field: 'body.memberIds', rule: `a conversation holds at most ${maxGroupSize} members` }]);
  return replaceMembers(conversation, next, added, [], new Date().toISOString());
}

/**
 * Removes a member: anyone may leave; only the conversation's creator removes others.
 * @throws NotFoundError for a conversation the caller is not in, or a user who is not a member
 * @throws ForbiddenError when a member other than the creator removes someone else
 */
export async function removeMember(tenantId: string, conversationId: string, callerId: string, userId: string): Promise<void> {
  const conversation = await readConversation(tenantId, conversationId);
  if (!conversation || !conversation.memberIds.includes(callerId)) throw new NotFoundError(`no conversation ${conversationId}`);
  if (!conversation.memberIds.includes(userId)) throw new NotFoundError(`${userId} is not a member of conversation ${conversationId}`);
  if (userId !== callerId && conversation.createdBy !== callerId) throw new ForbiddenError('only the creator of a conversation removes other members');
  await replaceMembers(conversation, conversation.memberIds.filter((id) => id !== userId), [], [userId], new Date().toISOString());
}

/** The last heartbeat of each user (absent: never seen, or expired by TTL). */
export async function lastSeen(tenantId: string, userIds: readonly string[]): Promise<Map<string, string>> {
  const items = await batchGetAll(chatTable(), userIds.map((userId) => ({ pk: `P#${tenantId}#${userId}`, sk: 'presence' })));
  return new Map(items.map((item) => [String(item['userId']), String(item['lastSeenAt'])]));
}
