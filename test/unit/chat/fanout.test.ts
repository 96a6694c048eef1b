import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { describe, expect, it, vi } from 'vitest';
import { commandNames, connectionItem, messageSeqs, metaOf, storeRoom, T0, useChatTable, useConnectionsApi, type StoreRoom } from './harness';

const table = useChatTable();
const api = useConnectionsApi();

/** A clock that never reaches the baton's deadline: a fan-out waits for its predecessor however long it takes. */
const stopped = () => T0;

const room = () => storeRoom(table);

const pushedSeqOf = async ({ conversation }: StoreRoom) => (await metaOf(table, conversation.tenantId, conversation.conversationId))?.['pushedSeq'];

describe('fanOut', () => {
  it('pushes a message to every connection of every member, and to no one else', async () => {
    // Prepare
    const r = await room();
    const [m1] = await r.append(1);

    // Act
    const result = await r.chat.fanout.fanOut(r.conversation, m1!, stopped);

    // Assess
    expect(result).toEqual({ delivered: 5, pruned: 0 });
    expect(api.delivered().map((posted) => posted.connectionId).sort()).toEqual([...r.all].sort());
    for (const connectionId of r.all) expect(api.framesTo(connectionId)).toEqual([{ type: 'message', ...m1 }]);
    expect(await pushedSeqOf(r)).toBe(1);
  });

  it('pushes in seq order to every connection when the fan-outs of 3, 2 and 1 start at once, in that order', async () => {
    // Prepare
    const r = await room();
    const [m1, m2, m3] = await r.append(3);

    // Act
    const results = await Promise.all([m3!, m2!, m1!].map((message) => r.chat.fanout.fanOut(r.conversation, message, stopped)));

    // Assess
    expect(results).toEqual([5, 5, 5].map((delivered) => ({ delivered, pruned: 0 })));
    for (const connectionId of r.all) expect(messageSeqs(api.framesTo(connectionId))).toEqual([1, 2, 3]);
    expect(await pushedSeqOf(r)).toBe(3);
  });

  it('pushes nothing for a message whose seq was already pushed', async () => {
    // Prepare
    const r = await room();
    const [m1] = await r.append(1);
    await r.chat.fanout.fanOut(r.conversation, m1!, stopped);
    const before = api.delivered().length;

    // Act
    const again = await r.chat.fanout.fanOut(r.conversation, m1!, stopped);

    // Assess
    expect(again).toEqual({ delivered: 0, pruned: 0 });
    expect(api.delivered()).toHaveLength(before);
  });

  it('prunes a connection that answers 410, and the others still get every message', async () => {
    // Prepare
    const r = await room();
    const [m1, m2] = await r.append(2);
    const [goneOne, stillThere] = r.connections.bob;
    api.markGone(goneOne!);

    // Act
    const first = await r.chat.fanout.fanOut(r.conversation, m1!, stopped);
    const second = await r.chat.fanout.fanOut(r.conversation, m2!, stopped);

    // Assess
    expect(first).toEqual({ delivered: 4, pruned: 1 });
    expect(second).toEqual({ delivered: 4, pruned: 0 });
    expect(await connectionItem(table, r.user('bob'), goneOne!)).toBeUndefined();
    expect(await connectionItem(table, r.user('bob'), stillThere!)).toBeDefined();
    expect(api.attemptsTo(goneOne!)).toBe(1);
    for (const connectionId of r.all.filter((c) => c !== goneOne)) expect(messageSeqs(api.framesTo(connectionId))).toEqual([1, 2]);
  });

  it('retries a post that failed with something other than 410', async () => {
    // Prepare
    const r = await room();
    const [m1] = await r.append(1);
    const [flaky] = r.connections.carol;
    api.failNext(flaky!, 2);

    // Act
    const result = await r.chat.fanout.fanOut(r.conversation, m1!, stopped);

    // Assess
    expect(result).toEqual({ delivered: 5, pruned: 0 });
    expect(api.attemptsTo(flaky!)).toBe(3);
    expect(api.framesTo(flaky!)).toEqual([{ type: 'message', ...m1 }]);
    expect(await connectionItem(table, r.user('carol'), flaky!)).toBeDefined();
  });

  it('gives up on a connection after three failed posts without pruning it, and moves on', async () => {
    // Prepare
    const r = await room();
    const [m1] = await r.append(1);
    const [broken] = r.connections.carol;
    api.failNext(broken!, 3);

    // Act
    await r.chat.fanout.fanOut(r.conversation, m1!, stopped);

    // Assess: the client catches up with sync; the others got it; the baton moved on.
    expect(api.attemptsTo(broken!)).toBe(3);
    expect(api.framesTo(broken!)).toEqual([]);
    expect(await connectionItem(table, r.user('carol'), broken!)).toBeDefined();
    for (const connectionId of r.all.filter((c) => c !== broken)) expect(messageSeqs(api.framesTo(connectionId))).toEqual([1]);
    expect(await pushedSeqOf(r)).toBe(1);
  });

  it('takes the baton over after 3 s when its predecessors never push: every missing message, in order, then pushedSeq', async () => {
    // Prepare: 1 was pushed; the instances that stored 2 and 3 died before pushing. Each reading of
    // the injected clock moves it 250 ms on, so the 3 s pass without the test waiting for them.
    const r = await room();
    const [m1] = await r.append(1);
    await r.chat.fanout.fanOut(r.conversation, m1!, stopped);
    const [, , m4] = await r.append(3);
    let now = T0;
    const clock = () => (now += 250);
    let firstPostAt: number | undefined;
    api.onPost(() => {
      firstPostAt ??= now;
    });

    // Act
    const result = await r.chat.fanout.fanOut(r.conversation, m4!, clock);

    // Assess
    expect(result).toEqual({ delivered: 15, pruned: 0 });
    expect(firstPostAt! - T0).toBeGreaterThanOrEqual(3_000);
    for (const connectionId of r.all) expect(messageSeqs(api.framesTo(connectionId))).toEqual([1, 2, 3, 4]);
    expect(await pushedSeqOf(r)).toBe(4);
  });

  it('waits behind a long line of predecessors that keep pushing, however long it takes, and takes nothing over', async () => {
    // Prepare: 1 and 2 stored and not pushed yet; the baton moves 0 -> 1 -> 2, ten readings
    // apart, while each reading of the clock moves it 250 ms on: 7.5 s in all, but never 3 s
    // without progress.
    const r = await room();
    const [, , m3] = await r.append(3);
    const readings = [...Array(10).fill(0), ...Array(10).fill(1), ...Array(10).fill(2)] as number[];
    const send = r.chat.documentClient.send.bind(r.chat.documentClient);
    vi.spyOn(r.chat.documentClient, 'send').mockImplementation(((command: { input?: { ProjectionExpression?: string } }) =>
      command.input?.ProjectionExpression === 'pushedSeq' && readings.length
        ? Promise.resolve({ Item: { pushedSeq: readings.shift() } })
        : send(command as never)) as never);
    let now = T0;

    // Act
    const result = await r.chat.fanout.fanOut(r.conversation, m3!, () => (now += 250));

    // Assess: only its own message, at the first reading of 2.
    expect(readings).toHaveLength(9);
    expect(now - T0).toBeGreaterThan(3_000);
    expect(result).toEqual({ delivered: 5, pruned: 0 });
    for (const connectionId of r.all) expect(messageSeqs(api.framesTo(connectionId))).toEqual([3]);
  });

  it('hands the baton on past a takeover though the instance it took over from finishes meanwhile', async () => {
    // Prepare: 1, 2 and 3 stored. The instance of 1 stalls on its posts; the instance of 2 takes
    // over (pushing 1 and 2), and just before it hands the baton on, the instance of 1 finishes.
    const r = await room();
    const [m1, m2, m3] = await r.append(3);
    let resumeFirst!: () => void;
    const firstStalled = new Promise<void>((resolve) => (resumeFirst = resolve));
    let stallFirst = true;
    let first: Promise<unknown> | undefined;
    let secondPostsOf2 = 0;
    api.onPost(async (_, frame) => {
      if (stallFirst) return firstStalled;
      if (frame['seq'] === 2 && ++secondPostsOf2 === r.all.length) {
        resumeFirst();
        await first;
      }
    });
    first = r.chat.fanout.fanOut(r.conversation, m1!, stopped);
    await vi.waitFor(() => expect(api.mock.commandCalls(PostToConnectionCommand)).toHaveLength(r.all.length));
    stallFirst = false;
    let now = T0;

    // Act
    await r.chat.fanout.fanOut(r.conversation, m2!, () => (now += 250));

    // Assess: 2 was pushed, so the baton says so, and 3 goes out at once. Clients drop the second 1.
    expect(await pushedSeqOf(r)).toBe(2);
    expect(await r.chat.fanout.fanOut(r.conversation, m3!, stopped)).toEqual({ delivered: 5, pruned: 0 });
    for (const connectionId of r.all) expect([...new Set(messageSeqs(api.framesTo(connectionId)))]).toEqual([1, 2, 3]);
    expect(await pushedSeqOf(r)).toBe(3);
  });

  it('lets a predecessor that comes back after a takeover push nothing more', async () => {
    // Prepare
    const r = await room();
    const [m1, m2, m3] = await r.append(3);
    let now = T0;
    await r.chat.fanout.fanOut(r.conversation, m3!, () => (now += 250));
    const before = api.delivered().length;

    // Act
    const late = await Promise.all([m1!, m2!].map((message) => r.chat.fanout.fanOut(r.conversation, message, stopped)));

    // Assess
    expect(before).toBe(15);
    expect(late).toEqual([
      { delivered: 0, pruned: 0 },
      { delivered: 0, pruned: 0 },
    ]);
    expect(api.delivered()).toHaveLength(before);
    expect(await pushedSeqOf(r)).toBe(3);
  });

  it('pushes at once, without reading the baton or the messages, when the sequencer handed it the baton just now', async () => {
    // Prepare
    const r = await room();
    const [m1] = await r.append(1);
    const send = vi.spyOn(r.chat.documentClient, 'send');

    // Act
    const result = await r.chat.fanout.fanOut(r.conversation, m1!, stopped, { batonSince: T0 });

    // Assess
    expect(result).toEqual({ delivered: 5, pruned: 0 });
    for (const connectionId of r.all) expect(api.framesTo(connectionId)).toEqual([{ type: 'message', ...m1 }]);
    expect(await pushedSeqOf(r)).toBe(1);
    const sent = commandNames(send);
    expect(sent).not.toContain('GetCommand');
    expect(sent).not.toContain('QueryCommand');
  });

  it('pushes to the connections the caller read with the baton, without reading them again', async () => {
    // Prepare: the caller read bob's phone only.
    const r = await room();
    const [m1] = await r.append(1);
    const [bobsPhone] = r.connections.bob;
    const send = vi.spyOn(r.chat.documentClient, 'send');

    // Act
    const result = await r.chat.fanout.fanOut(r.conversation, m1!, stopped, { batonSince: T0, connections: [{ userId: 'bob', connectionId: bobsPhone! }] });

    // Assess
    expect(result).toEqual({ delivered: 1, pruned: 0 });
    expect(api.delivered()).toEqual([{ connectionId: bobsPhone, frame: { type: 'message', ...m1 } }]);
    expect(commandNames(send)).toEqual(['UpdateCommand']);
    expect(await pushedSeqOf(r)).toBe(1);
  });

  it('reads the baton instead of trusting one handed over 1.5 s ago or more: a predecessor back after a takeover pushes nothing', async () => {
    // Prepare
    const r = await room();
    const [m1, m2, m3] = await r.append(3);
    let now = T0;
    await r.chat.fanout.fanOut(r.conversation, m3!, () => (now += 250));
    const before = api.delivered().length;
    const send = vi.spyOn(r.chat.documentClient, 'send');

    // Act
    const late = await Promise.all([m1!, m2!].map((message) => r.chat.fanout.fanOut(r.conversation, message, () => T0 + 1_500, { batonSince: T0 })));

    // Assess
    expect(before).toBe(15);
    expect(late).toEqual([
      { delivered: 0, pruned: 0 },
      { delivered: 0, pruned: 0 },
    ]);
    expect(api.delivered()).toHaveLength(before);
    expect(commandNames(send)).toContain('GetCommand');
    expect(await pushedSeqOf(r)).toBe(3);
  });
});
