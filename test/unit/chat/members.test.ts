import { PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import {
  addMembersEvent,
  bodyOf,
  context,
  conversationItems,
  createConversationEvent,
  frameEvent,
  listConversationsEvent,
  listMessagesEvent,
  loadChat,
  metaOf,
  newTenant,
  openConnection,
  problemOf,
  removeMemberEvent,
  startConversation,
  T0,
  useChatTable,
  useConnectionsApi,
  type Caller,
  type Chat,
} from './harness';

const table = useChatTable();
const api = useConnectionsApi();

useFrozenDate(T0);

const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const violatedFields = (problem: Record<string, unknown>) => ((problem['errors'] ?? []) as { field: string }[]).map((v) => v.field);

/** The member items of a conversation, by user id. */
const memberItemUsers = async (tenantId: string, conversationId: string) =>
  (await conversationItems(table, tenantId, conversationId, 'member#')).map((item) => String(item['userId'])).sort();

/** The meta item's member list, sorted, beside the member items': the two must always agree. */
async function membership(tenantId: string, conversationId: string): Promise<{ meta: string[]; items: string[] }> {
  const meta = await metaOf(table, tenantId, conversationId);
  return { meta: [...((meta?.['memberIds'] ?? []) as string[])].sort(), items: await memberItemUsers(tenantId, conversationId) };
}

interface ConversationListItem {
  conversationId: string;
  title: string | null;
  memberIds: string[];
  createdAt: string;
  createdBy: string;
  lastSeq: number;
  readSeq: number;
  unread: number;
}

async function listOf(chat: Chat, caller: Caller, query?: Record<string, string>): Promise<ConversationListItem[]> {
  const result = await chat.listConversations(listConversationsEvent(caller, query), context);
  expect(result.statusCode, result.body).toBe(200);
  return bodyOf<{ items: ConversationListItem[] }>(result).items;
}

/** Sends `count` messages from `sender` through the `send` action, each acknowledged. */
async function sendMessages(chat: Chat, sender: Caller, conversationId: string, count: number): Promise<void> {
  const connectionId = await openConnection(chat, sender);
  for (let i = 1; i <= count; i++) {
    await chat.send(frameEvent(sender, connectionId, { action: 'send', conversationId, clientMessageId: `${sender.userId}-${i}`, body: `hello ${i}` }), context);
  }
  expect(api.framesTo(connectionId).filter((frame) => frame.type === 'ack')).toHaveLength(count);
}

describe('GET /v1/conversations (list-conversations handler)', () => {
  it("lists only the caller's conversations in their tenant, newest first, with lastSeq, readSeq and unread", async () => {
    // Prepare
    const chat = await loadChat(table);
    const tenantId = newTenant();
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((userId) => ({ tenantId, userId })) as [Caller, Caller, Caller];
    const withBob = await startConversation(chat, alice, ['bob']);
    vi.setSystemTime(T0 + 60_000);
    const created = await chat.createConversation(createConversationEvent(carol, { memberIds: ['alice'], title: 'lunch' }), context);
    const withCarol = bodyOf<{ conversationId: string }>(created).conversationId;
    vi.setSystemTime(T0 + 2 * 60_000);
    await startConversation(chat, bob, ['carol']);
    vi.setSystemTime(T0 + 3 * 60_000);
    const newest = await startConversation(chat, alice, ['dave']);
    vi.setSystemTime(T0 + 4 * 60_000);
    await startConversation(chat, { tenantId: newTenant(), userId: 'alice' }, ['bob']);
    await sendMessages(chat, bob, withBob, 3);
    await sendMessages(chat, carol, withCarol, 2);
    const aliceConnection = await openConnection(chat, alice);
    await chat.read(frameEvent(alice, aliceConnection, { action: 'read', conversationId: withBob, seq: 2 }), context);

    // Act
    const items = await listOf(chat, alice);

    // Assess
    expect(items).toEqual([
      { conversationId: newest, title: null, memberIds: ['alice', 'dave'], createdAt: at(3), createdBy: 'alice', lastSeq: 0, readSeq: 0, unread: 0 },
      { conversationId: withCarol, title: 'lunch', memberIds: ['carol', 'alice'], createdAt: at(1), createdBy: 'carol', lastSeq: 2, readSeq: 0, unread: 2 },
      { conversationId: withBob, title: null, memberIds: ['alice', 'bob'], createdAt: at(0), createdBy: 'alice', lastSeq: 3, readSeq: 2, unread: 1 },
    ]);
  });

  it('answers the newest `limit` conversations, whatever their ids', async () => {
    // Prepare: ids are random, so only reading by creation time gives the newest.
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };
    const created: string[] = [];
    for (let minute = 0; minute < 8; minute++) {
      vi.setSystemTime(T0 + minute * 60_000);
      created.push(await startConversation(chat, alice, [`friend-${minute}`]));
    }

    // Act
    const firstTwo = await listOf(chat, alice, { limit: '2' });
    const all = await listOf(chat, alice, { limit: '100' });

    // Assess
    expect(firstTwo.map((c) => c.conversationId)).toEqual([created[7], created[6]]);
    expect(all.map((c) => c.conversationId)).toEqual([...created].reverse());
  });

  it('finds the newest among more conversations than one batch read holds (100)', async () => {
    // Prepare
    const chat = await loadChat(table);
    const tenantId = newTenant();
    const created: string[] = [];
    for (let i = 0; i < 105; i++) {
      const conversation = await chat.store.createConversation({
        conversationId: `c${String(i).padStart(3, '0')}`,
        tenantId,
        title: null,
        memberIds: ['alice', 'bob'],
        createdAt: new Date(T0 + i * 1000).toISOString(),
        createdBy: 'bob',
      });
      created.push(conversation.conversationId);
    }

    // Act
    const items = await listOf(chat, { tenantId, userId: 'alice' }, { limit: '3' });

    // Assess
    expect(items.map((c) => c.conversationId)).toEqual(['c104', 'c103', 'c102']);
  });

  it('skips member items whose conversation has no meta item (a create interrupted part-way), without counting them against the limit', async () => {
    // Prepare
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };
    const older = await startConversation(chat, alice, ['bob']);
    vi.setSystemTime(T0 + 60_000);
    const newer = await startConversation(chat, alice, ['carol']);
    for (const halfMade of ['0-half-made', 'zzz-half-made']) {
      await table.client.send(new PutCommand({ TableName: table.tableName, Item: chat.store.memberItem(alice.tenantId, halfMade, 'alice', at(5)) }));
    }

    // Act
    const items = await listOf(chat, alice);
    const limited = await listOf(chat, alice, { limit: '2' });

    // Assess
    expect(items.map((c) => c.conversationId)).toEqual([newer, older]);
    expect(limited.map((c) => c.conversationId)).toEqual([newer, older]);
  });

  it('answers a user in no conversation with an empty list', async () => {
    // Prepare
    const chat = await loadChat(table);

    // Act
    const items = await listOf(chat, { tenantId: newTenant(), userId: 'hermit' });

    // Assess
    expect(items).toEqual([]);
  });

  it.each([['0'], ['101'], ['1.5'], ['ten']])('refuses limit=%s: 400 naming query.limit', async (limit) => {
    // Prepare
    const chat = await loadChat(table);

    // Act
    const result = await chat.listConversations(listConversationsEvent({ tenantId: newTenant(), userId: 'alice' }, { limit }), context);

    // Assess
    expect(violatedFields(problemOf(result, 400))).toEqual(['query.limit']);
  });
});

