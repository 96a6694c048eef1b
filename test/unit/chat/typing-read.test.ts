import { describe, expect, it } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import { context, conversationItems, frameEvent, loadChat, newTenant, openConnection, startConversation, T0, useChatTable, useConnectionsApi, type Caller, type Chat } from './harness';

const table = useChatTable();
const api = useConnectionsApi();

useFrozenDate(T0);

interface Room {
  readonly chat: Chat;
  readonly conversationId: string;
  readonly alice: Caller;
  readonly bob: Caller;
  /** Each member's two devices. */
  readonly connections: { readonly alice: readonly [string, string]; readonly bob: readonly [string, string] };
  /** Carol is of the tenant and connected, but not in the conversation. */
  readonly carol: { readonly caller: Caller; readonly connectionId: string };
}

/** A conversation of alice and bob holding `count` messages, both connected on two devices; carol connected beside them. */
async function room(count = 0): Promise<Room> {
  const chat = await loadChat(table);
  const tenantId = newTenant();
  const alice = { tenantId, userId: 'alice' };
  const bob = { tenantId, userId: 'bob' };
  const carol = { tenantId, userId: 'carol' };
  const conversationId = await startConversation(chat, alice, ['bob']);
  for (let seq = 0; seq < count; seq++) {
    await chat.store.appendMessage({ tenantId, conversationId }, { senderId: 'alice', clientMessageId: `m${seq + 1}`, body: `message ${seq + 1}` }, seq);
  }
  const connections = {
    alice: [await openConnection(chat, alice), await openConnection(chat, alice)] as const,
    bob: [await openConnection(chat, bob), await openConnection(chat, bob)] as const,
  };
  return { chat, conversationId, alice, bob, connections, carol: { caller: carol, connectionId: await openConnection(chat, carol) } };
}

/** Every frame posted, by connection, leaving out connections that got none. */
const framesByConnection = () => {
  const byConnection: Record<string, unknown[]> = {};
  for (const { connectionId, frame } of api.delivered()) (byConnection[connectionId] ??= []).push(frame);
  return byConnection;
};

const readSeqOf = async (r: Room, userId: string) =>
  (await conversationItems(table, r.alice.tenantId, r.conversationId, `member#${userId}`))[0]?.['readSeq'];

