import { describe, expect, it, vi } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import {
  commandNames,
  context,
  frameEvent,
  loadChat,
  messageSeqs,
  metaOf,
  addMembersEvent,
  removeMemberEvent,
  newTenant,
  openConnection,
  RATE_LIMIT_TABLE,
  startConversation,
  storedSeqs,
  T0,
  upTo,
  useChatTable,
  useConnectionsApi,
  type Caller,
  type Chat,
} from './harness';

const table = useChatTable();
const api = useConnectionsApi();

// The fan-out reads the same frozen clock, so it never takes the baton over: order comes from the baton alone.
useFrozenDate(T0);

interface Room {
  readonly chat: Chat;
  readonly tenantId: string;
  readonly conversationId: string;
  readonly alice: Caller;
  readonly bob: Caller;
  /** Alice's two devices, then bob's. */
  readonly connections: { readonly alice: readonly [string, string]; readonly bob: string };
  readonly all: readonly string[];
}

/** A conversation of alice and bob, alice connected on two devices, bob on one. */
async function room(env: Record<string, string | undefined> = {}): Promise<Room> {
  const chat = await loadChat(table, env);
  const tenantId = newTenant();
  const alice = { tenantId, userId: 'alice' };
  const bob = { tenantId, userId: 'bob' };
  const conversationId = await startConversation(chat, alice, ['bob']);
  const connections = { alice: [await openConnection(chat, alice), await openConnection(chat, alice)] as [string, string], bob: await openConnection(chat, bob) };
  return { chat, tenantId, conversationId, alice, bob, connections, all: [...connections.alice, connections.bob] };
}

const sendFrame = (conversationId: string, clientMessageId: string, body: string) => ({ action: 'send', conversationId, clientMessageId, body });

