import { setTimeout as sleep } from 'node:timers/promises';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod';
import { documentClient } from '#shared/clients/dynamodb';
import { batchGetAll } from '#shared/clients/dynamodb-batch';
import { readEnv } from '#shared/env';

/**
 * The chat's storage, one DynamoDB table (lib/chat/storage.ts):
 * - a conversation's partition `C#<tenant>#<conversation>`: `meta` (members, `lastSeq`, `pushedSeq`),
 *   `member#<user>` (read position; indexed by user), `msg#<seq>` (the messages, in order), and
 *   `cmid#<sender>#<clientMessageId>` (what each client message id was given);
 * - `U#<tenant>#<user>` / `connections`: the user's live WebSocket connections, one attribute each,
 *   expiring with API Gateway's 2-hour limit;
 * - `P#<tenant>#<user>`: presence, the last heartbeat.
 */

let tableName: string | undefined;

export function chatTable(): string {
  tableName ??= readEnv({ CHAT_TABLE_NAME: z.string().min(1) }).CHAT_TABLE_NAME;
  return tableName;
}

let settings: { readonly maxGroupSize: number; readonly presenceWindowSeconds: number } | undefined;

/** The chat's settings from stage configuration (`CHAT_MAX_GROUP_SIZE`, `PRESENCE_WINDOW_SECONDS`), read once. */
export function chatSettings(): { readonly maxGroupSize: number; readonly presenceWindowSeconds: number } {
  if (!settings) {
    const env = readEnv({
      CHAT_MAX_GROUP_SIZE: z.coerce.number().int().positive().default(100),
      PRESENCE_WINDOW_SECONDS: z.coerce.number().int().positive().default(60),
    });
    settings = { maxGroupSize: env.CHAT_MAX_GROUP_SIZE, presenceWindowSeconds: env.PRESENCE_WINDOW_SECONDS };
  }
  return settings;
}

export const conversationPartition = (tenantId: string, conversationId: string) => `C#${tenantId}#${conversationId}`;
export const userPartition = (tenantId: string, userId: string) => `U#${tenantId}#${userId}`;
const messageSort = (seq: number) => `msg#${String(seq).padStart(12, '0')}`;

/** API Gateway closes a WebSocket after 2 hours; a connection item outlives that a little, then TTL removes it. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60 + 5 * 60;

export interface Conversation {
  readonly conversationId: string;
  readonly tenantId: string;
  readonly title: string | null;
  readonly memberIds: readonly string[];
  readonly createdAt: string;
  readonly createdBy: string;
  /** The last seq given out: every message up to it is stored. */
  readonly lastSeq: number;
  /** The last seq pushed to every connection, in order. */
  readonly pushedSeq: number;
}

export interface ChatMessage {
  readonly conversationId: string;
  readonly seq: number;
  readonly senderId: string;
  readonly clientMessageId: string;
  readonly body: string;
  readonly sentAt: string;
}

export interface Connection {
  readonly connectionId: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly device: string | null;
  readonly connectedAt: string;
}

/** A conversation's meta item, strongly consistent; undefined when it does not exist in this tenant. */
export async function readConversation(tenantId: string, conversationId: string): Promise<Conversation | undefined> {
  const answer = await documentClient.send(
    new GetCommand({ TableName: chatTable(), Key: { pk: conversationPartition(tenantId, conversationId), sk: 'meta' }, ConsistentRead: true }),
  );
  return answer.Item as Conversation | undefined;
}

/** Items one DynamoDB transaction may hold. */
const MAX_TRANSACTION_ITEMS = 100;

/**
 * Creates a conversation with its members. A transaction holds at most 100 items, fewer than a
 * group may have members, so the member items are written first, in transactions of up to 100,
 * and the meta item last: a conversation exists only once every member item does.
 */
