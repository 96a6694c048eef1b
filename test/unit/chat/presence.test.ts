import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import { bodyOf, context, frameEvent, getPresenceEvent, loadChat, newTenant, openConnection, problemOf, T0, upTo, useChatTable, useConnectionsApi, type Caller, type Chat } from './harness';

const table = useChatTable();
useConnectionsApi();

useFrozenDate(T0);

interface UserPresence {
  userId: string;
  online: boolean;
  lastSeenAt: string | null;
}

async function presence(chat: Chat, caller: Caller, userIds: string): Promise<UserPresence[]> {
  const result = await chat.getPresence(getPresenceEvent(caller, userIds), context);
  expect(result.statusCode, result.body).toBe(200);
  return bodyOf<{ users: UserPresence[] }>(result).users;
}

async function ping(chat: Chat, caller: Caller): Promise<void> {
  await chat.ping(frameEvent(caller, await openConnection(chat, caller), { action: 'ping' }), context);
}

const presenceItem = async (tenantId: string, userId: string) =>
  (await table.client.send(new GetCommand({ TableName: table.tableName, Key: { pk: `P#${tenantId}#${userId}`, sk: 'presence' }, ConsistentRead: true }))).Item;

describe('GET /v1/presence (get-presence handler)', () => {
  it('shows a user online after a ping, and unknown users offline with lastSeenAt null', async () => {
    // Prepare
    const chat = await loadChat(table);
    const tenantId = newTenant();
    const alice = { tenantId, userId: 'alice' };
    await ping(chat, alice);

    // Act
    const users = await presence(chat, { tenantId, userId: 'bob' }, 'alice,nobody');

    // Assess
    expect(users).toEqual([
      { userId: 'alice', online: true, lastSeenAt: new Date(T0).toISOString() },
      { userId: 'nobody', online: false, lastSeenAt: null },
    ]);
  });

  it('counts a heartbeat exactly PRESENCE_WINDOW_SECONDS old as online, and one a second older as offline though its item is still there', async () => {
    // Prepare
    const chat = await loadChat(table, { PRESENCE_WINDOW_SECONDS: '30' });
    const tenantId = newTenant();
    const bob = { tenantId, userId: 'bob' };
    await ping(chat, { tenantId, userId: 'alice' });

    // Act
    vi.setSystemTime(T0 + 30_000);
    const atTheEdge = await presence(chat, bob, 'alice');
    vi.setSystemTime(T0 + 31_000);
    const past = await presence(chat, bob, 'alice');

    // Assess: the item outlives the window (TTL lags, and is set to ten windows anyway).
    expect(atTheEdge).toEqual([{ userId: 'alice', online: true, lastSeenAt: new Date(T0).toISOString() }]);
    expect(past).toEqual([{ userId: 'alice', online: false, lastSeenAt: new Date(T0).toISOString() }]);
    expect(await presenceItem(tenantId, 'alice')).toMatchObject({ lastSeenAt: new Date(T0).toISOString() });
  });

  it('shows a user online again after a later ping', async () => {
    // Prepare
    const chat = await loadChat(table);
    const tenantId = newTenant();
    const alice = { tenantId, userId: 'alice' };
    await ping(chat, alice);
    vi.setSystemTime(T0 + 5 * 60_000);

    // Act
    await ping(chat, alice);
    const users = await presence(chat, { tenantId, userId: 'bob' }, 'alice');

    // Assess
    expect(users).toEqual([{ userId: 'alice', online: true, lastSeenAt: new Date(T0 + 5 * 60_000).toISOString() }]);
  });

  it("does not see another tenant's user of the same id", async () => {
    // Prepare
    const chat = await loadChat(table);
    await ping(chat, { tenantId: newTenant(), userId: 'alice' });

    // Act
    const users = await presence(chat, { tenantId: newTenant(), userId: 'bob' }, 'alice');

    // Assess
    expect(users).toEqual([{ userId: 'alice', online: false, lastSeenAt: null }]);
  });

  it('answers each user once, in the order first named, however often and with whatever spacing they were named', async () => {
    // Prepare
    const chat = await loadChat(table);
    const tenantId = newTenant();
    await ping(chat, { tenantId, userId: 'bob' });

    // Act
    const users = await presence(chat, { tenantId, userId: 'alice' }, 'carol, bob,carol,,bob ');

    // Assess
    expect(users).toEqual([
      { userId: 'carol', online: false, lastSeenAt: null },
      { userId: 'bob', online: true, lastSeenAt: new Date(T0).toISOString() },
    ]);
  });

  it('accepts 100 users, counting them after duplicates are dropped', async () => {
    // Prepare
    const chat = await loadChat(table);
    const tenantId = newTenant();
    await ping(chat, { tenantId, userId: 'u100' });
    const named = [...upTo(100).map((i) => `u${i}`), 'u1', 'u100'].join(',');

    // Act
    const users = await presence(chat, { tenantId, userId: 'alice' }, named);

    // Assess
    expect(users.map((u) => u.userId)).toEqual(upTo(100).map((i) => `u${i}`));
    expect(users.filter((u) => u.online).map((u) => u.userId)).toEqual(['u100']);
  });

  it.each([
    ['101 users', upTo(101).map((i) => `u${i}`).join(','), [{ field: 'query.userIds', rule: 'must name at most 100 users' }]],
    ['no user', ' , ', [{ field: 'query.userIds', rule: 'must name at least one user' }]],
    ['a user id with #', 'alice,b#b', [{ field: 'query.userIds[1]', rule: expect.any(String) }]],
  ])('refuses %s: 400 naming query.userIds', async (_, userIds, errors) => {
    // Prepare
    const chat = await loadChat(table);

    // Act
    const result = await chat.getPresence(getPresenceEvent({ tenantId: newTenant(), userId: 'alice' }, userIds), context);

    // Assess
    expect(problemOf(result, 400)['errors']).toEqual(errors);
  });

  it('refuses a request without userIds: 400 naming query.userIds', async () => {
    // Prepare
    const chat = await loadChat(table);

    // Act
    const result = await chat.getPresence({ ...getPresenceEvent({ tenantId: newTenant(), userId: 'alice' }, 'x'), queryStringParameters: null }, context);

    // Assess
    expect(problemOf(result, 400)['errors']).toEqual([expect.objectContaining({ field: 'query.userIds' })]);
  });
});
