import { describe, expect, it } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import {
  connectEvent,
  connectionItem,
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
  it('records the connection: user, tenant, device, when, findable by user, expiring 2 h 5 min from now', async () => {
    // Prepare
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };
    const connectionId = newConnectionId();

    // Act
    const result = await chat.connect(connectEvent(alice, connectionId, { query: { device: 'phone-1' } }), context);

    // Assess
    expect(result).toEqual({ statusCode: 200, headers: {}, body: '' });
    expect(await connectionItem(table, connectionId)).toEqual({
      pk: `CONN#${connectionId}`,
      sk: 'conn',
      connectionId,
      tenantId: alice.tenantId,
      userId: 'alice',
      device: 'phone-1',
      connectedAt: new Date(T0).toISOString(),
      ttl: T0 / 1000 + 2 * 3600 + 5 * 60,
      gsi1pk: `U#${alice.tenantId}#alice`,
      gsi1sk: `conn#${connectionId}`,
    });
    expect(await chat.store.connectionsOf(alice.tenantId, 'alice', T0)).toEqual([connectionId]);
    expect(await chat.store.connectionsOf(alice.tenantId, 'alice', (T0 / 1000 + 7500) * 1000)).toEqual([]);
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

    // Act
    await chat.connect(connectEvent({ tenantId: newTenant(), userId: 'alice' }, connectionId, parts), context);

    // Assess
    expect((await connectionItem(table, connectionId))?.['device']).toBe(device);
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
    expect(await connectionItem(table, connectionId)).toBeUndefined();
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
    const result = await chat.disconnect(disconnectEvent(leaving), context);
    await chat.send(frameEvent(bob, bobs, { action: 'send', conversationId, clientMessageId: 'after-leaving', body: 'still there?' }), context);

    // Assess
    expect(result).toEqual({ statusCode: 200, body: '' });
    expect(await connectionItem(table, leaving)).toBeUndefined();
    expect(await chat.store.connectionsOf(alice.tenantId, 'alice', T0)).toEqual([staying]);
    expect(api.attemptsTo(leaving)).toBe(0);
    expect(api.framesTo(staying)).toEqual([expect.objectContaining({ type: 'message', seq: 1 })]);
  });

  it('answers 200 for a connection it never recorded', async () => {
    // Prepare
    const chat = await loadChat(table);

    // Act
    const result = await chat.disconnect(disconnectEvent(newConnectionId()), context);

    // Assess
    expect(result.statusCode).toBe(200);
  });
});
