import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import { context, frameEvent, loadChat, newTenant, openConnection, T0, useChatTable, useConnectionsApi } from './harness';

const table = useChatTable();
const api = useConnectionsApi();

useFrozenDate(T0);

const presenceOf = async (tenantId: string, userId: string) =>
  (await table.client.send(new GetCommand({ TableName: table.tableName, Key: { pk: `P#${tenantId}#${userId}`, sk: 'presence' }, ConsistentRead: true }))).Item;

describe('ping', () => {
  it('records the heartbeat as presence and answers pong', async () => {
    // Prepare
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };
    const connectionId = await openConnection(chat, alice);

    // Act
    const result = await chat.ping(frameEvent(alice, connectionId, { action: 'ping' }), context);

    // Assess: presence outlives ten windows of the default 60 s, then TTL removes it.
    expect(result).toEqual({ statusCode: 200 });
    expect(api.framesTo(connectionId)).toEqual([{ type: 'pong', at: new Date(T0).toISOString() }]);
    expect(await presenceOf(alice.tenantId, 'alice')).toEqual({
      pk: `P#${alice.tenantId}#alice`,
      sk: 'presence',
      userId: 'alice',
      lastSeenAt: new Date(T0).toISOString(),
      ttl: T0 / 1000 + 600,
    });
  });

  it('moves lastSeenAt on with every heartbeat, by PRESENCE_WINDOW_SECONDS', async () => {
    // Prepare
    const chat = await loadChat(table, { PRESENCE_WINDOW_SECONDS: '30' });
    const alice = { tenantId: newTenant(), userId: 'alice' };
    const connectionId = await openConnection(chat, alice);
    await chat.ping(frameEvent(alice, connectionId, { action: 'ping' }), context);
    const later = T0 + 25_000;
    vi.setSystemTime(later);

    // Act
    await chat.ping(frameEvent(alice, connectionId, { action: 'ping' }), context);

    // Assess
    expect(api.framesTo(connectionId).at(-1)).toEqual({ type: 'pong', at: new Date(later).toISOString() });
    expect(await presenceOf(alice.tenantId, 'alice')).toMatchObject({ lastSeenAt: new Date(later).toISOString(), ttl: later / 1000 + 300 });
  });

  it('refuses a ping frame with fields it does not have, recording nothing', async () => {
    // Prepare
    const chat = await loadChat(table);
    const alice = { tenantId: newTenant(), userId: 'alice' };
    const connectionId = await openConnection(chat, alice);

    // Act
    await chat.ping(frameEvent(alice, connectionId, { action: 'ping', status: 'away' }), context);

    // Assess
    expect(api.framesTo(connectionId)).toEqual([expect.objectContaining({ type: 'error', code: 'validation-failed', errors: [expect.objectContaining({ field: 'frame' })] })]);
    expect(await presenceOf(alice.tenantId, 'alice')).toBeUndefined();
  });
});
