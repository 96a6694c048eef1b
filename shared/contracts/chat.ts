import { z } from 'zod';
import { defineRoute } from './route';

/** Chat over WebSocket; these are its REST routes. Frames: functions/chat/frames.ts and lib/chat/README.md. */

const ConversationIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 of A-Z, a-z, 0-9, _ and -');
const UserIdSchema = z.string().regex(/^[^\s#\u0000-\u001f\u007f]{1,128}$/, 'must be 1 to 128 characters without white space, # or control characters');

export const CreateConversationRequestSchema = z
  .object({
    memberIds: z.array(UserIdSchema).min(1, 'must name at least one other member'),
    title: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
  })
  .strict()
  .meta({ id: 'CreateConversationRequest', description: 'The caller is a member too, whether listed or not.' });

export const ConversationSchema = z
  .object({
    conversationId: z.string(),
    title: z.string().nullable(),
    memberIds: z.array(z.string()),
    createdAt: z.string(),
    createdBy: z.string(),
    lastSeq: z.number().int(),
  })
  .meta({ id: 'Conversation' });

export const ChatMessageSchema = z
  .object({
    conversationId: z.string(),
    seq: z.number().int(),
    senderId: z.string(),
    clientMessageId: z.string(),
    body: z.string(),
    sentAt: z.string(),
  })
  .meta({ id: 'ChatMessage' });

const Seq = z.coerce.number().int('must be an integer').nonnegative('must not be negative');

export const ListMessagesQuerySchema = z
  .object({
    afterSeq: Seq.default(0),
    beforeSeq: Seq.optional(),
    limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(500, 'must be at most 500').default(100),
  })
  .strict();

export const createConversationRoute = defineRoute({
  operationId: 'createConversation',
  method: 'POST',
  path: '/v1/conversations',
  summary: 'Start a conversation with members of your tenant',
  tags: ['chat'],
  auth: { scopes: ['chat:write'] },
  request: { body: CreateConversationRequestSchema, maxBodyBytes: 16_384 },
  responses: { 201: { description: 'Created', body: ConversationSchema, headers: { Location: 'The conversation' } } },
});

export const listMessagesRoute = defineRoute({
  operationId: 'listMessages',
  method: 'GET',
  path: '/v1/conversations/{conversationId}/messages',
  summary: 'Messages of a conversation you are in, by seq',
  description: 'Oldest first, seq greater than `afterSeq` (and less than `beforeSeq`); page on with the last seq as `afterSeq` while `hasMore`.',
  tags: ['chat'],
  auth: { scopes: ['chat:read'] },
  request: { params: z.object({ conversationId: ConversationIdSchema }), query: ListMessagesQuerySchema },
  responses: {
    200: { description: 'A page of messages', body: z.object({ messages: z.array(ChatMessageSchema), lastSeq: z.number().int(), hasMore: z.boolean() }).meta({ id: 'MessagePage' }) },
  },
});

export const ConversationSummarySchema = ConversationSchema.extend({
  readSeq: z.number().int().meta({ description: 'The last seq you marked read.' }),
  unread: z.number().int().meta({ description: 'Messages after your read position.' }),
}).meta({ id: 'ConversationSummary' });

export const listConversationsRoute = defineRoute({
  operationId: 'listConversations',
  method: 'GET',
  path: '/v1/conversations',
  summary: 'Your conversations, with their last seq and your unread count',
  tags: ['chat'],
  auth: { scopes: ['chat:read'] },
  request: { query: z.object({ limit: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(50) }).strict() },
  responses: { 200: { description: 'Conversations, most recently created first', body: z.object({ items: z.array(ConversationSummarySchema) }).meta({ id: 'ConversationList' }) } },
});

const ConversationParams = z.object({ conversationId: ConversationIdSchema });

export const addMembersRoute = defineRoute({
  operationId: 'addMembers',
  method: 'POST',
  path: '/v1/conversations/{conversationId}/members',
  summary: 'Add members to a conversation you are in',
  description: 'New members read the whole history. The group size stays within `chat.maxGroupSize`.',
  tags: ['chat'],
  auth: { scopes: ['chat:write'] },
  // At most 99 at once: the members and the conversation change in one transaction (100 items).
  request: { params: ConversationParams, body: z.object({ memberIds: z.array(UserIdSchema).min(1, 'must name at least one member').max(99, 'must name at most 99 members at once') }).strict(), maxBodyBytes: 16_384 },
  responses: { 200: { description: 'The conversation as it is now', body: ConversationSchema } },
});

export const removeMemberRoute = defineRoute({
  operationId: 'removeMember',
  method: 'DELETE',
  path: '/v1/conversations/{conversationId}/members/{userId}',
  summary: 'Leave a conversation, or (its creator) remove a member',
  tags: ['chat'],
  auth: { scopes: ['chat:write'] },
  request: { params: ConversationParams.extend({ userId: UserIdSchema }) },
  responses: { 204: { description: 'Removed' } },
});

export const getPresenceRoute = defineRoute({
  operationId: 'getPresence',
  method: 'GET',
  path: '/v1/presence',
  summary: 'Who of these users of your tenant is online',
  description: 'Online means a heartbeat (`ping`) within `chat.presenceWindowSeconds`, checked at read time.',
  tags: ['chat'],
  auth: { scopes: ['chat:read'] },
  request: {
    query: z
      .object({
        userIds: z
          .string()
          .transform((value) => [...new Set(value.split(',').map((id) => id.trim()).filter(Boolean))])
          .pipe(z.array(UserIdSchema).min(1, 'must name at least one user').max(100, 'must name at most 100 users')),
      })
      .strict(),
  },
  responses: {
    200: {
      description: 'Presence per user',
      body: z.object({ users: z.array(z.object({ userId: z.string(), online: z.boolean(), lastSeenAt: z.string().nullable() })) }).meta({ id: 'Presence' }),
    },
  },
});

export const chatRoutes = [createConversationRoute, listConversationsRoute, listMessagesRoute, addMembersRoute, removeMemberRoute, getPresenceRoute] as const;