/** A conversation alice created with bob, and the means to act in it. */
async function duo(env: Record<string, string | undefined> = {}): Promise<{ chat: Chat; alice: Caller; bob: Caller; conversationId: string }> {
  const chat = await loadChat(table, env);
  const tenantId = newTenant();
  const alice = { tenantId, userId: 'alice' };
  const conversationId = await startConversation(chat, alice, ['bob']);
  return { chat, alice, bob: { tenantId, userId: 'bob' }, conversationId };
}

describe('POST /v1/conversations/{conversationId}/members (add-members handler)', () => {
  it('lets a member add others: deduplicated, existing members ignored, a member item for each new one', async () => {
    // Prepare
    const { chat, alice, bob, conversationId } = await duo();
    vi.setSystemTime(T0 + 60_000);

    // Act
    const result = await chat.addMembers(addMembersEvent(bob, conversationId, { memberIds: ['carol', 'dave', 'carol', 'alice', 'bob'] }), context);

    // Assess
    expect(result.statusCode, result.body).toBe(200);
    expect(bodyOf(result)).toEqual({ conversationId, title: null, memberIds: ['alice', 'bob', 'carol', 'dave'], createdAt: at(0), createdBy: 'alice', lastSeq: 0 });
    expect(await membership(alice.tenantId, conversationId)).toEqual({ meta: ['alice', 'bob', 'carol', 'dave'], items: ['alice', 'bob', 'carol', 'dave'] });
    const [carolItem] = await conversationItems(table, alice.tenantId, conversationId, 'member#carol');
    expect(carolItem).toMatchObject({ readSeq: 0, joinedAt: at(1), gsi1pk: `U#${alice.tenantId}#carol`, gsi1sk: `conv#${conversationId}` });
  });

  it('gives a new member the whole history and a place in their list', async () => {
    // Prepare
    const { chat, alice, conversationId } = await duo();
    await chat.store.appendMessage({ tenantId: alice.tenantId, conversationId }, { senderId: 'alice', clientMessageId: 'm1', body: 'before carol' }, 0);
    const carol = { tenantId: alice.tenantId, userId: 'carol' };

    // Act
    await chat.addMembers(addMembersEvent(alice, conversationId, { memberIds: ['carol'] }), context);

    // Assess
    const page = await chat.listMessages(listMessagesEvent(carol, conversationId), context);
    expect(page.statusCode, page.body).toBe(200);
    expect(bodyOf<{ messages: { body: string }[] }>(page).messages.map((m) => m.body)).toEqual(['before carol']);
    expect((await listOf(chat, carol)).map((c) => ({ conversationId: c.conversationId, unread: c.unread }))).toEqual([{ conversationId, unread: 1 }]);
  });

  it('answers 200 with the conversation unchanged when everyone named is a member already', async () => {
    // Prepare
    const { chat, alice, conversationId } = await duo();

    // Act
    const result = await chat.addMembers(addMembersEvent(alice, conversationId, { memberIds: ['bob', 'alice'] }), context);

    // Assess
    expect(result.statusCode, result.body).toBe(200);
    expect(bodyOf(result)['memberIds']).toEqual(['alice', 'bob']);
    expect(await membership(alice.tenantId, conversationId)).toEqual({ meta: ['alice', 'bob'], items: ['alice', 'bob'] });
  });

  it('keeps the group within CHAT_MAX_GROUP_SIZE: up to it passes, past it is 400 naming body.memberIds and changes nothing', async () => {
    // Prepare
    const { chat, alice, conversationId } = await duo({ CHAT_MAX_GROUP_SIZE: '3' });

    // Act
    const past = await chat.addMembers(addMembersEvent(alice, conversationId, { memberIds: ['carol', 'dave'] }), context);
    const afterPast = await membership(alice.tenantId, conversationId);
    const upTo = await chat.addMembers(addMembersEvent(alice, conversationId, { memberIds: ['carol', 'carol', 'bob'] }), context);

    // Assess
    expect(problemOf(past, 400)['errors']).toEqual([{ field: 'body.memberIds', rule: 'a conversation holds at most 3 members' }]);
    expect(afterPast).toEqual({ meta: ['alice', 'bob'], items: ['alice', 'bob'] });
    expect(upTo.statusCode, upTo.body).toBe(200);
    expect(await membership(alice.tenantId, conversationId)).toEqual({ meta: ['alice', 'bob', 'carol'], items: ['alice', 'bob', 'carol'] });
  });

  it('adds at most 99 members in one request (one transaction holds 100 items), naming body.memberIds, and 99 pass', async () => {
    // Prepare
    const { chat, alice, conversationId } = await duo({ CHAT_MAX_GROUP_SIZE: '1000' });
    const names = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

    // Act
    const tooMany = await chat.addMembers(addMembersEvent(alice, conversationId, { memberIds: names(100, 'x') }), context);
    const most = await chat.addMembers(addMembersEvent(alice, conversationId, { memberIds: names(99, 'y') }), context);

    // Assess
    expect(problemOf(tooMany, 400)['errors']).toEqual([{ field: 'body.memberIds', rule: 'must name at most 99 members at once' }]);
    expect(most.statusCode, most.body).toBe(200);
    expect((await membership(alice.tenantId, conversationId)).items).toHaveLength(101);
  });

  it.each([
    ['a user of the tenant who is not a member', (alice: Caller) => ({ tenantId: alice.tenantId, userId: 'mallory' })],
    ["a member's namesake in another tenant", () => ({ tenantId: newTenant(), userId: 'alice' })],
  ])('answers %s with 404, adding no one', async (_, stranger) => {
    // Prepare
    const { chat, alice, conversationId } = await duo();

    // Act
    const result = await chat.addMembers(addMembersEvent(stranger(alice), conversationId, { memberIds: ['mallory'] }), context);

    // Assess
    expect(problemOf(result, 404)['detail']).toBe(`no conversation ${conversationId}`);
    expect(await membership(alice.tenantId, conversationId)).toEqual({ meta: ['alice', 'bob'], items: ['alice', 'bob'] });
  });

  it.each([
    ['no one', { memberIds: [] }],
    ['a user id with a space', { memberIds: ['car ol'] }],
    ['a user id with #', { memberIds: ['carol#1'] }],
  ])('refuses a body naming %s: 400 naming body.memberIds', async (_, body) => {
    // Prepare
    const { chat, alice, conversationId } = await duo();

    // Act
    const result = await chat.addMembers(addMembersEvent(alice, conversationId, body), context);

    // Assess
    expect(violatedFields(problemOf(result, 400))[0]).toMatch(/^body\.memberIds/);
  });
});

