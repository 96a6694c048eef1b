import { describe, expect, it } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import { context, frameEvent, loadChat, newTenant, openConnection, startConversation, T0, useChatTable, useConnectionsApi, type Caller, type Chat } from './harness';

const table = useChatTable();
const api = useConnectionsApi();

useFrozenDate(T0);

/** A conversation of alice and bob holding `count` messages, and alice's connection. */
async function history(count: number): Promise<{ chat: Chat; alice: Caller; conversationId: string; connectionId: string }> {
  const chat = await loadChat(table);
  const alice = { tenantId: newTenant(), userId: 'alice' };
  const conversationId = await startConversation(chat, alice, ['bob']);
  for (let seq = 0; seq < count; seq++) {
    await chat.store.appendMessage({ tenantId: alice.tenantId, conversationId }, { senderId: seq % 2 ? 'bob' : 'alice', clientMessageId: `m${seq + 1}`, body: `message ${seq + 1}` }, seq);
  }
  return { chat, alice, conversationId, connectionId: await openConnection(chat, alice) };
}

const syncFrame = (conversationId: string, afterSeq: number, limit?: number) => ({ action: 'sync', conversationId, afterSeq, ...(limit === undefined ? {} : { limit }) });

describe('sync', () => {
  it('answers the messages after afterSeq, oldest first, at most limit, with hasMore and lastSeq', async () => {
    // Prepare
    const { chat, alice, conversationId, connectionId } = await history(5);

    // Act
    await chat.sync(frameEvent(alice, connectionId, syncFrame(conversationId, 2, 2)), context);

    // Assess
    expect(api.framesTo(connectionId)).toEqual([
      {
        type: 'sync',
        conversationId,
        messages: [
          { conversationId, seq: 3, senderId: 'alice', clientMessageId: 'm3', body: 'message 3', sentAt: new Date(T0).toISOString() },
          { conversationId, seq: 4, senderId: 'bob', clientMessageId: 'm4', body: 'message 4', sentAt: new Date(T0).toISOString() },
        ],
        lastSeq: 5,
        hasMore: true,
      },
    ]);
  });

  it('pages to the end: hasMore turns false on the last page, and a client that is up to date gets nothing', async () => {
    // Prepare
    const { chat, alice, conversationId, connectionId } = await history(5);

    // Act
    for (const afterSeq of [0, 2, 4, 5]) await chat.sync(frameEvent(alice, connectionId, syncFrame(conversationId, afterSeq, 2)), context);
    await chat.sync(frameEvent(alice, connectionId, syncFrame(conversationId, 0)), context);

    // Assess
    const pages = api.framesTo(connectionId).map((frame) => ({ seqs: (frame['messages'] as { seq: number }[]).map((m) => m.seq), hasMore: frame['hasMore'], lastSeq: frame['lastSeq'] }));
    expect(pages).toEqual([
      { seqs: [1, 2], hasMore: true, lastSeq: 5 },
      { seqs: [3, 4], hasMore: true, lastSeq: 5 },
      { seqs: [5], hasMore: false, lastSeq: 5 },
      { seqs: [], hasMore: false, lastSeq: 5 },
      { seqs: [1, 2, 3, 4, 5], hasMore: false, lastSeq: 5 },
    ]);
  });

  it.each([
    ['a user who is not a member', (alice: Caller) => ({ tenantId: alice.tenantId, userId: 'dave' })],
    ["a member's namesake in another tenant", () => ({ tenantId: newTenant(), userId: 'alice' })],
  ])('refuses %s with a forbidden error frame', async (_, stranger) => {
    // Prepare
    const { chat, alice, conversationId } = await history(3);
    const caller = stranger(alice);
    const connectionId = await openConnection(chat, caller);

    // Act
    await chat.sync(frameEvent(caller, connectionId, syncFrame(conversationId, 0), 'req-sync'), context);

    // Assess
    expect(api.framesTo(connectionId)).toEqual([{ type: 'error', code: 'forbidden', message: `not a member of conversation ${conversationId}`, requestId: 'req-sync' }]);
  });

  it.each([
    ['a negative afterSeq', { afterSeq: -1 }, ['frame.afterSeq']],
    ['a fractional afterSeq', { afterSeq: 1.5 }, ['frame.afterSeq']],
    ['no afterSeq', { afterSeq: undefined }, ['frame.afterSeq']],
    ['a limit over 500', { afterSeq: 0, limit: 501 }, ['frame.limit']],
    ['a limit of 0', { afterSeq: 0, limit: 0 }, ['frame.limit']],
  ])('refuses a sync frame with %s: validation-failed naming the field', async (_, fields, named) => {
    // Prepare
    const { chat, alice, conversationId, connectionId } = await history(0);

    // Act
    await chat.sync(frameEvent(alice, connectionId, { action: 'sync', conversationId, ...fields }), context);

    // Assess
    const [refusal] = api.framesTo(connectionId);
    expect(refusal).toMatchObject({ type: 'error', code: 'validation-failed' });
    expect((refusal?.['errors'] as { field: string }[]).map((e) => e.field)).toEqual(named);
  });
});