describe('send', () => {
  it('acknowledges the message to the sender with its seq, then pushes it to every connection of every member', async () => {
    // Prepare
    const r = await room();
    const [phone, laptop] = r.connections.alice;

    // Act
    const result = await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, 'c-1', 'hello bob')), context);

    // Assess
    const message = { type: 'message', conversationId: r.conversationId, seq: 1, senderId: 'alice', clientMessageId: 'c-1', body: 'hello bob', sentAt: new Date(T0).toISOString() };
    expect(result).toEqual({ statusCode: 200 });
    expect(api.framesTo(phone)).toEqual([{ type: 'ack', conversationId: r.conversationId, clientMessageId: 'c-1', seq: 1, sentAt: new Date(T0).toISOString() }, message]);
    expect(api.framesTo(laptop)).toEqual([message]);
    expect(api.framesTo(r.connections.bob)).toEqual([message]);
    expect(await storedSeqs(table, r.tenantId, r.conversationId)).toEqual([1]);
    expect(await metaOf(table, r.tenantId, r.conversationId)).toMatchObject({ lastSeq: 1, pushedSeq: 1 });
  });

  it('gives ten messages sent at once from three connections the seqs 1..10, pushed to every connection in that order', async () => {
    // Prepare
    const r = await room();
    const senders = [
      { caller: r.alice, connectionId: r.connections.alice[0] },
      { caller: r.alice, connectionId: r.connections.alice[1] },
      { caller: r.bob, connectionId: r.connections.bob },
    ];

    // Act
    await Promise.all(
      upTo(10).map((i) => {
        const { caller, connectionId } = senders[i % senders.length]!;
        return r.chat.send(frameEvent(caller, connectionId, sendFrame(r.conversationId, `burst-${i}`, `message ${i}`)), context);
      }),
    );

    // Assess
    const acks = api.delivered().filter((posted) => posted.frame.type === 'ack');
    expect(acks.map((posted) => posted.frame['seq']).sort((a, b) => Number(a) - Number(b))).toEqual(upTo(10));
    for (const connectionId of r.all) expect(messageSeqs(api.framesTo(connectionId))).toEqual(upTo(10));
    expect(await storedSeqs(table, r.tenantId, r.conversationId)).toEqual(upTo(10));
  }, 60_000);

  it('acknowledges a repeated clientMessageId with duplicate: true and the original seq, storing and pushing nothing more', async () => {
    // Prepare
    const r = await room();
    const [phone] = r.connections.alice;
    await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, 'c-1', 'hello')), context);
    await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, 'c-2', 'again')), context);
    const before = api.delivered().length;
    vi.setSystemTime(T0 + 5_000);

    // Act: the retry of c-1 (its ack was lost), sent from the other device.
    await r.chat.send(frameEvent(r.alice, r.connections.alice[1], sendFrame(r.conversationId, 'c-1', 'hello')), context);

    // Assess
    expect(api.delivered().slice(before)).toEqual([
      {
        connectionId: r.connections.alice[1],
        frame: { type: 'ack', conversationId: r.conversationId, clientMessageId: 'c-1', seq: 1, sentAt: new Date(T0).toISOString(), duplicate: true },
      },
    ]);
    expect(await storedSeqs(table, r.tenantId, r.conversationId)).toEqual([1, 2]);
  });

  it('refuses a user who is not a member with a forbidden error frame, storing nothing', async () => {
    // Prepare
    const r = await room();
    const dave = { tenantId: r.tenantId, userId: 'dave' };
    const daves = await openConnection(r.chat, dave);

    // Act
    await r.chat.send(frameEvent(dave, daves, sendFrame(r.conversationId, 'c-1', 'let me in'), 'req-dave'), context);

    // Assess
    expect(api.delivered()).toEqual([
      { connectionId: daves, frame: { type: 'error', code: 'forbidden', message: `not a member of conversation ${r.conversationId}`, requestId: 'req-dave' } },
    ]);
    expect(await storedSeqs(table, r.tenantId, r.conversationId)).toEqual([]);
    expect((await metaOf(table, r.tenantId, r.conversationId))?.['lastSeq']).toBe(0);
  });

  it("refuses a member's namesake in another tenant with forbidden, storing nothing", async () => {
    // Prepare
    const r = await room();
    const otherAlice = { tenantId: newTenant(), userId: 'alice' };
    const connectionId = await openConnection(r.chat, otherAlice);

    // Act
    await r.chat.send(frameEvent(otherAlice, connectionId, sendFrame(r.conversationId, 'c-1', 'hi')), context);

    // Assess
    expect(api.framesTo(connectionId)).toEqual([expect.objectContaining({ type: 'error', code: 'forbidden' })]);
    expect(api.framesTo(r.connections.bob)).toEqual([]);
    expect(await storedSeqs(table, r.tenantId, r.conversationId)).toEqual([]);
    expect(await storedSeqs(table, otherAlice.tenantId, r.conversationId)).toEqual([]);
  });

  it.each([
    ['text that is not JSON', 'hello there'],
    ['truncated JSON', '{"action":"send","conversationId":'],
    ['an empty frame', ''],
    ['no body at all', undefined],
  ])('answers %s with a malformed-frame error frame', async (_, body) => {
    // Prepare
    const r = await room();
    const [phone] = r.connections.alice;

    // Act
    const result = await r.chat.send(frameEvent(r.alice, phone, body, 'req-malformed'), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(api.delivered()).toEqual([
      { connectionId: phone, frame: { type: 'error', code: 'malformed-frame', message: 'frames are JSON objects with an "action" field', requestId: 'req-malformed' } },
    ]);
  });

  it.each([
    ['no body', { clientMessageId: 'c-1' }, ['frame.body']],
    ['an empty body', { clientMessageId: 'c-1', body: '' }, ['frame.body']],
    ['a body of 5,462 euro signs (16,386 bytes in UTF-8)', { clientMessageId: 'c-1', body: '€'.repeat(5462) }, ['frame.body']],
    ['a body that is not a string', { clientMessageId: 'c-1', body: 42 }, ['frame.body']],
    ['no clientMessageId', { body: 'hi' }, ['frame.clientMessageId']],
    ['a clientMessageId with a space', { clientMessageId: 'c 1', body: 'hi' }, ['frame.clientMessageId']],
    ['a conversationId with a slash', { conversationId: 'a/b', clientMessageId: 'c-1', body: 'hi' }, ['frame.conversationId']],
    ['a field the frame does not have', { clientMessageId: 'c-1', body: 'hi', seq: 7 }, ['frame']],
    ['nothing but the action', { conversationId: undefined }, ['frame.conversationId', 'frame.clientMessageId', 'frame.body']],
  ])('refuses a send frame with %s: validation-failed naming the fields, nothing stored', async (_, fields, named) => {
    // Prepare
    const r = await room();
    const [phone] = r.connections.alice;

    // Act
    await r.chat.send(frameEvent(r.alice, phone, { action: 'send', conversationId: r.conversationId, ...fields }, 'req-invalid'), context);

    // Assess
    const [refusal, ...more] = api.delivered();
    expect(more).toEqual([]);
    expect(refusal?.connectionId).toBe(phone);
    expect(refusal?.frame).toEqual({ type: 'error', code: 'validation-failed', message: expect.any(String), requestId: 'req-invalid', errors: expect.any(Array) });
    const errors = refusal?.frame['errors'] as { field: string; rule: string }[];
    expect(errors.map((e) => e.field)).toEqual(named);
    for (const { field, rule } of errors) expect(refusal?.frame['message']).toContain(`${field}: ${rule}`);
    expect(await storedSeqs(table, r.tenantId, r.conversationId)).toEqual([]);
  });

  it('counts the 16 KB body limit in UTF-8 bytes: 16,386 bytes are refused, 8,192 two-byte characters (16,384 bytes) are stored', async () => {
    // Prepare
    const r = await room();
    const [phone] = r.connections.alice;

    // Act
    await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, 'too-big', '€'.repeat(5462))), context);
    await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, 'just-fits', 'é'.repeat(8192))), context);

    // Assess
    expect(api.framesTo(phone)[0]).toMatchObject({ code: 'validation-failed', errors: [{ field: 'frame.body', rule: 'must be at most 16384 bytes in UTF-8' }] });
    expect(api.framesTo(phone).slice(1)).toMatchObject([{ type: 'ack', seq: 1 }, { type: 'message', seq: 1, body: 'é'.repeat(8192) }]);
    expect(await storedSeqs(table, r.tenantId, r.conversationId)).toEqual([1]);
  });

  it('answers a frame on a connection that carries no identity with an unauthorized error frame', async () => {
    // Prepare
    const r = await room();
    const [phone] = r.connections.alice;

    // Act
    await r.chat.send(frameEvent(undefined, phone, sendFrame(r.conversationId, 'c-1', 'hi')), context);

    // Assess
    expect(api.framesTo(phone)).toEqual([expect.objectContaining({ type: 'error', code: 'unauthorized' })]);
    expect(await storedSeqs(table, r.tenantId, r.conversationId)).toEqual([]);
  });

  it('answers an unexpected failure with an internal error frame that says nothing of it', async () => {
    // Prepare
    const r = await room();
    const [phone] = r.connections.alice;
    vi.spyOn(r.chat.documentClient, 'send').mockRejectedValue(new Error('table arn:aws:dynamodb:secret is on fire') as never);

    // Act
    const result = await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, 'c-1', 'hi'), 'req-boom'), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(api.framesTo(phone)).toEqual([{ type: 'error', code: 'internal', message: 'the message could not be handled; quote the request id', requestId: 'req-boom' }]);
  });

  it('applies the message limits when RATE_LIMIT_TABLE_NAME is set: a frame over the connection bucket gets rate-limited and is not stored', async () => {
    // Prepare
    const r = await room({
      RATE_LIMIT_TABLE_NAME: RATE_LIMIT_TABLE,
      RATE_LIMIT_POLICIES: JSON.stringify({ 'ws-connection': { subject: 'connection', algorithm: 'token-bucket', capacity: 2, refillPerSecond: 1, onFailure: 'closed' } }),
      RATE_LIMIT_ROUTE_POLICIES: 'ws-connection',
    });
    const [phone] = r.connections.alice;

    // Act
    for (const id of ['c-1', 'c-2', 'c-3']) await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, id, 'hi'), `req-${id}`), context);

    // Assess
    expect(api.framesTo(phone).filter((frame) => frame.type === 'ack')).toHaveLength(2);
    expect(api.framesTo(phone).at(-1)).toEqual({
      type: 'error',
      code: 'rate-limited',
      message: 'too many messages: ws-connection',
      requestId: 'req-c-3',
      violatedPolicies: ['ws-connection'],
      retryAfterSeconds: 1,
    });
    expect(await storedSeqs(table, r.tenantId, r.conversationId)).toEqual([1, 2]);
  });
});

