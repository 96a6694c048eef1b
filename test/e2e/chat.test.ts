import { randomUUID } from 'node:crypto';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { ServerFrameSchemas } from '../../functions/chat/frames';
import { connect, e2eTarget, uniqueTenant } from './support';

const target = e2eTarget();
const url = (path: string) => new URL(path, target.restUrl).toString();

type Frame = Record<string, unknown> & { type: string };

/** A chat client: one WebSocket, every frame it received, and helpers to wait for some. */
async function client(tenant: string, user: string, device: string) {
  const token = await target.token(user, tenant, ['chat:read', 'chat:write']);
  const socket: WebSocket = await connect(`${target.webSocketUrl}?token=${token}&device=${device}`);
  const frames: Frame[] = [];
  /** Frames that break their documented schema (lib/chat/README.md): there must be none. */
  const offSchema: unknown[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame;
    const schema = ServerFrameSchemas[frame.type as keyof typeof ServerFrameSchemas];
    if (!schema?.safeParse(frame).success) offSchema.push(frame);
    frames.push(frame);
  });
  const waitFor = async (done: (frames: Frame[]) => boolean, deadlineMs = 20_000) => {
    const deadline = Date.now() + deadlineMs;
    while (!done(frames) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    return frames;
  };
  return {
    socket,
    frames,
    offSchema,
    token,
    send: (frame: Record<string, unknown>) => socket.send(JSON.stringify(frame)),
    messages: (conversationId: string) => frames.filter((f) => f.type === 'message' && f['conversationId'] === conversationId),
    waitFor,
    /** The next frame of `type` received after this call. */
    next: async (type: string) => {
      const seen = frames.length;
      const got = await waitFor((all) => all.slice(seen).some((f) => f.type === type));
      return got.slice(seen).find((f) => f.type === type);
    },
  };
}

async function conversation(tenant: string, creator: string, members: string[]): Promise<string> {
  const token = await target.token(creator, tenant, ['chat:read', 'chat:write']);
  const response = await fetch(url('v1/conversations'), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ memberIds: members, title: 'e2e' }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { conversationId: string }).conversationId;
}

const seqsOf = (frames: Frame[]) => frames.map((f) => f['seq'] as number);

/**
 * The connection registry, read and written through the AWS endpoint (the chat table of the
 * data stack): to plant a connection whose $disconnect never came, and to see what is left.
 */
