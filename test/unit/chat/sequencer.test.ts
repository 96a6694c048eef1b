import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import { conversationItems, loadChat, metaOf, newTenant, storedSeqs, T0, upTo, useChatTable, type Chat } from './harness';

const table = useChatTable();

useFrozenDate(T0);

/** A conversation of alice and bob in a tenant of its own, made through the store. */
async function newConversation(chat: Chat): Promise<{ tenantId: string; conversationId: string }> {
  const tenantId = newTenant();
  const conversationId = `conv-${Math.random().toString(36).slice(2, 10)}`;
  await chat.store.createConversation({ conversationId, tenantId, title: null, memberIds: ['alice', 'bob'], createdAt: new Date(T0).toISOString(), createdBy: 'alice' });
  return { tenantId, conversationId };
}

/** Rewrites a conversation's member list behind the store's back (as another instance would). */
const setMembers = (conversation: { tenantId: string; conversationId: string }, memberIds: string[]) =>
  table.client.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: { pk: `C#${conversation.tenantId}#${conversation.conversationId}`, sk: 'meta' },
      UpdateExpression: 'SET memberIds = :members',
      ExpressionAttributeValues: { ':members': memberIds },
    }),
  );

const message = (clientMessageId: string, senderId = 'alice', body = `body of ${clientMessageId}`) => ({ senderId, clientMessageId, body });

