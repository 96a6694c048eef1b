import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import {
  connectEvent,
  connectionItem,
  connectionsItem,
  context,
  disconnectEvent,
  frameEvent,
  loadChat,
  newConnectionId,
  newTenant,
  openConnection,
  startConversation,
  T0,
  useChatTable,
  useConnectionsApi,
} from './harness';

const table = useChatTable();
const api = useConnectionsApi();

useFrozenDate(T0);

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

describe('$connect (chat connect handler)', () => {
  it('records the connection under its user and tenant: device, when, expiring 2 h 5 min from now', async () => {
    // Prepare
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };
    const connectionId = newConnectionId();

    // Act
    const result = await chat.connect(connectEvent(alice, connectionId, { query: { device: 'phone-1' } }), context);

    // Assess
    const expiresAt = T0 / 1000 + 2 * 3600 + 5 * 60;
    expect(result).toEqual({ statusCode: 200, headers: {}, body: '' });
    expect(await connectionsItem(table, alice)).toEqual({
      pk: `U#${alice.tenantId}#alice`,
      sk: 'connections',
      [`conn:${connectionId}`]: { device: 'phone-1', connectedAt: new Date(T0).toISOString(), expiresAt },
      ttl: expiresAt,
    });
    expect(await chat.store.connectionsOf(alice.tenantId, ['alice'], T0)).toEqual([{ userId: 'alice', connectionId }]);
    expect(await chat.store.connectionsOf(alice.tenantId, ['alice'], (expiresAt + 1) * 1000)).toEqual([]);
    expect(await chat.store.connectionsOf(newTenant(), ['alice'], T0)).toEqual([]);
  });

  it("keeps every device of a user, the item's TTL following the newest, and drops expired entries at the next connect", async () => {
    // Prepare: a phone connected 3 hours ago that never sent $disconnect, then a laptop 1 hour ago.
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };
    const [phone, laptop, tablet] = [newConnectionId(), newConnectionId(), newConnectionId()];
    vi.setSystemTime(T0 - 3 * 3600_000);
    await chat.connect(connectEvent(alice, phone), context);
    vi.setSystemTime(T0 - 3600_000);
    await chat.connect(connectEvent(alice, laptop), context);

    // Act
    vi.setSystemTime(T0);
    await chat.connect(connectEvent(alice, tablet), context);

    // Assess
    const item = await connectionsItem(table, alice);
    expect(Object.keys(item ?? {}).filter((name) => name.startsWith('conn:')).sort()).toEqual([`conn:${laptop}`, `conn:${tablet}`].sort());
    expect(item?.['ttl']).toBe(T0 / 1000 + 2 * 3600 + 5 * 60);
    expect((await chat.store.connectionsOf(alice.tenantId, ['alice', 'bob'], T0)).map((c) => c.connectionId).sort()).toEqual([laptop, tablet].sort());
  });

  it('finds the connections of many users in one read, leaving out users with none', async () => {
    // Prepare
    const chat = await loadChat(table);
    const tenantId = newTenant();
    const users = Array.from({ length: 120 }, (_, i) => `user-${i}`);
    const opened = await Promise.all(users.filter((_, i) => i % 3 === 0).map((userId) => openConnection(chat, { tenantId, userId }).then((connectionId) => ({ userId, connectionId }))));

    // Act
    const found = await chat.store.connectionsOf(tenantId, users, T0);

    // Assess
    const byId = (a: { connectionId: string }, b: { connectionId: string }) => a.connectionId.localeCompare(b.connectionId);
    expect(found.sort(byId)).toEqual(opened.sort(byId));
  });

  it.each([
    ['the device query parameter', { query: { device: 'laptop.home' } }, 'laptop.home'],
    ['the X-Device-Id header', { headers: { 'X-Device-Id': 'tablet:2' } }, 'tablet:2'],
    ['the x-device-id header', { headers: { 'x-device-id': 'watch_3' } }, 'watch_3'],
    ['both, the query parameter first', { query: { device: 'from-query' }, headers: { 'X-Device-Id': 'from-header' } }, 'from-query'],
    ['nothing', {}, null],
    ['a device with a space', { query: { device: 'my phone' } }, null],
    ['a device of 65 characters', { headers: { 'X-Device-Id': 'd'.repeat(65) } }, null],
  ])('takes the device from %s', async (_, parts, device) => {
    // Prepare
    const chat = await loadChat(table);
    const connectionId = newConnectionId();
    const alice = { tenantId: newTenant(), userId: 'alice' };

    // Act
    await chat.connect(connectEvent(alice, connectionId, parts), context);

    // Assess
    expect((await connectionItem(table, alice, connectionId))?.['device']).toBe(device);
  });

  it('answers 200 choosing the bearer subprotocol when the client offered its token that way, never echoing the token', async () => {
    // Prepare
    const chat = await loadChat(table);

    // Act
    const result = await chat.connect(connectEvent({ tenantId: newTenant(), userId: 'alice' }, newConnectionId(), { headers: { 'Sec-WebSocket-Protocol': `bearer, ${TOKEN}` } }), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers).toEqual({ 'Sec-WebSocket-Protocol': 'bearer' });
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('matches the handshake header in any case', async () => {
    // Prepare
    const chat = await loadChat(table);

    // Act
    const result = await chat.connect(connectEvent({ tenantId: newTenant(), userId: 'alice' }, newConnectionId(), { headers: { 'sec-websocket-protocol': `bearer, ${TOKEN}` } }), context);

    // Assess
    expect(result.headers).toEqual({ 'Sec-WebSocket-Protocol': 'bearer' });
  });

  it.each([
    ['no subprotocol', {}],
    ['other subprotocols only', { 'Sec-WebSocket-Protocol': 'graphql-ws, json' }],
  ])('answers 200 with no subprotocol when the client offered %s', async (_, headers) => {
    // Prepare
    const chat = await loadChat(table);

    // Act
    const result = await chat.connect(connectEvent({ tenantId: newTenant(), userId: 'alice' }, newConnectionId(), { headers }), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers).toEqual({});
  });

  it('answers 401 and records nothing when the authorizer context carries no identity', async () => {
    // Prepare
    const chat = await loadChat(table);
    const connectionId = newConnectionId();

    // Act
    const result = await chat.connect(connectEvent(undefined, connectionId), context);

    // Assess
    expect(result.statusCode).toBe(401);
    const scan = await table.client.send(new ScanCommand({ TableName: table.tableName, FilterExpression: 'attribute_exists(#conn)', ExpressionAttributeNames: { '#conn': `conn:${connectionId}` } }));
    expect(scan.Items).toEqual([]);
  });
});

