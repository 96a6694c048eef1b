import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { commandNames, connectionItem, messageSeqs, metaOf, storeRoom, useChatTable, useConnectionsApi, type StoreRoom } from './harness';

const table = useChatTable();
const api = useConnectionsApi();

const room = () => storeRoom(table);

const pushedSeqOf = async ({ conversation }: StoreRoom) => (await metaOf(table, conversation.tenantId, conversation.conversationId))?.['pushedSeq'];

describe('deliver', () => {
  it('pushes the message it carries to every connection of every member when it is the next one, without reading the messages', async () => {
    // Prepare: 1 was pushed already; the delivery of 2 finds pushedSeq at 1.
    const r = await room();
    const [, m2] = await r.append(2);
    await r.chat.store.advancePushed(r.conversation.tenantId, r.conversation.conversationId, 1);
    const send = vi.spyOn(r.chat.documentClient, 'send');

    // Act
    await r.chat.deliver.deliver(r.deliveryOf(m2!));

    // Assess
    expect(api.delivered().map((posted) => posted.connectionId).sort()).toEqual([...r.all].sort());
    for (const connectionId of r.all) expect(api.framesTo(connectionId)).toEqual([{ type: 'message', ...m2 }]);
    expect(await pushedSeqOf(r)).toBe(2);
    expect(commandNames(send)).not.toContain('QueryCommand');
  });

  it('pushes every message up to its seq, in order, when deliveries arrive out of order, and the later ones push nothing', async () => {
    // Prepare
    const r = await room();
    const [m1, m2, m3] = await r.append(3);

    // Act
    await r.chat.deliver.deliver(r.deliveryOf(m3!));
    const afterFirst = api.delivered().length;
    await r.chat.deliver.deliver(r.deliveryOf(m1!));
    await r.chat.deliver.deliver(r.deliveryOf(m2!));

    // Assess
    expect(afterFirst).toBe(3 * r.all.length);
    expect(api.delivered()).toHaveLength(afterFirst);
    for (const connectionId of r.all) expect(api.framesTo(connectionId)).toEqual([m1, m2, m3].map((message) => ({ type: 'message', ...message })));
    expect(await pushedSeqOf(r)).toBe(3);
  });

  it('reads the gap from the table when the message it carries is not the next one', async () => {
    // Prepare
    const r = await room();
    const [m1, m2] = await r.append(2);

    // Act
    await r.chat.deliver.deliver(r.deliveryOf(m2!));

    // Assess
    for (const connectionId of r.all) expect(api.framesTo(connectionId)).toEqual([m1, m2].map((message) => ({ type: 'message', ...message })));
    expect(await pushedSeqOf(r)).toBe(2);
  });

  it('pushes from the table a delivery that carries no message (queued before deliveries carried one)', async () => {
    // Prepare: 1 was pushed already, so 2 is the next one, but the delivery does not carry it.
    const r = await room();
    const [, m2] = await r.append(2);
    await r.chat.store.advancePushed(r.conversation.tenantId, r.conversation.conversationId, 1);

    // Act
    await r.chat.deliver.deliver({ tenantId: r.conversation.tenantId, conversationId: r.conversation.conversationId, seq: 2 });

    // Assess
    for (const connectionId of r.all) expect(api.framesTo(connectionId)).toEqual([{ type: 'message', ...m2 }]);
    expect(await pushedSeqOf(r)).toBe(2);
  });

  it('posts nothing for a repeated delivery of a seq already pushed', async () => {
    // Prepare
    const r = await room();
    const [m1] = await r.append(1);
    await r.chat.deliver.deliver(r.deliveryOf(m1!));
    const before = api.mock.commandCalls(PostToConnectionCommand).length;

    // Act
    await r.chat.deliver.deliver(r.deliveryOf(m1!));

    // Assess
    expect(before).toBe(r.all.length);
    expect(api.mock.commandCalls(PostToConnectionCommand)).toHaveLength(before);
    expect(await pushedSeqOf(r)).toBe(1);
  });

  it('does nothing, and does not throw, for a conversation that does not exist', async () => {
    // Prepare: the members of the room are connected in this tenant, but the conversation is another one.
    const r = await room();
    const [m1] = await r.append(1);
    const missing = `room-missing-${Math.random().toString(36).slice(2, 10)}`;

    // Act
    const delivered = r.chat.deliver.deliver({ tenantId: r.conversation.tenantId, conversationId: missing, seq: 1, message: { ...m1!, conversationId: missing } });

    // Assess
    await expect(delivered).resolves.toBeUndefined();
    expect(api.mock.commandCalls(PostToConnectionCommand)).toHaveLength(0);
    expect(await metaOf(table, r.conversation.tenantId, missing)).toBeUndefined();
  });

  it('prunes a connection that answers 410, and the others still get the message', async () => {
    // Prepare
    const r = await room();
    const [m1] = await r.append(1);
    const [goneOne, stillThere] = r.connections.bob;
    api.markGone(goneOne!);

    // Act
    await r.chat.deliver.deliver(r.deliveryOf(m1!));

    // Assess
    expect(await connectionItem(table, r.user('bob'), goneOne!)).toBeUndefined();
    expect(await connectionItem(table, r.user('bob'), stillThere!)).toBeDefined();
    expect(api.attemptsTo(goneOne!)).toBe(1);
    for (const connectionId of r.all.filter((c) => c !== goneOne)) expect(messageSeqs(api.framesTo(connectionId))).toEqual([1]);
    expect(await pushedSeqOf(r)).toBe(1);
  });

  it('never marks a message pushed that it could not read: it pushes what it has, moves the baton that far, and fails for SQS to retry', async () => {
    // Prepare: message 2's item is lost (the sequencer never allows this; a restore might).
    const r = await room();
    const [, , m3] = await r.append(3);
    await table.client.send(new DeleteCommand({ TableName: table.tableName, Key: { pk: `C#${r.conversation.tenantId}#${r.conversation.conversationId}`, sk: 'msg#000000000002' } }));

    // Act
    const delivered = r.chat.deliver.deliver({ ...r.deliveryOf(m3!), message: undefined });

    // Assess
    await expect(delivered).rejects.toThrow(/messages up to 3 could not all be read; pushed to 1/);
    for (const connectionId of r.all) expect(messageSeqs(api.framesTo(connectionId))).toEqual([1]);
    expect(await pushedSeqOf(r)).toBe(1);
  });
});
