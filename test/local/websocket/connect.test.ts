import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WebSocketGateway } from '../../../local/gateway/websocket';
import {
  apiModel,
  AUTHORIZER,
  CONNECT,
  connect,
  DEFAULT,
  DISCONNECT,
  GOOD_TOKEN,
  refusedHandshake,
  route,
  startGateway,
  tokenAuthorizer,
  type OpenClient,
} from './support';

const WITH_AUTHORIZER = apiModel({ connectAuthorizer: { functionArn: AUTHORIZER, identitySource: [] } });
const accept = () => ({ statusCode: 200 });

let gateway: WebSocketGateway | undefined;
const clients: OpenClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.terminate();
  await gateway?.close();
  gateway = undefined;
});

async function open(url: string, protocols?: string | string[]): Promise<OpenClient> {
  const client = await connect(url, protocols);
  clients.push(client);
  return client;
}

describe('$connect authorizer', () => {
  it('refuses a handshake without a token with 401, before $connect runs', async () => {
    // Prepare
    const started = await startGateway({ [AUTHORIZER]: tokenAuthorizer, [CONNECT]: accept }, { api: WITH_AUTHORIZER });
    gateway = started.gateway;

    // Act
    const refusal = await refusedHandshake(gateway.url);

    // Assess
    expect(refusal).toEqual({ statusCode: 401, body: '{"message":"Unauthorized"}' });
    expect(started.fake.eventsOf(AUTHORIZER)).toHaveLength(1);
    expect(started.fake.eventsOf(CONNECT)).toEqual([]);
    expect(gateway.connections()).toBe(0);
  });

  it('refuses a handshake with a bad token with 401', async () => {
    // Prepare
    const started = await startGateway({ [AUTHORIZER]: tokenAuthorizer, [CONNECT]: accept }, { api: WITH_AUTHORIZER });
    gateway = started.gateway;

    // Act
    const refusal = await refusedHandshake(`${gateway.url}?token=forged`);

    // Assess
    expect(refusal.statusCode).toBe(401);
    expect(started.fake.eventsOf(CONNECT)).toEqual([]);
  });

  it('gives the authorizer a REQUEST event with the $connect methodArn and the ?token= query', async () => {
    // Prepare
    const started = await startGateway({ [AUTHORIZER]: tokenAuthorizer, [CONNECT]: accept }, { api: WITH_AUTHORIZER });
    gateway = started.gateway;

    // Act
    await open(`${gateway.url}?token=${GOOD_TOKEN}&room=a&room=b`);

    // Assess
    const [event] = started.fake.eventsOf(AUTHORIZER);
    expect(event).toMatchObject({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:us-east-1:000000000000:ws0987abcd/dev/$connect',
      queryStringParameters: { token: GOOD_TOKEN, room: 'b' },
      multiValueQueryStringParameters: { token: [GOOD_TOKEN], room: ['a', 'b'] },
      stageVariables: {},
      requestContext: { routeKey: '$connect', eventType: 'CONNECT', apiId: 'ws0987abcd', stage: 'dev' },
    });
    expect(event.headers).toMatchObject({ Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' });
    expect(event.requestContext.authorizer).toBeUndefined();
  });

  it('gives the authorizer the token offered as a subprotocol after bearer, and the handler picks bearer', async () => {
    // Prepare
    const connectBearer = () => ({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'bearer' } });
    const started = await startGateway({ [AUTHORIZER]: tokenAuthorizer, [CONNECT]: connectBearer }, { api: WITH_AUTHORIZER });
    gateway = started.gateway;

    // Act
    const client = await open(gateway.url, ['bearer', GOOD_TOKEN]);

    // Assess
    // ws writes the list without a space after the comma; browsers add one.
    expect(started.fake.eventsOf(AUTHORIZER)[0].headers['Sec-WebSocket-Protocol']).toBe(`bearer,${GOOD_TOKEN}`);
    expect(client.socket.protocol).toBe('bearer');
  });

  it('puts the context and principalId, as strings, on $connect, message and $disconnect events', async () => {
    // Prepare
    const started = await startGateway({ [AUTHORIZER]: tokenAuthorizer, [CONNECT]: accept, [DEFAULT]: accept, [DISCONNECT]: accept }, { api: WITH_AUTHORIZER });
    gateway = started.gateway;
    const client = await open(`${gateway.url}?token=${GOOD_TOKEN}`);

    // Act
    client.socket.send('hello');
    await vi.waitFor(() => expect(started.fake.eventsOf(DEFAULT)).toHaveLength(1));
    client.socket.close(1000);
    await vi.waitFor(() => expect(started.fake.eventsOf(DISCONNECT)).toHaveLength(1));

    // Assess
    const expected = { principalId: 'alice', userId: 'alice', tenantId: 'acme', scopes: 'chat:write', admin: 'false' };
    expect(started.fake.eventsOf(CONNECT)[0].requestContext.authorizer).toEqual(expected);
    expect(started.fake.eventsOf(DEFAULT)[0].requestContext.authorizer).toEqual(expected);
    expect(started.fake.eventsOf(DISCONNECT)[0].requestContext.authorizer).toEqual(expected);
  });

  it('refuses with 403 when the policy denies $connect', async () => {
    // Prepare
    const deny = (event: any) => ({
      principalId: 'mallory',
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: event.methodArn }] },
    });
    const started = await startGateway({ [AUTHORIZER]: deny, [CONNECT]: accept }, { api: WITH_AUTHORIZER });
    gateway = started.gateway;

    // Act
    const refusal = await refusedHandshake(gateway.url);

    // Assess
    expect(refusal).toEqual({ statusCode: 403, body: '{"message":"Forbidden"}' });
  });

  it('refuses with 500 when the authorizer fails with anything but Unauthorized', async () => {
    // Prepare
    const crash = () => {
      throw new Error('jwks unreachable');
    };
    const started = await startGateway({ [AUTHORIZER]: crash, [CONNECT]: accept }, { api: WITH_AUTHORIZER });
    gateway = started.gateway;

    // Act
    const refusal = await refusedHandshake(gateway.url);

    // Assess
    expect(refusal).toEqual({ statusCode: 500, body: '{"message":"Internal server error"}' });
  });

  it('refuses with 401 without invoking the authorizer when a listed identity source is missing', async () => {
    // Prepare
    const api = apiModel({ connectAuthorizer: { functionArn: AUTHORIZER, identitySource: ['route.request.querystring.token'] } });
    const started = await startGateway({ [AUTHORIZER]: tokenAuthorizer, [CONNECT]: accept }, { api });
    gateway = started.gateway;

    // Act
    const refusal = await refusedHandshake(gateway.url);

    // Assess
    expect(refusal.statusCode).toBe(401);
    expect(started.fake.eventsOf(AUTHORIZER)).toEqual([]);
  });
});

