import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WebSocketGateway } from '../../../local/gateway/websocket';
import { apiModel, CONNECT, connect, DEFAULT, DISCONNECT, ECHO, route, startGateway, type OpenClient } from './support';

const accept = () => ({ statusCode: 200 });

let gateway: WebSocketGateway | undefined;
const clients: OpenClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await gateway?.close();
  gateway = undefined;
});

async function open(url: string): Promise<OpenClient> {
  const client = await connect(url);
  clients.push(client);
  return client;
}

describe('message routing', () => {
  it('sends a message whose action names a route to that route, body untouched', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: accept, [ECHO]: accept, [DEFAULT]: accept });
    gateway = started.gateway;
    const client = await open(gateway.url);
    const body = '{"action":"echo","text":"hi"}';

    // Act
    client.socket.send(body);

    // Assess
    await vi.waitFor(() => expect(started.fake.eventsOf(ECHO)).toHaveLength(1));
    const [event] = started.fake.eventsOf(ECHO);
    const connectionId = started.fake.eventsOf(CONNECT)[0].requestContext.connectionId;
    expect(event).toMatchObject({
      body,
      isBase64Encoded: false,
      requestContext: { routeKey: 'echo', eventType: 'MESSAGE', messageDirection: 'IN', connectionId, stage: 'dev', apiId: 'ws0987abcd' },
    });
    expect(event.requestContext.messageId).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    expect(event.headers).toBeUndefined();
    expect(started.fake.eventsOf(DEFAULT)).toEqual([]);
  });

  it('sends a message with an unknown action to $default', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: accept, [ECHO]: accept, [DEFAULT]: accept });
    gateway = started.gateway;
    const client = await open(gateway.url);

    // Act
    client.socket.send('{"action":"nope"}');

    // Assess
    await vi.waitFor(() => expect(started.fake.eventsOf(DEFAULT)).toHaveLength(1));
    expect(started.fake.eventsOf(DEFAULT)[0].requestContext.routeKey).toBe('$default');
    expect(started.fake.eventsOf(ECHO)).toEqual([]);
  });

  it('sends a message that is not JSON to $default', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: accept, [ECHO]: accept, [DEFAULT]: accept });
    gateway = started.gateway;
    const client = await open(gateway.url);

    // Act
    client.socket.send('echo, please');

    // Assess
    await vi.waitFor(() => expect(started.fake.eventsOf(DEFAULT)).toHaveLength(1));
    expect(started.fake.eventsOf(DEFAULT)[0].body).toBe('echo, please');
  });

  it('answers the client with a Forbidden frame when nothing matches and there is no $default', async () => {
    // Prepare
    const api = apiModel({ routes: [route('$connect', CONNECT), route('echo', ECHO)] });
    const started = await startGateway({ [CONNECT]: accept, [ECHO]: accept }, { api });
    gateway = started.gateway;
    const client = await open(gateway.url);
    const connectionId = started.fake.eventsOf(CONNECT)[0].requestContext.connectionId;

    // Act
    client.socket.send('{"action":"nope"}');

    // Assess
    await vi.waitFor(() => expect(client.received).toHaveLength(1));
    expect(JSON.parse(client.received[0] as string)).toEqual({ message: 'Forbidden', connectionId, requestId: expect.stringMatching(/=$/) });
    expect(client.received[0]).toMatch(/^\{"message": "Forbidden", "connectionId":"/);
    expect(started.fake.eventsOf(ECHO)).toEqual([]);
  });

  it('answers the client with an Internal server error frame when the route fails', async () => {
    // Prepare
    const fail = () => {
      throw new Error('database down');
    };
    const started = await startGateway({ [CONNECT]: accept, [DEFAULT]: fail });
    gateway = started.gateway;
    const client = await open(gateway.url);

    // Act
    client.socket.send('hello');

    // Assess
    await vi.waitFor(() => expect(client.received).toHaveLength(1));
    const frame = JSON.parse(client.received[0] as string);
    expect(frame.message).toBe('Internal server error');
    expect(frame.requestId).toBe(started.fake.eventsOf(DEFAULT)[0].requestContext.requestId);
  });

  it('does not send a route handler’s return value back to the client', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: accept, [DEFAULT]: () => ({ statusCode: 200, body: 'reply' }), [ECHO]: accept });
    gateway = started.gateway;
    const client = await open(gateway.url);

    // Act
    client.socket.send('first');
    client.socket.send('{"action":"echo"}');

    // Assess: the second message's invocation shows the first was handled, and nothing came back.
    await vi.waitFor(() => expect(started.fake.eventsOf(ECHO)).toHaveLength(1));
    expect(started.fake.eventsOf(DEFAULT)).toHaveLength(1);
    expect(client.received).toEqual([]);
  });

  it('hands messages over in order without waiting for earlier ones to finish', async () => {
    // Prepare
    let releaseFirst: () => void = () => undefined;
    const firstDone = new Promise<void>((resolve) => (releaseFirst = resolve));
    const slowThenFast = async (event: any) => {
      if (event.body === 'first') await firstDone;
      return { statusCode: 200 };
    };
    const started = await startGateway({ [CONNECT]: accept, [DEFAULT]: slowThenFast });
    gateway = started.gateway;
    const client = await open(gateway.url);

    // Act
    client.socket.send('first');
    client.socket.send('second');

    // Assess: 'second' reaches its function while 'first' is still running.
    try {
      await vi.waitFor(() => expect(started.fake.eventsOf(DEFAULT).map((event) => event.body)).toEqual(['first', 'second']));
    } finally {
      releaseFirst();
    }
  });

  it('closes the connection with 1003 on a binary frame, as API Gateway does', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: accept, [DEFAULT]: accept, [DISCONNECT]: accept });
    gateway = started.gateway;
    const client = await open(gateway.url);

    // Act
    client.socket.send(Buffer.from([1, 2, 3]));

    // Assess
    expect((await client.closed).code).toBe(1003);
    await vi.waitFor(() => expect(started.fake.eventsOf(DISCONNECT)).toHaveLength(1));
    expect(started.fake.eventsOf(DISCONNECT)[0].requestContext.disconnectStatusCode).toBe(1003);
    expect(started.fake.eventsOf(DEFAULT)).toEqual([]);
  });
});

