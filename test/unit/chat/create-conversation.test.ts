import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import { API_DOMAIN, bodyOf, context, conversationItems, createConversationEvent, loadChat, metaOf, newTenant, problemOf, T0, useChatTable } from './harness';

const table = useChatTable();

useFrozenDate(T0);

/** What the byUser index lists for a user: conversations (`conv#...`). */
async function conversationsOf(tenantId: string, userId: string): Promise<string[]> {
  const answer = await table.client.send(
    new QueryCommand({
      TableName: table.tableName,
      IndexName: 'byUser',
      KeyConditionExpression: 'gsi1pk = :user AND begins_with(gsi1sk, :conv)',
      ExpressionAttributeValues: { ':user': `U#${tenantId}#${userId}`, ':conv': 'conv#' },
    }),
  );
  return (answer.Items ?? []).map((item) => String(item['conversationId']));
}

const violatedFields = (problem: Record<string, unknown>) => ((problem['errors'] ?? []) as { field: string }[]).map((v) => v.field);

describe('POST /v1/conversations (create-conversation handler)', () => {
  it('creates a conversation of the caller and the members named, each findable by user, and answers 201 with its location', async () => {
    // Prepare
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };

    // Act
    const result = await chat.createConversation(createConversationEvent(alice, { memberIds: ['bob', 'carol'], title: 'Lunch' }), context);

    // Assess
    expect(result.statusCode, result.body).toBe(201);
    const body = bodyOf<{ conversationId: string }>(result);
    expect(body).toEqual({ conversationId: expect.stringMatching(/^[0-9a-f]{32}$/), title: 'Lunch', memberIds: ['alice', 'bob', 'carol'], createdAt: new Date(T0).toISOString(), createdBy: 'alice', lastSeq: 0 });
    expect(result.headers?.['location']).toBe(`https://${API_DOMAIN}/dev/v1/conversations/${body.conversationId}`);
    expect(await metaOf(table, alice.tenantId, body.conversationId)).toMatchObject({ memberIds: ['alice', 'bob', 'carol'], lastSeq: 0, pushedSeq: 0, createdBy: 'alice' });
    expect((await conversationItems(table, alice.tenantId, body.conversationId, 'member#')).map((item) => [item['userId'], item['readSeq']])).toEqual([
      ['alice', 0],
      ['bob', 0],
      ['carol', 0],
    ]);
    for (const userId of ['alice', 'bob', 'carol']) expect(await conversationsOf(alice.tenantId, userId)).toEqual([body.conversationId]);
  });

  it('adds the caller once and drops repeated members; a conversation without a title has title null', async () => {
    // Prepare
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };

    // Act
    const result = await chat.createConversation(createConversationEvent(alice, { memberIds: ['bob', 'bob', 'alice', 'carol', 'bob'] }), context);

    // Assess
    expect(result.statusCode, result.body).toBe(201);
    expect(bodyOf(result)).toMatchObject({ memberIds: ['alice', 'bob', 'carol'], title: null });
  });

  it('refuses more members than CHAT_MAX_GROUP_SIZE, the caller counted once, with 400 naming body.memberIds', async () => {
    // Prepare
    const chat = await loadChat(table, { CHAT_MAX_GROUP_SIZE: '3' });
    const alice = { tenantId: newTenant(), userId: 'alice' };

    // Act
    const tooMany = await chat.createConversation(createConversationEvent(alice, { memberIds: ['bob', 'carol', 'dave'] }), context);
    const callerListed = await chat.createConversation(createConversationEvent(alice, { memberIds: ['alice', 'bob', 'carol'] }), context);

    // Assess
    expect(problemOf(tooMany, 400)['errors']).toEqual([{ field: 'body.memberIds', rule: 'a conversation holds at most 3 members, the caller included' }]);
    expect(await conversationsOf(alice.tenantId, 'dave')).toEqual([]);
    expect(callerListed.statusCode, callerListed.body).toBe(201);
    expect(bodyOf(callerListed)['memberIds']).toEqual(['alice', 'bob', 'carol']);
  });

  it('creates a conversation of the default maximum, 100 members, though one transaction holds 100 items', async () => {
    // Prepare
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };
    const others = Array.from({ length: 99 }, (_, i) => `user-${i + 1}`);

    // Act
    const result = await chat.createConversation(createConversationEvent(alice, { memberIds: others }), context);
    const oneMore = await chat.createConversation(createConversationEvent(alice, { memberIds: [...others, 'user-100'] }), context);

    // Assess
    expect(result.statusCode, result.body).toBe(201);
    const { conversationId, memberIds } = bodyOf<{ conversationId: string; memberIds: string[] }>(result);
    expect(memberIds).toHaveLength(100);
    expect(await conversationItems(table, alice.tenantId, conversationId, 'member#')).toHaveLength(100);
    expect(await conversationsOf(alice.tenantId, 'user-99')).toEqual([conversationId]);
    expect(violatedFields(problemOf(oneMore, 400))).toEqual(['body.memberIds']);
  });

  it('creates a conversation of 250 members when CHAT_MAX_GROUP_SIZE allows it', async () => {
    // Prepare
    const chat = await loadChat(table, { CHAT_MAX_GROUP_SIZE: '250' });
    const alice = { tenantId: newTenant(), userId: 'alice' };

    // Act
    const result = await chat.createConversation(createConversationEvent(alice, { memberIds: Array.from({ length: 249 }, (_, i) => `user-${i + 1}`) }), context);

    // Assess
    expect(result.statusCode, result.body).toBe(201);
    const { conversationId } = bodyOf<{ conversationId: string }>(result);
    expect(await conversationItems(table, alice.tenantId, conversationId, 'member#')).toHaveLength(250);
    expect(await metaOf(table, alice.tenantId, conversationId)).toMatchObject({ lastSeq: 0, pushedSeq: 0 });
  });

  it.each([
    ['no members', { memberIds: [] }, ['body.memberIds']],
    ['no memberIds at all', {}, ['body.memberIds']],
    ['a member id with a space', { memberIds: ['bob smith'] }, ['body.memberIds[0]']],
    ['a member id with #', { memberIds: ['bob', 'a#b'] }, ['body.memberIds[1]']],
    ['an empty title', { memberIds: ['bob'], title: '' }, ['body.title']],
    ['a field the request does not have', { memberIds: ['bob'], tenantId: 'other' }, ['body']],
  ])('refuses %s with 400 naming the field', async (_, body, fields) => {
    // Prepare
    const chat = await loadChat(table);

    // Act
    const result = await chat.createConversation(createConversationEvent({ tenantId: newTenant(), userId: 'alice' }, body), context);

    // Assess
    expect(violatedFields(problemOf(result, 400))).toEqual(fields);
  });

  it('refuses a caller without the chat:write scope with 403', async () => {
    // Prepare
    const chat = await loadChat(table);
    const reader = { tenantId: newTenant(), userId: 'alice', scopes: 'chat:read' };

    // Act
    const result = await chat.createConversation(createConversationEvent(reader, { memberIds: ['bob'] }), context);

    // Assess
    expect(problemOf(result, 403)).toBeDefined();
    expect(await conversationsOf(reader.tenantId, 'alice')).toEqual([]);
  });
});