describe('send through a warm instance (the conversation snapshot)', () => {
  it('stores and pushes a message with three DynamoDB calls once the instance knows the members: one read of the conversation and their connections, the transaction, the baton', async () => {
    // Prepare
    const r = await room();
    const [phone] = r.connections.alice;
    const spy = vi.spyOn(r.chat.documentClient, 'send');
    await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, 'c-1', 'first')), context);
    const cold = commandNames(spy);
    spy.mockClear();

    // Act
    await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, 'c-2', 'second')), context);

    // Assess
    expect(cold).toEqual(['GetCommand', 'TransactWriteCommand', 'BatchGetCommand', 'UpdateCommand']);
    expect(commandNames(spy)).toEqual(['BatchGetCommand', 'TransactWriteCommand', 'UpdateCommand']);
    for (const connectionId of r.all) expect(messageSeqs(api.framesTo(connectionId))).toEqual([1, 2]);
    expect(await metaOf(table, r.tenantId, r.conversationId)).toMatchObject({ lastSeq: 2, pushedSeq: 2 });
  });

  it('still takes three calls when another instance stored messages since, and gives the next seq', async () => {
    // Prepare: instance A stores 1; instance B stores 2 and 3.
    const r = await room();
    const [phone, laptop] = r.connections.alice;
    await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, 'a-1', 'from A')), context);
    const other = await loadChat(table);
    for (const id of ['b-1', 'b-2']) await other.send(frameEvent(r.bob, r.connections.bob, sendFrame(r.conversationId, id, 'from B')), context);
    const spy = vi.spyOn(r.chat.documentClient, 'send');

    // Act
    await r.chat.send(frameEvent(r.alice, laptop, sendFrame(r.conversationId, 'a-2', 'from A again')), context);

    // Assess
    expect(api.framesTo(laptop).find((frame) => frame.type === 'ack')).toMatchObject({ clientMessageId: 'a-2', seq: 4 });
    expect(commandNames(spy)).toEqual(['BatchGetCommand', 'TransactWriteCommand', 'UpdateCommand']);
    for (const connectionId of r.all) expect(messageSeqs(api.framesTo(connectionId))).toEqual([1, 2, 3, 4]);
    expect(await storedSeqs(table, r.tenantId, r.conversationId)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a member removed after the instance last saw the conversation, storing nothing', async () => {
    // Prepare
    const r = await room();
    await r.chat.send(frameEvent(r.bob, r.connections.bob, sendFrame(r.conversationId, 'b-1', 'hi')), context);
    expect((await r.chat.removeMember(removeMemberEvent(r.alice, r.conversationId, 'bob'), context)).statusCode).toBe(204);
    const before = api.delivered().length;

    // Act
    await r.chat.send(frameEvent(r.bob, r.connections.bob, sendFrame(r.conversationId, 'b-2', 'still here?'), 'req-removed'), context);

    // Assess
    expect(api.delivered().slice(before)).toEqual([
      { connectionId: r.connections.bob, frame: { type: 'error', code: 'forbidden', message: `not a member of conversation ${r.conversationId}`, requestId: 'req-removed' } },
    ]);
    expect(await storedSeqs(table, r.tenantId, r.conversationId)).toEqual([1]);
  });

  it('pushes to a member added after the instance last saw the conversation, and lets them send', async () => {
    // Prepare
    const r = await room();
    const [phone] = r.connections.alice;
    await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, 'a-1', 'before carol')), context);
    expect((await r.chat.addMembers(addMembersEvent(r.alice, r.conversationId, { memberIds: ['carol'] }), context)).statusCode).toBe(200);
    const carol = { tenantId: r.tenantId, userId: 'carol' };
    const carols = await openConnection(r.chat, carol);

    // Act
    await r.chat.send(frameEvent(r.alice, phone, sendFrame(r.conversationId, 'a-2', 'welcome carol')), context);
    await r.chat.send(frameEvent(carol, carols, sendFrame(r.conversationId, 'c-1', 'thanks')), context);

    // Assess
    expect(messageSeqs(api.framesTo(carols))).toEqual([2, 3]);
    for (const connectionId of r.all) expect(messageSeqs(api.framesTo(connectionId))).toEqual([1, 2, 3]);
  });
});