describe('$disconnect (chat disconnect handler)', () => {
  it('forgets the connection, so the fan-out no longer posts to it', async () => {
    // Prepare
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };
    const bob = { tenantId: alice.tenantId, userId: 'bob' };
    const conversationId = await startConversation(chat, alice, ['bob']);
    const [leaving, staying, bobs] = [await openConnection(chat, alice), await openConnection(chat, alice), await openConnection(chat, bob)];

    // Act
    const result = await chat.disconnect(disconnectEvent(alice, leaving), context);
    await chat.send(frameEvent(bob, bobs, { action: 'send', conversationId, clientMessageId: 'after-leaving', body: 'still there?' }), context);

    // Assess
    expect(result).toEqual({ statusCode: 200, body: '' });
    expect(await connectionItem(table, alice, leaving)).toBeUndefined();
    expect(await chat.store.connectionsOf(alice.tenantId, ['alice'], T0)).toEqual([{ userId: 'alice', connectionId: staying }]);
    expect(api.attemptsTo(leaving)).toBe(0);
    expect(api.framesTo(staying)).toEqual([expect.objectContaining({ type: 'message', seq: 1 })]);
  });

  it('answers 200 for a connection it never recorded, and creates no item for its user', async () => {
    // Prepare
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };

    // Act
    const result = await chat.disconnect(disconnectEvent(alice, newConnectionId()), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(await connectionsItem(table, alice)).toBeUndefined();
  });

  it('answers 200 and leaves the connections alone when the event carries no identity', async () => {
    // Prepare
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };
    const connectionId = await openConnection(chat, alice);

    // Act
    const result = await chat.disconnect(disconnectEvent(undefined, connectionId), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(await connectionItem(table, alice, connectionId)).toBeDefined();
  });
});
