import {
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ManagementOperation, WebSocketGateway } from '../../../local/gateway/websocket';
import { FrameSizeGuard } from '../../../local/gateway/websocket/frame-guard';
import { CONNECT, connect, DISCONNECT, managementClient, startGateway, type OpenClient } from './support';

const accept = () => ({ statusCode: 200 });

let gateway: WebSocketGateway | undefined;
const clients: OpenClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await gateway?.close();
  gateway = undefined;
});

/** Starts a gateway that counts management calls, and connects one client; returns its connection id. */
async function connected(userAgent = 'test-agent') {
  const calls: ManagementOperation[] = [];
  const started = await startGateway({ [CONNECT]: accept, [DISCONNECT]: accept }, { onManagementCall: (operation) => calls.push(operation) });
  gateway = started.gateway;
  const client = await connect(gateway.url, undefined, { headers: { 'User-Agent': userAgent } });
  clients.push(client);
  const connectionId: string = started.fake.eventsOf(CONNECT)[0].requestContext.connectionId;
  return { ...started, gateway, client, connectionId, calls, api: managementClient(gateway) };
}

describe('@connections', () => {
  it('PostToConnection delivers the data to the client as a text message', async () => {
    // Prepare
    const { client, connectionId, api, calls } = await connected();

    // Act
    await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"type":"hello"}' }));

    // Assess
    await vi.waitFor(() => expect(client.received).toEqual(['{"type":"hello"}']));
    expect(calls).toEqual(['PostToConnection']);
  });

  it('PostToConnection sends data that is not UTF-8 as a binary message', async () => {
    // Prepare
    const { client, connectionId, api } = await connected();
    const binary = new Promise<boolean>((resolve) => client.socket.once('message', (_data, isBinary) => resolve(isBinary)));

    // Act
    await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array([0xff, 0xfe, 0x00]) }));

    // Assess
    expect(await binary).toBe(true);
  });

  it('PostToConnection cuts a large message into frames of at most 32 KB, which the client reassembles', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: accept });
    gateway = started.gateway;
    const guard = new FrameSizeGuard(32 * 1024);
    let oversized: number | undefined;
    let bytesSeen = 0;
    const socket = new WebSocket(gateway.url);
    socket.once('upgrade', (response: IncomingMessage) =>
      response.socket.on('data', (chunk: Buffer) => {
        bytesSeen += chunk.length;
        oversized ??= guard.inspect(chunk);
      }),
    );
    const received = new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
    await new Promise((resolve) => socket.once('open', resolve));
    clients.push({ socket, received: [], closed: new Promise(() => undefined) });
    const data = 'x'.repeat(100 * 1024);

    // Act
    await managementClient(gateway).send(
      new PostToConnectionCommand({ ConnectionId: started.fake.eventsOf(CONNECT)[0].requestContext.connectionId, Data: data }),
    );

    // Assess
    expect(await received).toBe(data);
    expect(bytesSeen).toBeGreaterThan(data.length);
    expect(oversized).toBeUndefined();
  });

  it('PostToConnection refuses a payload over 128 KB with PayloadTooLargeException', async () => {
    // Prepare
    const { client, connectionId, api } = await connected();

    // Act
    const post = api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x'.repeat(128 * 1024 + 1) }));

    // Assess
    await expect(post).rejects.toBeInstanceOf(PayloadTooLargeException);
    expect(client.received).toEqual([]);
  });

  it('GetConnection describes the connection', async () => {
    // Prepare
    const before = Date.now();
    const { connectionId, api } = await connected('smoke-test/1.0');

    // Act
    const description = await api.send(new GetConnectionCommand({ ConnectionId: connectionId }));

    // Assess
    expect(description.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'smoke-test/1.0' });
    expect(description.ConnectedAt).toBeInstanceOf(Date);
    expect(description.LastActiveAt).toBeInstanceOf(Date);
    expect((description.ConnectedAt as Date).getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect((description.ConnectedAt as Date).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('DeleteConnection closes the connection and $disconnect reports a normal close', async () => {
    // Prepare
    const { client, connectionId, api, fake, calls } = await connected();

    // Act
    await api.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));

    // Assess
    expect((await client.closed).code).toBe(1000);
    await vi.waitFor(() => expect(fake.eventsOf(DISCONNECT)).toHaveLength(1));
    expect(fake.eventsOf(DISCONNECT)[0].requestContext).toMatchObject({
      connectionId,
      disconnectStatusCode: 1000,
      disconnectReason: 'Connection Closed Normally',
    });
    expect(calls).toEqual(['DeleteConnection']);
  });

  it('PostToConnection to a closed connection throws GoneException', async () => {
    // Prepare
    const { client, connectionId, api, fake } = await connected();
    client.socket.close(1000);
    await vi.waitFor(() => expect(fake.eventsOf(DISCONNECT)).toHaveLength(1));

    // Act
    const post = api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'late' }));

    // Assess
    await expect(post).rejects.toBeInstanceOf(GoneException);
  });

  it('every operation on a connection id that never existed throws GoneException, and each call is counted', async () => {
    // Prepare
    const { api, calls } = await connected();
    const ConnectionId = 'AAAAAAAAAAAAAAA=';

    // Act
    const outcomes = await Promise.allSettled([
      api.send(new PostToConnectionCommand({ ConnectionId, Data: 'x' })),
      api.send(new GetConnectionCommand({ ConnectionId })),
      api.send(new DeleteConnectionCommand({ ConnectionId })),
    ]);

    // Assess
    expect(outcomes.map((outcome) => outcome.status === 'rejected' && outcome.reason instanceof GoneException)).toEqual([true, true, true]);
    expect([...calls].sort()).toEqual(['DeleteConnection', 'GetConnection', 'PostToConnection']);
  });
});
