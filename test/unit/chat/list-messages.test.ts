import { describe, expect, it } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import { bodyOf, context, listMessagesEvent, loadChat, newTenant, problemOf, startConversation, T0, useChatTable, type Caller, type Chat } from './harness';

const table = useChatTable();

useFrozenDate(T0);

/** A conversation of alice and bob holding `count` messages. */
async function history(count: number): Promise<{ chat: Chat; alice: Caller; bob: Caller; conversationId: string }> {
  const chat = await loadChat(table);
  const alice = { tenantId: newTenant(), userId: 'alice' };
  const conversationId = await startConversation(chat, alice, ['bob']);
  for (let seq = 0; seq < count; seq++) {
    await chat.store.appendMessage({ tenantId: alice.tenantId, conversationId }, { senderId: 'alice', clientMessageId: `m${seq + 1}`, body: `message ${seq + 1}` }, seq);
  }
  return { chat, alice, bob: { tenantId: alice.tenantId, userId: 'bob' }, conversationId };
}

interface Page {
  messages: { seq: number }[];
  lastSeq: number;
  hasMore: boolean;
}

describe('GET /v1/conversations/{conversationId}/messages (list-messages handler)', () => {
  it('answers a member with the messages, oldest first, and the conversation lastSeq', async () => {
    // Prepare
    const { chat, bob, conversationId } = await history(3);

    // Act
    const result = await chat.listMessages(listMessagesEvent(bob, conversationId), context);

    // Assess
    expect(result.statusCode, result.body).toBe(200);
    expect(bodyOf(result)).toEqual({
      messages: [1, 2, 3].map((seq) => ({ conversationId, seq, senderId: 'alice', clientMessageId: `m${seq}`, body: `message ${seq}`, sentAt: new Date(T0).toISOString() })),
      lastSeq: 3,
      hasMore: false,
    });
  });

  it.each([
    ['limit 2', { limit: '2' }, [1, 2], true],
    ['the next page, afterSeq 2', { afterSeq: '2', limit: '2' }, [3, 4], true],
    ['the last page, afterSeq 4', { afterSeq: '4', limit: '2' }, [5], false],
    ['past the end', { afterSeq: '5' }, [], false],
    ['beforeSeq 4', { beforeSeq: '4' }, [1, 2, 3], false],
    ['afterSeq 1 and beforeSeq 5, limit 2', { afterSeq: '1', beforeSeq: '5', limit: '2' }, [2, 3], true],
    ['afterSeq 1 and beforeSeq 4, limit 2: the window holds no more', { afterSeq: '1', beforeSeq: '4', limit: '2' }, [2, 3], false],
    ['an empty window', { afterSeq: '3', beforeSeq: '4' }, [], false],
  ])('pages with %s', async (_, query, seqs, hasMore) => {
    // Prepare
    const { chat, alice, conversationId } = await history(5);

    // Act
    const result = await chat.listMessages(listMessagesEvent(alice, conversationId, query), context);

    // Assess
    expect(result.statusCode, result.body).toBe(200);
    const page = bodyOf<Page>(result);
    expect({ seqs: page.messages.map((m) => m.seq), hasMore: page.hasMore, lastSeq: page.lastSeq }).toEqual({ seqs, hasMore, lastSeq: 5 });
  });

  it.each([
    ['a user who is not a member', (alice: Caller) => ({ tenantId: alice.tenantId, userId: 'dave' })],
    ["a member's namesake in another tenant", () => ({ tenantId: newTenant(), userId: 'alice' })],
  ])('answers %s with 404, as for a conversation that does not exist', async (_, stranger) => {
    // Prepare
    const { chat, alice, conversationId } = await history(2);

    // Act
    const result = await chat.listMessages(listMessagesEvent(stranger(alice), conversationId), context);
    const unknown = await chat.listMessages(listMessagesEvent(alice, 'no-such-conversation'), context);

    // Assess
    expect(problemOf(result, 404)).toMatchObject({ type: 'urn:switchyard:problem:not-found', detail: `no conversation ${conversationId}` });
    expect(problemOf(unknown, 404)['detail']).toBe('no conversation no-such-conversation');
  });

  it.each([
    ['limit 0', { limit: '0' }, 'query.limit'],
    ['limit 501', { limit: '501' }, 'query.limit'],
    ['a negative afterSeq', { afterSeq: '-1' }, 'query.afterSeq'],
    ['a beforeSeq that is not a number', { beforeSeq: 'soon' }, 'query.beforeSeq'],
    ['an unknown parameter', { after: '2' }, 'query'],
  ])('refuses %s with 400 naming the parameter', async (_, query, field) => {
    // Prepare
    const { chat, alice, conversationId } = await history(0);

    // Act
    const result = await chat.listMessages(listMessagesEvent(alice, conversationId, query), context);

    // Assess
    expect((problemOf(result, 400)['errors'] as { field: string }[]).map((v) => v.field)).toEqual([field]);
  });

  it('refuses a conversation id outside its alphabet with 400 naming path.conversationId', async () => {
    // Prepare
    const { chat, alice } = await history(0);

    // Act
    const result = await chat.listMessages(listMessagesEvent(alice, 'a.b'), context);

    // Assess
    expect((problemOf(result, 400)['errors'] as { field: string }[]).map((v) => v.field)).toEqual(['path.conversationId']);
  });

  it('refuses a caller without the chat:read scope with 403', async () => {
    // Prepare
    const { chat, alice, conversationId } = await history(1);

    // Act
    const result = await chat.listMessages(listMessagesEvent({ ...alice, scopes: 'chat:write' }, conversationId), context);

    // Assess
    expect(problemOf(result, 403)).toBeDefined();
  });
});