export async function createConversation(conversation: Omit<Conversation, 'lastSeq' | 'pushedSeq'>): Promise<Conversation> {
  const pk = conversationPartition(conversation.tenantId, conversation.conversationId);
  const meta: Conversation = { ...conversation, lastSeq: 0, pushedSeq: 0 };
  const members = conversation.memberIds.map((userId) => ({
    Put: {
      TableName: chatTable(),
      Item: memberItem(conversation.tenantId, conversation.conversationId, userId, conversation.createdAt),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  }));
  for (let i = 0; i < members.length; i += MAX_TRANSACTION_ITEMS) {
    await documentClient.send(new TransactWriteCommand({ TransactItems: members.slice(i, i + MAX_TRANSACTION_ITEMS) }));
  }
  await documentClient.send(new PutCommand({ TableName: chatTable(), Item: { pk, sk: 'meta', ...meta }, ConditionExpression: 'attribute_not_exists(pk)' }));
  return meta;
}

/** A member's item: their read position, findable by user (`byUser`, `conv#<conversation>`). */
export function memberItem(tenantId: string, conversationId: string, userId: string, joinedAt: string): Record<string, unknown> {
  return {
    pk: conversationPartition(tenantId, conversationId),
    sk: `member#${userId}`,
    userId,
    conversationId,
    readSeq: 0,
    joinedAt,
    gsi1pk: userPartition(tenantId, userId),
    gsi1sk: `conv#${conversationId}`,
  };
}

export type AppendOutcome =
  | {
      readonly kind: 'stored';
      readonly message: ChatMessage;
      /** The members as the commit checked them (absent when the caller gave none to check). */
      readonly memberIds?: readonly string[];
      /**
       * Set when the commit also found `pushedSeq = seq - 1` (every earlier message pushed): the
       * caller holds the fan-out baton from that moment, epoch ms read just before the commit.
       */
      readonly batonSince?: number;
    }
  | { readonly kind: 'duplicate'; readonly seq: number; readonly sentAt: string }
  | { readonly kind: 'not-member' };

/** What the caller knows of the conversation: `memberIds` and `pushedSeq` are optional guesses the commit checks. */
export type ConversationSnapshot = Pick<Conversation, 'tenantId' | 'conversationId'> & Partial<Pick<Conversation, 'memberIds' | 'pushedSeq'>>;

/**
 * The sequencer. Gives a message the next seq of its conversation and stores it, in one
 * transaction with three conditions:
 * - the conversation's `lastSeq` is still the one this attempt assumes (`prev`): it becomes
 *   `prev + 1`; when the caller gave `memberIds`, they must still be the members (so a snapshot the
 *   caller kept from an earlier message is as good as a fresh read, or the attempt fails); and when
 *   the snapshot says everything up to `prev` was pushed, `pushedSeq = prev` is required too, which
 *   hands the caller the fan-out baton with no further read;
 * - no message holds `prev + 1` yet;
 * - the sender's `clientMessageId` was never given a seq.
 * The counter and the message become visible together, and seq `n` can commit only after `n - 1`
 * did, so the stored messages are always exactly 1..lastSeq: a reader can never see a gap that
 * fills later. A failed condition on the counter returns the conversation as it is now (`ALL_OLD`),
 * and the attempt is made again from it, without a read; a sender no longer among its members
 * gets `not-member`; a repeated `clientMessageId` returns the seq it was given, storing nothing.
 * @param lastSeq what the caller read or remembers of the conversation's `lastSeq`
 */
export async function appendMessage(
  conversation: ConversationSnapshot,
  message: { readonly senderId: string; readonly clientMessageId: string; readonly body: string },
  lastSeq: number,
  now: () => Date = () => new Date(),
): Promise<AppendOutcome> {
  const pk = conversationPartition(conversation.tenantId, conversation.conversationId);
  const dedupSort = `cmid#${message.senderId}#${message.clientMessageId}`;
  let prev = lastSeq;
  let members = conversation.memberIds;
  let pushed = conversation.pushedSeq;
  for (let attempt = 1; attempt <= 40; attempt++) {
    const seq = prev + 1;
    const at = now();
    const sentAt = at.toISOString();
    const stored: ChatMessage = { conversationId: conversation.conversationId, seq, senderId: message.senderId, clientMessageId: message.clientMessageId, body: message.body, sentAt };
    const holdsBaton = pushed === prev;
    const conditions = ['lastSeq = :prev', ...(members ? ['memberIds = :members'] : []), ...(holdsBaton ? ['pushedSeq = :prev'] : [])];
    try {
      await documentClient.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: chatTable(),
                Key: { pk, sk: 'meta' },
                UpdateExpression: 'SET lastSeq = :seq',
                ConditionExpression: conditions.join(' AND '),
                ExpressionAttributeValues: { ':seq': seq, ':prev': prev, ...(members ? { ':members': members } : {}) },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            { Put: { TableName: chatTable(), Item: { pk, sk: messageSort(seq), ...stored }, ConditionExpression: 'attribute_not_exists(pk)' } },
            { Put: { TableName: chatTable(), Item: { pk, sk: dedupSort, seq, sentAt }, ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      );
      return { kind: 'stored', message: stored, ...(members ? { memberIds: members } : {}), ...(holdsBaton ? { batonSince: at.getTime() } : {}) };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [counter, , dedup] = error.CancellationReasons ?? [];
      if (dedup?.Code === 'ConditionalCheckFailed') {
        const original = await documentClient.send(new GetCommand({ TableName: chatTable(), Key: { pk, sk: dedupSort }, ConsistentRead: true }));
        return { kind: 'duplicate', seq: Number(original.Item?.['seq']), sentAt: String(original.Item?.['sentAt']) };
      }
      if (counter?.Code === 'ConditionalCheckFailed') {
        if (!counter.Item) throw new Error(`conversation ${conversation.conversationId} vanished while a message was being stored`);
        const current = unmarshall(counter.Item) as Partial<Conversation>;
        prev = Number(current.lastSeq);
        pushed = Number(current.pushedSeq ?? 0);
        if (members) {
          members = current.memberIds ?? [];
          if (!members.includes(message.senderId)) return { kind: 'not-member' };
        }
        // A failed condition is an answer, not contention: try again at once.
        continue;
      }
      // TransactionConflict (another transaction on the same items in flight): the same attempt, a moment later.
      await sleep(Math.floor(Math.random() * Math.min(50, 5 * attempt)));
    }
  }
  throw new Error(`conversation ${conversation.conversationId} stayed contended through 40 attempts`);
}

/** Messages with `afterSeq < seq`, oldest first, at most `limit` (and `beforeSeq` excluded when given). */
export async function readMessages(tenantId: string, conversationId: string, range: { afterSeq: number; beforeSeq?: number; limit: number }): Promise<ChatMessage[]> {
  const upper = range.beforeSeq === undefined ? 'msg#999999999999' : messageSort(range.beforeSeq - 1);
  if (range.beforeSeq !== undefined && range.beforeSeq - 1 <= range.afterSeq) return [];
  const answer = await documentClient.send(
    new QueryCommand({
      TableName: chatTable(),
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': conversationPartition(tenantId, conversationId), ':from': messageSort(range.afterSeq + 1), ':to': upper },
      ConsistentRead: true,
      Limit: range.limit,
    }),
  );
  // Belt and braces: a Query is read-committed, not a snapshot, so in theory it could pass over
  // seq n before its transaction commits and still see n + 1 committed after it. The sequencer
  // commits n + 1 only after n, so stopping at the first hole returns only a gapless prefix.
  const messages = (answer.Items ?? []).map(toMessage);
  const contiguous = messages.findIndex((message, i) => message.seq !== range.afterSeq + 1 + i);
  return contiguous === -1 ? messages : messages.slice(0, contiguous);
}

function toMessage(item: Record<string, unknown>): ChatMessage {
  return {
    conversationId: String(item['conversationId']),
    seq: Number(item['seq']),
    senderId: String(item['senderId']),
    clientMessageId: String(item['clientMessageId']),
    body: String(item['body']),
    sentAt: String(item['sentAt']),
  };
}

/** A user's live connections are attributes `conn:<connection id>` of one item, `U#<tenant>#<user>` / `connections`. */
const CONNECTION_PREFIX = 'conn:';
const connectionsKey = (tenantId: string, userId: string) => ({ pk: userPartition(tenantId, userId), sk: 'connections' });

/** One live connection of a conversation's member, as the fan-out needs it. */
export interface MemberConnection {
  readonly userId: string;
  readonly connectionId: string;
}

/**
 * Records a connection as an attribute of its user's connections item, so that the fan-out finds
 * every member's connections with one BatchGetItem. Each entry carries its own expiry (API
 * Gateway's 2-hour limit); the item's TTL is its newest entry's, so it outlives all of them.
 * Entries already expired (connections gone without `$disconnect` and never pushed to since) are
 * removed here.
 */
export async function putConnection(connection: Connection, now: number): Promise<void> {
  const expiresAt = Math.floor(now / 1000) + CONNECTION_TTL_SECONDS;
  const key = connectionsKey(connection.tenantId, connection.userId);
  const answer = await documentClient.send(
    new UpdateCommand({
      TableName: chatTable(),
      Key: key,
      UpdateExpression: 'SET #conn = :conn, #ttl = :ttl',
      ExpressionAttributeNames: { '#conn': CONNECTION_PREFIX + connection.connectionId, '#ttl': 'ttl' },
      ExpressionAttributeValues: { ':conn': { device: connection.device, connectedAt: connection.connectedAt, expiresAt }, ':ttl': expiresAt },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const expired = entriesOf(answer.Attributes ?? {}).filter((entry) => entry.expiresAt * 1000 <= now);
  if (!expired.length) return;
  await documentClient.send(
    new UpdateCommand({
      TableName: chatTable(),
      Key: key,
      UpdateExpression: `REMOVE ${expired.map((_, i) => `#gone${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(expired.map((entry, i) => [`#gone${i}`, CONNECTION_PREFIX + entry.connectionId])),
    }),
  );
}

/** Forgets a connection (at `$disconnect`, or when a push finds it gone). */
export async function deleteConnection(tenantId: string, userId: string, connectionId: string): Promise<void> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: chatTable(),
        Key: connectionsKey(tenantId, userId),
        UpdateExpression: 'REMOVE #conn',
        // Without it, REMOVE on a user with no item would create an empty one.
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#conn': CONNECTION_PREFIX + connectionId },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * The live connections of every user given, in one strongly consistent BatchGetItem per 100 users
 * (one, for any conversation within the group size). Expired entries are left out: TTL lags.
 */
export async function connectionsOf(tenantId: string, userIds: readonly string[], now: number): Promise<MemberConnection[]> {
  const items = await batchGetAll(chatTable(), userIds.map((userId) => connectionsKey(tenantId, userId)), { consistentRead: true });
  return items.flatMap((item) => liveConnections(tenantId, item, now));
}

/**
 * A conversation's meta item and the live connections of `memberIds` (the members the caller
 * expects), in one strongly consistent BatchGetItem: what `send` needs before it stores a message
 * in a small conversation. Undefined `conversation` when it does not exist in this tenant.
 */
export async function readConversationAndConnections(
  tenantId: string,
  conversationId: string,
  memberIds: readonly string[],
  now: number,
): Promise<{ conversation: Conversation | undefined; connections: MemberConnection[] }> {
  const meta = { pk: conversationPartition(tenantId, conversationId), sk: 'meta' };
  const items = await batchGetAll(chatTable(), [meta, ...memberIds.map((userId) => connectionsKey(tenantId, userId))], { consistentRead: true });
  const found = items.find((item) => item['pk'] === meta.pk && item['sk'] === 'meta');
  return { conversation: found as Conversation | undefined, connections: items.filter((item) => item !== found).flatMap((item) => liveConnections(tenantId, item, now)) };
}

/** The unexpired connections a user's connections item lists. */
function liveConnections(tenantId: string, item: Record<string, unknown>, now: number): MemberConnection[] {
  const userId = String(item['pk']).slice(userPartition(tenantId, '').length);
  return entriesOf(item)
    .filter((entry) => entry.expiresAt * 1000 > now)
    .map((entry) => ({ userId, connectionId: entry.connectionId }));
}

function entriesOf(item: Record<string, unknown>): { connectionId: string; expiresAt: number }[] {
  return Object.entries(item)
    .filter(([name]) => name.startsWith(CONNECTION_PREFIX))
    .map(([name, value]) => ({ connectionId: name.slice(CONNECTION_PREFIX.length), expiresAt: Number((value as { expiresAt?: unknown }).expiresAt) }));
}

/** Records a heartbeat: the user is online until `windowSeconds` from now. */
export async function touchPresence(tenantId: string, userId: string, now: number, windowSeconds: number): Promise<void> {
  await documentClient.send(
    new PutCommand({
      TableName: chatTable(),
      Item: { pk: `P#${tenantId}#${userId}`, sk: 'presence', userId, lastSeenAt: new Date(now).toISOString(), ttl: Math.floor(now / 1000) + windowSeconds * 10 },
    }),
  );
}

/**
 * Hands the fan-out baton on: `pushedSeq` becomes `to` unless it already reached it. Every seq up
 * to `to` has been pushed by the caller or before it, whatever `pushedSeq` holds now, so moving it
 * on from any lower value is right. Requiring the value the caller read instead would strand it
 * when an instance whose message was taken over finishes during the takeover: it moves `pushedSeq`
 * to its own seq, the takeover's hand-on then fails, and the next message waits out its deadline.
 * @returns false when `pushedSeq` was already at `to` or beyond
 */
export async function advancePushed(tenantId: string, conversationId: string, to: number): Promise<boolean> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: chatTable(),
        Key: { pk: conversationPartition(tenantId, conversationId), sk: 'meta' },
        UpdateExpression: 'SET pushedSeq = :to',
        ConditionExpression: 'pushedSeq < :to',
        ExpressionAttributeValues: { ':to': to },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** The conversation's `pushedSeq`, strongly consistent. */
export async function readPushed(tenantId: string, conversationId: string): Promise<number> {
  const answer = await documentClient.send(
    new GetCommand({
      TableName: chatTable(),
      Key: { pk: conversationPartition(tenantId, conversationId), sk: 'meta' },
      ConsistentRead: true,
      ProjectionExpression: 'pushedSeq',
    }),
  );
  return Number(answer.Item?.['pushedSeq'] ?? 0);
}

/**
 * Moves a member's read position forward to `seq` (never back: receipts may arrive out of order).
 * @returns false when the member had read as far already
 */
export async function markRead(tenantId: string, conversationId: string, userId: string, seq: number): Promise<boolean> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: chatTable(),
        Key: { pk: conversationPartition(tenantId, conversationId), sk: `member#${userId}` },
        UpdateExpression: 'SET readSeq = :seq',
        ConditionExpression: 'attribute_exists(pk) AND readSeq < :seq',
        ExpressionAttributeValues: { ':seq': seq },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