async function chatRegistry() {
  const dynamo = DynamoDBDocumentClient.from(
    new DynamoDBClient(target.awsEndpoint ? { endpoint: target.awsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  );
  const tables = (await dynamo.send(new ListTablesCommand({}))).TableNames ?? [];
  const TableName = tables.find((name) => /-data-Chat[0-9A-F]{8}$/.test(name));
  if (!TableName) throw new Error(`no chat table among ${tables.join(', ')}`);
  const Key = (tenant: string, user: string) => ({ pk: `U#${tenant}#${user}`, sk: 'connections' });
  return {
    add: (tenant: string, user: string, connectionId: string) =>
      dynamo.send(
        new UpdateCommand({
          TableName,
          Key: Key(tenant, user),
          UpdateExpression: 'SET #conn = :conn',
          ExpressionAttributeNames: { '#conn': `conn:${connectionId}` },
          ExpressionAttributeValues: { ':conn': { device: 'ghost', connectedAt: new Date().toISOString(), expiresAt: Math.floor(Date.now() / 1000) + 3600 } },
        }),
      ),
    devicesOf: async (tenant: string, user: string) => {
      const answer = await dynamo.send(new GetCommand({ TableName, Key: Key(tenant, user), ConsistentRead: true }));
      return Object.entries(answer.Item ?? {})
        .filter(([name]) => name.startsWith('conn:'))
        .map(([, entry]) => (entry as { device: string }).device)
        .sort();
    },
  };
}

describe('chat over WebSocket, end to end', () => {
  it('delivers 100 messages from three senders to every connection once, in seq order, without gaps', async () => {
    // Prepare: two users, three connections (alice on two devices).
    const tenant = uniqueTenant('chat');
    const conversationId = await conversation(tenant, 'alice', ['bob']);
    const clients = [await client(tenant, 'alice', 'phone'), await client(tenant, 'alice', 'laptop'), await client(tenant, 'bob', 'phone')];

    // Act: 100 sends, concurrently, spread over the three connections.
    for (let i = 0; i < 100; i++) clients[i % 3]!.send({ action: 'send', conversationId, clientMessageId: `m-${i}`, body: `message ${i}` });
    await Promise.all(clients.map((c) => c.waitFor(() => c.messages(conversationId).length >= 100, 60_000)));

    // Assess
    for (const c of clients) {
      expect(seqsOf(c.messages(conversationId))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(c.frames.filter((f) => f.type === 'error')).toEqual([]);
      expect(c.offSchema).toEqual([]);
    }
    const acks = clients.flatMap((c) => c.frames.filter((f) => f.type === 'ack'));
    expect(acks).toHaveLength(100);
    expect(new Set(acks.map((a) => a['seq'])).size).toBe(100);
    for (const c of clients) c.socket.close();
  }, 90_000);

  it('fans a large conversation out through the FIFO queue, still once and in seq order', async () => {
    // Prepare: 21 members (the dev stage queues the fan-out above 20); three of them connected.
    const tenant = uniqueTenant('chat');
    const others = Array.from({ length: 19 }, (_, i) => `member-${i}`);
    const conversationId = await conversation(tenant, 'alice', ['bob', ...others]);
    const clients = [await client(tenant, 'alice', 'phone'), await client(tenant, 'bob', 'phone'), await client(tenant, 'member-0', 'laptop')];

    // Act
    for (let i = 0; i < 30; i++) clients[i % 3]!.send({ action: 'send', conversationId, clientMessageId: `q-${i}`, body: `queued ${i}` });
    await Promise.all(clients.map((c) => c.waitFor(() => c.messages(conversationId).length >= 30, 60_000)));

    // Assess
    for (const c of clients) expect(seqsOf(c.messages(conversationId))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    for (const c of clients) c.socket.close();
  }, 90_000);

  it('gives a reconnecting client exactly the messages it missed through sync', async () => {
    // Prepare
    const tenant = uniqueTenant('chat');
    const conversationId = await conversation(tenant, 'alice', ['bob']);
    const alice = await client(tenant, 'alice', 'phone');
    let bob = await client(tenant, 'bob', 'phone');
    for (let i = 0; i < 3; i++) alice.send({ action: 'send', conversationId, clientMessageId: `before-${i}`, body: `before ${i}` });
    await bob.waitFor(() => bob.messages(conversationId).length >= 3);
    const lastSeen = Math.max(...seqsOf(bob.messages(conversationId)));

    // Act: bob drops; alice sends 5 more; bob comes back and asks for what he missed.
    bob.socket.close();
    for (let i = 0; i < 5; i++) alice.send({ action: 'send', conversationId, clientMessageId: `missed-${i}`, body: `missed ${i}` });
    await alice.waitFor(() => alice.messages(conversationId).length >= 8);
    bob = await client(tenant, 'bob', 'phone');
    const pending = bob.next('sync');
    bob.send({ action: 'sync', conversationId, afterSeq: lastSeen });
    const sync = (await pending) as unknown as { messages: { seq: number; body: string }[]; lastSeq: number; hasMore: boolean };

    // Assess
    expect(lastSeen).toBe(3);
    expect(sync.messages.map((m) => m.seq)).toEqual([4, 5, 6, 7, 8]);
    // Concurrent sends are sequenced in the order they are handled, not the order they were sent.
    expect(sync.messages.map((m) => m.body).sort()).toEqual(['missed 0', 'missed 1', 'missed 2', 'missed 3', 'missed 4']);
    expect(sync).toMatchObject({ lastSeq: 8, hasMore: false });
    expect([...alice.offSchema, ...bob.offSchema]).toEqual([]);
    alice.socket.close();
    bob.socket.close();
  });

  it('prunes a connection whose socket died without a close frame at the next fan-out', async () => {
    // Prepare: bob's tablet drops its TCP connection without a close frame, and the registry
    // still lists a connection of his whose $disconnect never came (API Gateway delivers it on a
    // best-effort basis): the fan-out meets a 410 there.
    const tenant = uniqueTenant('chat');
    const conversationId = await conversation(tenant, 'alice', ['bob']);
    const alice = await client(tenant, 'alice', 'phone');
    const bob = await client(tenant, 'bob', 'phone');
    const doomed = await client(tenant, 'bob', 'tablet');
    (doomed.socket as unknown as { _socket: { destroy(): void } })._socket.destroy();
    const registry = await chatRegistry();
    const stale = 'c3RhbGUtY29ubmVjdGlvbg=';
    await registry.add(tenant, 'bob', stale);

    // Act: two messages; the first fan-out meets the dead connection.
    alice.send({ action: 'send', conversationId, clientMessageId: 'a', body: 'first' });
    await bob.waitFor(() => bob.messages(conversationId).length >= 1);
    alice.send({ action: 'send', conversationId, clientMessageId: 'b', body: 'second' });
    await bob.waitFor(() => bob.messages(conversationId).length >= 2);

    // Assess: both live connections got both; the dead ones are gone from the registry.
    expect(seqsOf(bob.messages(conversationId))).toEqual([1, 2]);
    expect(seqsOf(alice.messages(conversationId))).toEqual([1, 2]);
    expect(await registry.devicesOf(tenant, 'bob')).toEqual(['phone']);
    alice.socket.close();
    bob.socket.close();
  });

  it('stores a repeated clientMessageId once and acknowledges it with the same seq', async () => {
    // Prepare
    const tenant = uniqueTenant('chat');
    const conversationId = await conversation(tenant, 'alice', ['bob']);
    const alice = await client(tenant, 'alice', 'phone');
    const clientMessageId = randomUUID();

    // Act
    let pending = alice.next('ack');
    alice.send({ action: 'send', conversationId, clientMessageId, body: 'hello' });
    const first = await pending;
    pending = alice.next('ack');
    alice.send({ action: 'send', conversationId, clientMessageId, body: 'hello' });
    const again = await pending;
    const page = (await (await fetch(url(`v1/conversations/${conversationId}/messages`), { headers: { authorization: `Bearer ${alice.token}` } })).json()) as { messages: unknown[]; lastSeq: number };

    // Assess
    expect(first).toMatchObject({ type: 'ack', clientMessageId, seq: 1 });
    expect(again).toMatchObject({ type: 'ack', clientMessageId, seq: 1, duplicate: true });
    expect(page.messages).toHaveLength(1);
    expect(page.lastSeq).toBe(1);
    alice.socket.close();
  });

  it('pushes typing to the other connections without storing it, and read receipts only forward', async () => {
    // Prepare
    const tenant = uniqueTenant('chat');
    const conversationId = await conversation(tenant, 'alice', ['bob']);
    const alice = await client(tenant, 'alice', 'phone');
    const bob = await client(tenant, 'bob', 'phone');
    for (let i = 0; i < 2; i++) alice.send({ action: 'send', conversationId, clientMessageId: `t-${i}`, body: `hello ${i}` });
    await bob.waitFor(() => bob.messages(conversationId).length >= 2);

    // Act
    let pending = alice.next('typing');
    bob.send({ action: 'typing', conversationId });
    const typing = await pending;
    pending = alice.next('read');
    bob.send({ action: 'read', conversationId, seq: 2 });
    const receipt = await pending;
    const seen = alice.frames.length;
    bob.send({ action: 'read', conversationId, seq: 1 });
    pending = bob.next('error');
    bob.send({ action: 'read', conversationId, seq: 99 });
    const beyond = await pending;

    // Assess
    expect(typing).toMatchObject({ type: 'typing', conversationId, userId: 'bob' });
    expect(receipt).toMatchObject({ type: 'read', conversationId, userId: 'bob', seq: 2 });
    // Reading back to seq 1 moves nothing, so no receipt goes out.
    expect(alice.frames.slice(seen).filter((f) => f.type === 'read')).toEqual([]);
    expect(beyond).toMatchObject({ type: 'error', code: 'validation-failed', errors: [expect.objectContaining({ field: 'frame.seq' })] });
    expect(bob.frames.filter((f) => f.type === 'typing')).toEqual([]);
    expect([...alice.offSchema, ...bob.offSchema]).toEqual([]);
    alice.socket.close();
    bob.socket.close();
  });

  it('lists my conversations with unread counts, adds and removes members, and reports presence', async () => {
    // Prepare
    const tenant = uniqueTenant('chat');
    const conversationId = await conversation(tenant, 'alice', ['bob']);
    const alice = await client(tenant, 'alice', 'phone');
    for (let i = 0; i < 3; i++) alice.send({ action: 'send', conversationId, clientMessageId: `u-${i}`, body: `news ${i}` });
    await alice.waitFor(() => alice.messages(conversationId).length >= 3);
    const as = async (user: string) => ({ authorization: `Bearer ${await target.token(user, tenant, ['chat:read', 'chat:write'])}`, 'content-type': 'application/json' });
    const pending = alice.next('pong');
    alice.send({ action: 'ping' });
    await pending;

    // Act
    const bobsList = (await (await fetch(url('v1/conversations'), { headers: await as('bob') })).json()) as { items: { conversationId: string; lastSeq: number; unread: number }[] };
    const added = await fetch(url(`v1/conversations/${conversationId}/members`), { method: 'POST', headers: await as('bob'), body: JSON.stringify({ memberIds: ['carol'] }) });
    const carolReads = await fetch(url(`v1/conversations/${conversationId}/messages`), { headers: await as('carol') });
    const bobRemovesCarol = await fetch(url(`v1/conversations/${conversationId}/members/carol`), { method: 'DELETE', headers: await as('bob') });
    const carolLeaves = await fetch(url(`v1/conversations/${conversationId}/members/carol`), { method: 'DELETE', headers: await as('carol') });
    const carolAfter = await fetch(url(`v1/conversations/${conversationId}/messages`), { headers: await as('carol') });
    const presence = (await (await fetch(url('v1/presence?userIds=alice,bob'), { headers: await as('bob') })).json()) as { users: { userId: string; online: boolean }[] };

    // Assess
    expect(bobsList.items).toContainEqual(expect.objectContaining({ conversationId, lastSeq: 3, unread: 3 }));
    expect(added.status).toBe(200);
    expect(((await added.json()) as { memberIds: string[] }).memberIds).toEqual(['alice', 'bob', 'carol']);
    expect(carolReads.status).toBe(200);
    expect(bobRemovesCarol.status).toBe(403);
    expect(carolLeaves.status).toBe(204);
    expect(carolAfter.status).toBe(404);
    expect(presence.users).toEqual([expect.objectContaining({ userId: 'alice', online: true }), expect.objectContaining({ userId: 'bob', online: false })]);
    alice.socket.close();
  });

  it("refuses a non-member's send and sync with an error frame, stores nothing, and keeps the connection open", async () => {
    // Prepare
    const tenant = uniqueTenant('chat');
    const conversationId = await conversation(tenant, 'alice', ['bob']);
    const mallory = await client(tenant, 'mallory', 'laptop');
    const outsider = await client(uniqueTenant('other'), 'alice', 'phone');
    const alice = await client(tenant, 'alice', 'phone');

    // Act
    let pending = mallory.next('error');
    mallory.send({ action: 'send', conversationId, clientMessageId: 'x', body: 'let me in' });
    const sendRefused = await pending;
    pending = mallory.next('error');
    mallory.send({ action: 'sync', conversationId, afterSeq: 0 });
    const syncRefused = await pending;
    pending = outsider.next('error');
    outsider.send({ action: 'send', conversationId, clientMessageId: 'y', body: 'same name, other tenant' });
    const otherTenant = await pending;
    pending = mallory.next('error');
    mallory.send({ action: 'send', conversationId, clientMessageId: 'z' });
    const invalid = await pending;
    pending = mallory.next('error');
    mallory.socket.send('not json');
    const malformed = await pending;
    const page = (await (await fetch(url(`v1/conversations/${conversationId}/messages`), { headers: { authorization: `Bearer ${alice.token}` } })).json()) as { messages: unknown[] };

    // Assess
    expect(sendRefused).toMatchObject({ type: 'error', code: 'forbidden', requestId: expect.any(String) });
    expect(syncRefused).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(otherTenant).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(invalid).toMatchObject({ type: 'error', code: 'validation-failed', errors: [expect.objectContaining({ field: 'frame.body' })] });
    expect(malformed).toMatchObject({ type: 'error', code: 'malformed-frame' });
    expect(page.messages).toEqual([]);
    expect(mallory.socket.readyState).toBe(mallory.socket.OPEN);
    expect([...mallory.offSchema, ...outsider.offSchema]).toEqual([]);
    for (const c of [mallory, outsider, alice]) c.socket.close();
  });
});