describe('$disconnect', () => {
  it('reports the code and reason of a client’s close', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: accept, [DISCONNECT]: accept });
    gateway = started.gateway;
    const client = await open(gateway.url);

    // Act
    client.socket.close(4000, 'bye');

    // Assess
    await vi.waitFor(() => expect(started.fake.eventsOf(DISCONNECT)).toHaveLength(1));
    const [event] = started.fake.eventsOf(DISCONNECT);
    expect(event).toMatchObject({
      headers: { Host: `127.0.0.1:${gateway.port}`, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' },
      isBase64Encoded: false,
      requestContext: {
        routeKey: '$disconnect',
        eventType: 'DISCONNECT',
        disconnectStatusCode: 4000,
        disconnectReason: 'bye',
        connectionId: started.fake.eventsOf(CONNECT)[0].requestContext.connectionId,
      },
    });
    expect(gateway.connections()).toBe(0);
  });

  it('reports 1005 when the client closes without a status, as AWS does', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: accept, [DISCONNECT]: accept });
    gateway = started.gateway;
    const client = await open(gateway.url);

    // Act
    client.socket.close();

    // Assess
    await vi.waitFor(() => expect(started.fake.eventsOf(DISCONNECT)).toHaveLength(1));
    expect(started.fake.eventsOf(DISCONNECT)[0].requestContext).toMatchObject({
      disconnectStatusCode: 1005,
      disconnectReason: 'Client-side close frame status not set',
    });
  });
});