describe('typing', () => {
  it("is pushed to every connection of the members but the sender's own, the sender's other device included", async () => {
    // Prepare
    const r = await room();
    const [laptop, phone] = r.connections.alice;
    const itemsBefore = await conversationItems(table, r.alice.tenantId, r.conversationId);

    // Act
    const result = await r.chat.typing(frameEvent(r.alice, laptop, { action: 'typing', conversationId: r.conversationId }), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    const typing = { type: 'typing', conversationId: r.conversationId, userId: 'alice', at: new Date(T0).toISOString() };
    expect(framesByConnection()).toEqual({ [phone]: [typing], [r.connections.bob[0]]: [typing], [r.connections.bob[1]]: [typing] });
    expect(api.framesTo(r.carol.connectionId)).toEqual([]);
    expect(await conversationItems(table, r.alice.tenantId, r.conversationId)).toEqual(itemsBefore);
  });

  it.each([
    ['a user of the tenant who is not a member', (r: Room) => r.carol.caller],
    ["a member's namesake in another tenant", () => ({ tenantId: newTenant(), userId: 'alice' })],
  ])('refuses %s with a forbidden error frame, pushing nothing', async (_, stranger) => {
    // Prepare
    const r = await room();
    const caller = stranger(r);
    const connectionId = await openConnection(r.chat, caller);

    // Act
    await r.chat.typing(frameEvent(caller, connectionId, { action: 'typing', conversationId: r.conversationId }, 'req-typing'), context);

    // Assess
    expect(framesByConnection()).toEqual({
      [connectionId]: [{ type: 'error', code: 'forbidden', message: `not a member of conversation ${r.conversationId}`, requestId: 'req-typing' }],
    });
  });

  it.each([
    ['no conversationId', {}],
    ['a conversationId with a space', { conversationId: 'no such' }],
    ['a conversationId of 65 characters', { conversationId: 'c'.repeat(65) }],
    ['a numeric conversationId', { conversationId: 42 }],
  ])('refuses a typing frame with %s: validation-failed naming frame.conversationId', async (_, fields) => {
    // Prepare
    const r = await room();
    const [laptop] = r.connections.alice;

    // Act
    await r.chat.typing(frameEvent(r.alice, laptop, { action: 'typing', ...fields }), context);

    // Assess
    const [refusal, ...more] = api.delivered();
    expect(more).toEqual([]);
    expect(refusal).toMatchObject({ connectionId: laptop, frame: { type: 'error', code: 'validation-failed' } });
    expect((refusal?.frame['errors'] as { field: string }[]).map((e) => e.field)).toEqual(['frame.conversationId']);
  });
});

describe('read', () => {
  it("stores the member's read position and pushes a receipt to every other connection of the members", async () => {
    // Prepare
    const r = await room(3);
    const [bobLaptop, bobPhone] = r.connections.bob;

    // Act
    const result = await r.chat.read(frameEvent(r.bob, bobLaptop, { action: 'read', conversationId: r.conversationId, seq: 2 }), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(await readSeqOf(r, 'bob')).toBe(2);
    expect(await readSeqOf(r, 'alice')).toBe(0);
    const receipt = { type: 'read', conversationId: r.conversationId, userId: 'bob', seq: 2 };
    expect(framesByConnection()).toEqual({ [r.connections.alice[0]]: [receipt], [r.connections.alice[1]]: [receipt], [bobPhone]: [receipt] });
  });

  it('accepts the last seq itself', async () => {
    // Prepare
    const r = await room(3);

    // Act
    await r.chat.read(frameEvent(r.bob, r.connections.bob[0], { action: 'read', conversationId: r.conversationId, seq: 3 }), context);

    // Assess
    expect(await readSeqOf(r, 'bob')).toBe(3);
    expect(api.framesTo(r.connections.alice[0])).toEqual([{ type: 'read', conversationId: r.conversationId, userId: 'bob', seq: 3 }]);
  });

  it.each([
    ['the same seq', 2],
    ['a lower seq', 1],
    ['seq 0', 0],
  ])('changes nothing and pushes nothing for %s after a read', async (_, seq) => {
    // Prepare
    const r = await room(3);
    const [bobLaptop] = r.connections.bob;
    await r.chat.read(frameEvent(r.bob, bobLaptop, { action: 'read', conversationId: r.conversationId, seq: 2 }), context);
    const pushedBefore = api.delivered().length;

    // Act
    const result = await r.chat.read(frameEvent(r.bob, bobLaptop, { action: 'read', conversationId: r.conversationId, seq }), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(await readSeqOf(r, 'bob')).toBe(2);
    expect(api.delivered()).toHaveLength(pushedBefore);
  });

  it('pushes nothing for seq 0 in a conversation never read', async () => {
    // Prepare
    const r = await room(0);

    // Act
    await r.chat.read(frameEvent(r.bob, r.connections.bob[0], { action: 'read', conversationId: r.conversationId, seq: 0 }), context);

    // Assess
    expect(await readSeqOf(r, 'bob')).toBe(0);
    expect(api.delivered()).toEqual([]);
  });

  it("refuses a seq past the conversation's lastSeq: validation-failed naming frame.seq, nothing stored or pushed", async () => {
    // Prepare
    const r = await room(3);
    const [bobLaptop] = r.connections.bob;

    // Act
    await r.chat.read(frameEvent(r.bob, bobLaptop, { action: 'read', conversationId: r.conversationId, seq: 4 }, 'req-read'), context);

    // Assess
    expect(await readSeqOf(r, 'bob')).toBe(0);
    expect(framesByConnection()).toEqual({
      [bobLaptop]: [
        {
          type: 'error',
          code: 'validation-failed',
          message: "frame.seq: must be at most 3, the conversation's last seq",
          requestId: 'req-read',
          errors: [{ field: 'frame.seq', rule: "must be at most 3, the conversation's last seq" }],
        },
      ],
    });
  });

  it.each([
    ['a negative seq', { seq: -1 }],
    ['a fractional seq', { seq: 1.5 }],
    ['no seq', {}],
  ])('refuses a read frame with %s: validation-failed naming frame.seq', async (_, fields) => {
    // Prepare
    const r = await room(3);
    const [bobLaptop] = r.connections.bob;

    // Act
    await r.chat.read(frameEvent(r.bob, bobLaptop, { action: 'read', conversationId: r.conversationId, ...fields }), context);

    // Assess
    const [refusal] = api.framesTo(bobLaptop);
    expect(refusal).toMatchObject({ type: 'error', code: 'validation-failed' });
    expect((refusal?.['errors'] as { field: string }[]).map((e) => e.field)).toEqual(['frame.seq']);
    expect(api.delivered()).toHaveLength(1);
  });

  it.each([
    ['a user of the tenant who is not a member', (r: Room) => r.carol.caller],
    ["a member's namesake in another tenant", () => ({ tenantId: newTenant(), userId: 'bob' })],
  ])('refuses %s with a forbidden error frame, storing and pushing nothing', async (_, stranger) => {
    // Prepare
    const r = await room(3);
    const caller = stranger(r);
    const connectionId = await openConnection(r.chat, caller);
    const itemsBefore = await conversationItems(table, r.alice.tenantId, r.conversationId);

    // Act
    await r.chat.read(frameEvent(caller, connectionId, { action: 'read', conversationId: r.conversationId, seq: 1 }, 'req-read'), context);

    // Assess
    expect(framesByConnection()).toEqual({
      [connectionId]: [{ type: 'error', code: 'forbidden', message: `not a member of conversation ${r.conversationId}`, requestId: 'req-read' }],
    });
    expect(await conversationItems(table, r.alice.tenantId, r.conversationId)).toEqual(itemsBefore);
  });
});

describe('store.markRead', () => {
  it('moves the read position forward only, and reports whether it moved', async () => {
    // Prepare
    const r = await room(5);
    const mark = (seq: number) => r.chat.store.markRead(r.alice.tenantId, r.conversationId, 'bob', seq);

    // Act: receipts arriving out of order
    const moves = [await mark(3), await mark(2), await mark(3), await mark(5), await mark(4)];

    // Assess
    expect(moves).toEqual([true, false, false, true, false]);
    expect(await readSeqOf(r, 'bob')).toBe(5);
  });

  it('creates no member item for a user who is not one (one who left meanwhile)', async () => {
    // Prepare
    const r = await room(3);

    // Act
    const moved = await r.chat.store.markRead(r.alice.tenantId, r.conversationId, 'carol', 2);

    // Assess
    expect(moved).toBe(false);
    expect(await conversationItems(table, r.alice.tenantId, r.conversationId, 'member#carol')).toEqual([]);
  });
});