describe('appendMessage (the sequencer)', () => {
  it('gives sequential appends seqs 1, 2 and 3 and stores each under its seq', async () => {
    // Prepare
    const chat = await loadChat(table);
    const conversation = await newConversation(chat);

    // Act
    const outcomes = [];
    for (const [i, id] of ['m1', 'm2', 'm3'].entries()) outcomes.push(await chat.store.appendMessage(conversation, message(id), i));

    // Assess
    expect(outcomes.map((o) => (o.kind === 'stored' ? o.message.seq : o.kind))).toEqual([1, 2, 3]);
    expect(await chat.store.readMessages(conversation.tenantId, conversation.conversationId, { afterSeq: 0, limit: 100 })).toEqual(
      ['m1', 'm2', 'm3'].map((id, i) => ({
        conversationId: conversation.conversationId,
        seq: i + 1,
        senderId: 'alice',
        clientMessageId: id,
        body: `body of ${id}`,
        sentAt: new Date(T0).toISOString(),
      })),
    );
    expect(await metaOf(table, conversation.tenantId, conversation.conversationId)).toMatchObject({ lastSeq: 3, pushedSeq: 0 });
  });

  it('gives 30 concurrent appends to one conversation the seqs 1..30, each stored under the seq it was given', async () => {
    // Prepare: every sender read lastSeq 0 before any of them wrote.
    const chat = await loadChat(table);
    const conversation = await newConversation(chat);

    // Act
    const outcomes = await Promise.all(upTo(30).map((i) => chat.store.appendMessage(conversation, message(`c${i}`, i % 2 ? 'alice' : 'bob'), 0)));

    // Assess
    const given = outcomes.map((o) => {
      if (o.kind !== 'stored') throw new Error(`an append came back ${o.kind}`);
      return o.message;
    });
    expect(given.map((m) => m.seq).sort((a, b) => a - b)).toEqual(upTo(30));
    expect((await metaOf(table, conversation.tenantId, conversation.conversationId))?.['lastSeq']).toBe(30);
    expect(await storedSeqs(table, conversation.tenantId, conversation.conversationId)).toEqual(upTo(30));
    const stored = await chat.store.readMessages(conversation.tenantId, conversation.conversationId, { afterSeq: 0, limit: 100 });
    expect(Object.fromEntries(stored.map((m) => [m.seq, m.clientMessageId]))).toEqual(Object.fromEntries(given.map((m) => [m.seq, m.clientMessageId])));
  }, 60_000);

  it.each([
    ['the current lastSeq', 1],
    ['a stale lastSeq', 0],
  ])('answers a repeated clientMessageId of the same sender, given %s, with the original seq and stores nothing more', async (_, hint) => {
    // Prepare
    const chat = await loadChat(table);
    const conversation = await newConversation(chat);
    const first = await chat.store.appendMessage(conversation, message('retry-me', 'alice', 'hello'), 0);

    // Act: the retry comes a minute later, with another body.
    const again = await chat.store.appendMessage(conversation, message('retry-me', 'alice', 'hello, edited'), hint, () => new Date(T0 + 60_000));

    // Assess
    expect(first).toMatchObject({ kind: 'stored', message: { seq: 1 } });
    expect(again).toEqual({ kind: 'duplicate', seq: 1, sentAt: new Date(T0).toISOString() });
    expect(await storedSeqs(table, conversation.tenantId, conversation.conversationId)).toEqual([1]);
    expect((await chat.store.readMessages(conversation.tenantId, conversation.conversationId, { afterSeq: 0, limit: 10 }))[0]?.body).toBe('hello');
    expect(await conversationItems(table, conversation.tenantId, conversation.conversationId, 'cmid#')).toHaveLength(1);
    expect((await metaOf(table, conversation.tenantId, conversation.conversationId))?.['lastSeq']).toBe(1);
  });

  it('stores one message when the same clientMessageId is sent five times at once, and gives all five its seq', async () => {
    // Prepare
    const chat = await loadChat(table);
    const conversation = await newConversation(chat);

    // Act
    const outcomes = await Promise.all(upTo(5).map(() => chat.store.appendMessage(conversation, message('storm'), 0)));

    // Assess
    expect(outcomes.filter((o) => o.kind === 'stored')).toHaveLength(1);
    expect(outcomes.map((o) => (o.kind === 'stored' ? o.message.seq : o.kind === 'duplicate' ? o.seq : o.kind))).toEqual([1, 1, 1, 1, 1]);
    expect(await storedSeqs(table, conversation.tenantId, conversation.conversationId)).toEqual([1]);
  });

  it('takes the same clientMessageId from another sender for a new message', async () => {
    // Prepare
    const chat = await loadChat(table);
    const conversation = await newConversation(chat);
    await chat.store.appendMessage(conversation, message('same-id', 'alice'), 0);

    // Act
    const fromBob = await chat.store.appendMessage(conversation, message('same-id', 'bob'), 1);

    // Assess
    expect(fromBob).toMatchObject({ kind: 'stored', message: { seq: 2, senderId: 'bob', clientMessageId: 'same-id' } });
    expect(await storedSeqs(table, conversation.tenantId, conversation.conversationId)).toEqual([1, 2]);
  });

  it.each([
    ['behind', 0],
    ['ahead of', 10],
  ])('lands on the next seq when the lastSeq hint is %s the conversation', async (_, hint) => {
    // Prepare
    const chat = await loadChat(table);
    const conversation = await newConversation(chat);
    for (let seq = 0; seq < 3; seq++) await chat.store.appendMessage(conversation, message(`m${seq}`), seq);

    // Act
    const outcome = await chat.store.appendMessage(conversation, message('late'), hint);

    // Assess
    expect(outcome).toMatchObject({ kind: 'stored', message: { seq: 4, clientMessageId: 'late' } });
    expect(await storedSeqs(table, conversation.tenantId, conversation.conversationId)).toEqual([1, 2, 3, 4]);
    expect((await metaOf(table, conversation.tenantId, conversation.conversationId))?.['lastSeq']).toBe(4);
  });

  it('checks the members the caller gave at the commit: changed ones come back with the stored message, from the failed condition', async () => {
    // Prepare: the caller knows alice and bob; carol joined since.
    const chat = await loadChat(table);
    const conversation = await newConversation(chat);
    await setMembers(conversation, ['alice', 'bob', 'carol']);

    // Act
    const outcome = await chat.store.appendMessage({ ...conversation, memberIds: ['alice', 'bob'] }, message('m1'), 0);

    // Assess
    expect(outcome).toMatchObject({ kind: 'stored', message: { seq: 1 }, memberIds: ['alice', 'bob', 'carol'] });
    expect(await storedSeqs(table, conversation.tenantId, conversation.conversationId)).toEqual([1]);
  });

  it('answers not-member, storing nothing, when the sender left the members the caller gave', async () => {
    // Prepare: the caller still thinks bob is a member.
    const chat = await loadChat(table);
    const conversation = await newConversation(chat);
    await setMembers(conversation, ['alice']);

    // Act
    const outcome = await chat.store.appendMessage({ ...conversation, memberIds: ['alice', 'bob'] }, message('m1', 'bob'), 0);

    // Assess
    expect(outcome).toEqual({ kind: 'not-member' });
    expect(await conversationItems(table, conversation.tenantId, conversation.conversationId, 'msg#')).toEqual([]);
    expect((await metaOf(table, conversation.tenantId, conversation.conversationId))?.['lastSeq']).toBe(0);
  });

  it.each([
    ['everything up to lastSeq was pushed', 2, { batonSince: T0 }],
    ['a fan-out is still in flight', 1, {}],
  ])('hands the caller the fan-out baton only when the commit found that %s', async (_, pushedSeq, expected) => {
    // Prepare: two messages stored; the snapshot says both were pushed.
    const chat = await loadChat(table);
    const conversation = await newConversation(chat);
    for (let seq = 0; seq < 2; seq++) await chat.store.appendMessage(conversation, message(`m${seq + 1}`), seq);
    await chat.store.advancePushed(conversation.tenantId, conversation.conversationId, pushedSeq);

    // Act
    const outcome = await chat.store.appendMessage({ ...conversation, memberIds: ['alice', 'bob'], pushedSeq: 2 }, message('m3'), 2);

    // Assess
    expect(outcome.kind).toBe('stored');
    expect({ batonSince: (outcome as { batonSince?: number }).batonSince }).toEqual({ batonSince: undefined, ...expected });
    expect(await storedSeqs(table, conversation.tenantId, conversation.conversationId)).toEqual([1, 2, 3]);
  });

  it('refuses a conversation that does not exist, storing nothing', async () => {
    // Prepare
    const chat = await loadChat(table);
    const tenantId = newTenant();

    // Act
    const appending = chat.store.appendMessage({ tenantId, conversationId: 'nowhere' }, message('m1'), 0);

    // Assess
    await expect(appending).rejects.toThrow('conversation nowhere vanished while a message was being stored');
    expect(await conversationItems(table, tenantId, 'nowhere')).toEqual([]);
  });
});

