import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WebSocketGateway, WebSocketGatewayOptions } from '../../../local/gateway/websocket';
import { CONNECT, connect, DEFAULT, DISCONNECT, managementClient, startGateway, type OpenClient } from './support';

const accept = () => ({ statusCode: 200 });

let gateway: WebSocketGateway | undefined;
const clients: OpenClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await gateway?.close();
  gateway = undefined;
});

async function connected(options: Partial<WebSocketGatewayOptions> = {}) {
  const started = await startGateway({ [CONNECT]: accept, [DEFAULT]: accept, [DISCONNECT]: accept }, options);
  gateway = started.gateway;
  const client = await connect(gateway.url);
  clients.push(client);
  const connectionId: string = started.fake.eventsOf(CONNECT)[0].requestContext.connectionId;
  return { ...started, gateway, client, connectionId };
}

describe('connection clocks', () => {
  it('closes an idle connection with 1001 and runs $disconnect', async () => {
    // Prepare
    const { client, fake } = await connected({ idleTimeoutMs: 150 });

    // Act
    const closed = await client.closed;

    // Assess
    expect(closed.code).toBe(1001);
    await vi.waitFor(() => expect(fake.eventsOf(DISCONNECT)).toHaveLength(1));
    expect(fake.eventsOf(DISCONNECT)[0].requestContext).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
  });

  it('counts messages posted to the client as activity, so a server keep-alive holds the connection open', async () => {
    // Prepare
    const { client, connectionId, gateway: started } = await connected({ idleTimeoutMs: 400 });
    const api = managementClient(started);

    // Act: four posts 150 ms apart span 450 ms, longer than the idle timeout.
    for (let post = 0; post < 4; post += 1) {
      await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'keep-alive' }));
      await sleep(150);
    }

    // Assess
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    expect((await client.closed).code).toBe(1001);
  });

  it('closes a busy connection at its maximum lifetime and runs $disconnect', async () => {
    // Prepare
    const { client, fake } = await connected({ maxLifetimeMs: 300 });
    const chatter = setInterval(() => client.socket.send('still here'), 50);

    // Act
    const closed = await client.closed.finally(() => clearInterval(chatter));

    // Assess
    expect(closed.code).toBe(1001);
    expect(fake.eventsOf(DEFAULT).length).toBeGreaterThan(1);
    await vi.waitFor(() => expect(fake.eventsOf(DISCONNECT)).toHaveLength(1));
  });
});

describe('size quotas', () => {
  it('takes a 32 KB frame and closes the connection with 1009 on a larger one, by default', async () => {
    // Prepare
    const { client, fake } = await connected();

    // Act
    client.socket.send('a'.repeat(32 * 1024));
    await vi.waitFor(() => expect(fake.eventsOf(DEFAULT)).toHaveLength(1));
    client.socket.send('b'.repeat(32 * 1024 + 1));

    // Assess
    expect((await client.closed).code).toBe(1009);
    await vi.waitFor(() => expect(fake.eventsOf(DISCONNECT)).toHaveLength(1));
    expect(fake.eventsOf(DISCONNECT)[0].requestContext.disconnectStatusCode).toBe(1009);
    expect(fake.eventsOf(DEFAULT)).toHaveLength(1);
  });

  it('takes a message sent in frames within the frame quota', async () => {
    // Prepare
    const { client, fake } = await connected({ maxFrameBytes: 1024, maxMessageBytes: 4096 });
    const part = 'p'.repeat(1000);

    // Act
    client.socket.send(part, { fin: false });
    client.socket.send(part, { fin: false });
    client.socket.send(part, { fin: true });

    // Assess
    await vi.waitFor(() => expect(fake.eventsOf(DEFAULT)).toHaveLength(1));
    expect(fake.eventsOf(DEFAULT)[0].body).toBe(part.repeat(3));
  });

  it('closes the connection with 1009 when a message in small frames passes the message quota', async () => {
    // Prepare
    const { client, fake } = await connected({ maxFrameBytes: 1024, maxMessageBytes: 4096 });
    const part = 'p'.repeat(1000);

    // Act
    for (let frame = 0; frame < 5; frame += 1) client.socket.send(part, { fin: frame === 4 });

    // Assess
    expect((await client.closed).code).toBe(1009);
    await vi.waitFor(() => expect(fake.eventsOf(DISCONNECT)).toHaveLength(1));
    expect(fake.eventsOf(DISCONNECT)[0].requestContext.disconnectStatusCode).toBe(1009);
    expect(fake.eventsOf(DEFAULT)).toEqual([]);
  });
});