describe('$connect route', () => {
  it('gives the handler the handshake headers, query and a request context shaped like AWS', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: accept });
    gateway = started.gateway;

    // Act
    await open(`${gateway.url}?room=lobby`);

    // Assess
    const [event] = started.fake.eventsOf(CONNECT);
    expect(event).toMatchObject({
      queryStringParameters: { room: 'lobby' },
      multiValueQueryStringParameters: { room: ['lobby'] },
      isBase64Encoded: false,
      requestContext: {
        routeKey: '$connect',
        eventType: 'CONNECT',
        messageDirection: 'IN',
        stage: 'dev',
        apiId: 'ws0987abcd',
        domainName: `127.0.0.1:${gateway.port}`,
        identity: { sourceIp: '127.0.0.1' },
      },
    });
    expect(event.requestContext.connectionId).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    expect(event.requestContext.extendedRequestId).toBe(event.requestContext.requestId);
    expect(event.requestContext.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(event.headers).toMatchObject({ Host: `127.0.0.1:${gateway.port}`, 'X-Forwarded-For': '127.0.0.1' });
    expect(event.multiValueHeaders.Upgrade).toEqual(['websocket']);
  });

  it('sends the other headers the handler returns on the 101 response', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: () => ({ statusCode: 200, headers: { 'X-Session': 'abc' } }) });
    gateway = started.gateway;
    const socket = new WebSocket(gateway.url);
    const upgraded = new Promise<IncomingMessage>((resolve) => socket.once('upgrade', resolve));
    clients.push({ socket, received: [], closed: new Promise(() => undefined) });

    // Act
    const response = await upgraded;

    // Assess
    expect(response.statusCode).toBe(101);
    expect(response.headers['x-session']).toBe('abc');
  });

  it('refuses the handshake with the status a non-2xx answer carries', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: () => ({ statusCode: 429, body: 'slow down' }) });
    gateway = started.gateway;

    // Act
    const refusal = await refusedHandshake(gateway.url);

    // Assess
    expect(refusal).toEqual({ statusCode: 429, body: 'slow down' });
    expect(gateway.connections()).toBe(0);
  });

  it('refuses with 500 when the handler throws', async () => {
    // Prepare
    const started = await startGateway({
      [CONNECT]: () => {
        throw new TypeError('boom');
      },
    });
    gateway = started.gateway;

    // Act
    const refusal = await refusedHandshake(gateway.url);

    // Assess
    expect(refusal.statusCode).toBe(500);
  });

  it('completes the handshake without a subprotocol when the handler chose none, which a client that offered some rejects', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: accept });
    gateway = started.gateway;

    // Act
    const failure = connect(gateway.url, ['bearer', GOOD_TOKEN]);

    // Assess
    await expect(failure).rejects.toThrow('Server sent no subprotocol');
  });

  it('accepts every handshake when the API has no $connect route', async () => {
    // Prepare
    const api = apiModel({ routes: [route('$default', DEFAULT)] });
    const started = await startGateway({}, { api });
    gateway = started.gateway;

    // Act
    await open(gateway.url);

    // Assess
    expect(gateway.connections()).toBe(1);
    expect(started.fake.invocations).toEqual([]);
  });

  it('refuses an upgrade to a path other than the stage with 403', async () => {
    // Prepare
    const started = await startGateway({ [CONNECT]: accept });
    gateway = started.gateway;

    // Act
    const refusal = await refusedHandshake(gateway.url.replace(/\/dev$/, '/prod'));

    // Assess
    expect(refusal.statusCode).toBe(403);
    expect(started.fake.invocations).toEqual([]);
  });
});