describe('DELETE /v1/conversations/{conversationId}/members/{userId} (remove-member handler)', () => {
  it('lets a member leave (204); then they cannot sync, send, nor read the messages', async () => {
    // Prepare
    const { chat, alice, bob, conversationId } = await duo();
    await chat.store.appendMessage({ tenantId: alice.tenantId, conversationId }, { senderId: 'alice', clientMessageId: 'm1', body: 'hi' }, 0);
    const bobConnection = await openConnection(chat, bob);

    // Act
    const result = await chat.removeMember(removeMemberEvent(bob, conversationId, 'bob'), context);
    await chat.sync(frameEvent(bob, bobConnection, { action: 'sync', conversationId, afterSeq: 0 }, 'req-sync'), context);
    await chat.send(frameEvent(bob, bobConnection, { action: 'send', conversationId, clientMessageId: 'b1', body: 'still here?' }, 'req-send'), context);
    const page = await chat.listMessages(listMessagesEvent(bob, conversationId), context);

    // Assess
    expect(result.statusCode, result.body).toBe(204);
    expect(result.body).toBe('');
    expect(await membership(alice.tenantId, conversationId)).toEqual({ meta: ['alice'], items: ['alice'] });
    expect(api.framesTo(bobConnection)).toEqual([
      { type: 'error', code: 'forbidden', message: `not a member of conversation ${conversationId}`, requestId: 'req-sync' },
      { type: 'error', code: 'forbidden', message: `not a member of conversation ${conversationId}`, requestId: 'req-send' },
    ]);
    expect(problemOf(page, 404)['detail']).toBe(`no conversation ${conversationId}`);
    expect(await listOf(chat, bob)).toEqual([]);
    expect((await metaOf(table, alice.tenantId, conversationId))?.['lastSeq']).toBe(1);
  });

  it('lets the creator remove another member', async () => {
    // Prepare
    const { chat, alice, conversationId } = await duo();

    // Act
    const result = await chat.removeMember(removeMemberEvent(alice, conversationId, 'bob'), context);

    // Assess
    expect(result.statusCode, result.body).toBe(204);
    expect(await membership(alice.tenantId, conversationId)).toEqual({ meta: ['alice'], items: ['alice'] });
  });

  it('answers 403 to a member who is not the creator removing someone else', async () => {
    // Prepare
    const { chat, alice, bob, conversationId } = await duo();
    await chat.addMembers(addMembersEvent(alice, conversationId, { memberIds: ['carol'] }), context);

    // Act
    const result = await chat.removeMember(removeMemberEvent(bob, conversationId, 'carol'), context);
    const creator = await chat.removeMember(removeMemberEvent(bob, conversationId, 'alice'), context);

    // Assess
    expect(problemOf(result, 403)['detail']).toBe('only the creator of a conversation removes other members');
    expect(problemOf(creator, 403)).toBeDefined();
    expect(await membership(alice.tenantId, conversationId)).toEqual({ meta: ['alice', 'bob', 'carol'], items: ['alice', 'bob', 'carol'] });
  });

  it('answers 404 for removing a user who is not a member', async () => {
    // Prepare
    const { chat, alice, conversationId } = await duo();

    // Act
    const result = await chat.removeMember(removeMemberEvent(alice, conversationId, 'carol'), context);

    // Assess
    expect(problemOf(result, 404)['detail']).toBe(`carol is not a member of conversation ${conversationId}`);
  });

  it.each([
    ['a user of the tenant who is not a member', (alice: Caller) => ({ tenantId: alice.tenantId, userId: 'mallory' })],
    ["the creator's namesake in another tenant", () => ({ tenantId: newTenant(), userId: 'alice' })],
  ])('answers %s with 404, removing no one', async (_, stranger) => {
    // Prepare
    const { chat, alice, conversationId } = await duo();

    // Act
    const result = await chat.removeMember(removeMemberEvent(stranger(alice), conversationId, 'bob'), context);

    // Assess
    expect(problemOf(result, 404)['detail']).toBe(`no conversation ${conversationId}`);
    expect(await membership(alice.tenantId, conversationId)).toEqual({ meta: ['alice', 'bob'], items: ['alice', 'bob'] });
  });
});