describe('readMessages', () => {
  it('never shows a gap: every read during 30 concurrent appends sees exactly 1..n', async () => {
    // Prepare
    const chat = await loadChat(table);
    const conversation = await newConversation(chat);
    let appending = true;

    // Act: read as fast as possible until every append is done, then once more.
    const appends = Promise.all(upTo(30).map((i) => chat.store.appendMessage(conversation, message(`g${i}`), 0))).finally(() => {
      appending = false;
    });
    const snapshots: number[][] = [];
    while (appending) snapshots.push((await chat.store.readMessages(conversation.tenantId, conversation.conversationId, { afterSeq: 0, limit: 100 })).map((m) => m.seq));
    await appends;
    snapshots.push((await chat.store.readMessages(conversation.tenantId, conversation.conversationId, { afterSeq: 0, limit: 100 })).map((m) => m.seq));

    // Assess
    for (const seqs of snapshots) expect(seqs).toEqual(upTo(seqs.length));
    expect(snapshots.at(-1)).toEqual(upTo(30));
  }, 60_000);

  it('reads the seqs after afterSeq and before beforeSeq, oldest first, at most limit', async () => {
    // Prepare
    const chat = await loadChat(table);
    const { tenantId, conversationId } = await newConversation(chat);
    for (let seq = 0; seq < 6; seq++) await chat.store.appendMessage({ tenantId, conversationId }, message(`m${seq + 1}`), seq);
    const read = async (range: { afterSeq: number; beforeSeq?: number; limit: number }) => (await chat.store.readMessages(tenantId, conversationId, range)).map((m) => m.seq);

    // Act
    const pages = {
      all: await read({ afterSeq: 0, limit: 100 }),
      after: await read({ afterSeq: 4, limit: 100 }),
      window: await read({ afterSeq: 1, beforeSeq: 5, limit: 100 }),
      limited: await read({ afterSeq: 1, beforeSeq: 5, limit: 2 }),
      empty: await read({ afterSeq: 3, beforeSeq: 4, limit: 100 }),
      inverted: await read({ afterSeq: 5, beforeSeq: 2, limit: 100 }),
      beyond: await read({ afterSeq: 6, limit: 100 }),
    };

    // Assess
    expect(pages).toEqual({ all: [1, 2, 3, 4, 5, 6], after: [5, 6], window: [2, 3, 4], limited: [2, 3], empty: [], inverted: [], beyond: [] });
  });
});