describe('member changes racing', () => {
  /**
   * Lets erin in (as another request would) between the handler's read of the conversation and
   * its write: the meta item's list and erin's member item change together.
   */
  function letErinInBeforeTheWrite(chat: Chat, tenantId: string, conversationId: string): void {
    const send = chat.documentClient.send.bind(chat.documentClient) as (command: unknown) => Promise<unknown>;
    vi.spyOn(chat.documentClient, 'send').mockImplementation((async (command: unknown) => {
      if (command instanceof TransactWriteCommand) {
        await table.client.send(
          new UpdateCommand({
            TableName: table.tableName,
            Key: { pk: `C#${tenantId}#${conversationId}`, sk: 'meta' },
            UpdateExpression: 'SET memberIds = list_append(memberIds, :erin)',
            ExpressionAttributeValues: { ':erin': ['erin'] },
          }),
        );
        await table.client.send(new PutCommand({ TableName: table.tableName, Item: chat.store.memberItem(tenantId, conversationId, 'erin', at(0)) }));
      }
      return send(command);
    }) as never);
  }

  it('answers 409 to an add when the members changed between its read and its write, writing nothing of its own', async () => {
    // Prepare
    const { chat, alice, conversationId } = await duo();
    letErinInBeforeTheWrite(chat, alice.tenantId, conversationId);

    // Act
    const result = await chat.addMembers(addMembersEvent(alice, conversationId, { memberIds: ['dave'] }), context);

    // Assess
    expect(problemOf(result, 409)['detail']).toBe('the members changed meanwhile; read the conversation and retry');
    expect(await membership(alice.tenantId, conversationId)).toEqual({ meta: ['alice', 'bob', 'erin'], items: ['alice', 'bob', 'erin'] });
  });

  it('answers 409 to a removal when the members changed between its read and its write, removing no one', async () => {
    // Prepare
    const { chat, alice, conversationId } = await duo();
    letErinInBeforeTheWrite(chat, alice.tenantId, conversationId);

    // Act
    const result = await chat.removeMember(removeMemberEvent(alice, conversationId, 'bob'), context);

    // Assess
    expect(problemOf(result, 409)).toMatchObject({ type: 'urn:switchyard:problem:conflict' });
    expect(await membership(alice.tenantId, conversationId)).toEqual({ meta: ['alice', 'bob', 'erin'], items: ['alice', 'bob', 'erin'] });
  });

  it('loses no change when adds run concurrently: each succeeds or conflicts, and the list matches the member items', async () => {
    // Prepare
    const { chat, alice, conversationId } = await duo();
    const joiners = ['carol', 'dave', 'erin', 'frank'];

    // Act
    const outcomes = await Promise.allSettled(joiners.map((userId) => chat.directory.addMembers(alice.tenantId, conversationId, 'alice', [userId], 100)));

    // Assess
    const added = joiners.filter((_, i) => outcomes[i]?.status === 'fulfilled');
    const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as Error] : []));
    expect(added.length).toBeGreaterThanOrEqual(1);
    expect(refusals.map((error) => error.name)).toEqual(refusals.map(() => 'ConflictError'));
    const after = await membership(alice.tenantId, conversationId);
    expect(after.meta).toEqual(after.items);
    expect(after.meta).toEqual(['alice', 'bob', ...added].sort());
  });
});
