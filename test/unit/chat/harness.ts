import { randomUUID } from 'node:crypto';
import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand, type PostToConnectionCommandInput } from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { beforeEach, expect, vi } from 'vitest';
import { bodyOf, problemOf, restApiEvent } from '../../support/api-gateway';
import { useLocalTable, type LocalTable } from '../../support/dynamodb';
import { lambdaContext } from '../../support/lambda-context';

/**
 * What the chat's tests share: the table as lib/chat/storage.ts declares it on DynamoDB Local,
 * the handlers loaded as one function instance sees them, WebSocket and REST events, and a
 * stand-in for API Gateway's @connections API that records what each connection was sent.
 */

export const CHAT_TABLE = 'chat';
export const RATE_LIMIT_TABLE = 'rate-limits';
export const CALLBACK_URL = 'https://ws0987.execute-api.us-east-1.amazonaws.com/dev';
export const API_DOMAIN = 'abc123.execute-api.us-east-1.amazonaws.com';
export const WS_DOMAIN = 'ws0987.execute-api.us-east-1.amazonaws.com';
export const STAGE = 'dev';
/** The tests' clock. */
export const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

export const context: Context = lambdaContext('switchyard-chat');

/** The chat table (`pk` + `sk`, index `byUser` on `gsi1pk` + `gsi1sk`), and a rate-limit table for the message limits. */
export function useChatTable(): LocalTable {
  return useLocalTable(CHAT_TABLE, {
    sortKey: 'sk',
    indexes: [{ indexName: 'byUser', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
    moreTables: [{ tableName: RATE_LIMIT_TABLE, partitionKey: 'pk' }],
  });
}

export type WsHandler = (event: APIGatewayProxyWebsocketEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;
export type ConnectHandler = (event: ConnectEvent, context: Context) => Promise<APIGatewayProxyResult>;
export type DisconnectHandler = (event: APIGatewayProxyWebsocketEventV2, context: Context) => Promise<APIGatewayProxyResult>;
export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface Chat {
  readonly send: WsHandler;
  readonly sync: WsHandler;
  readonly ping: WsHandler;
  readonly connect: ConnectHandler;
  readonly disconnect: DisconnectHandler;
  readonly createConversation: ApiHandler;
  readonly listMessages: ApiHandler;
  readonly typing: WsHandler;
  readonly read: WsHandler;
  readonly listConversations: ApiHandler;
  readonly addMembers: ApiHandler;
  readonly removeMember: ApiHandler;
  readonly getPresence: ApiHandler;
  /** The storage and fan-out, from the same module graph as the handlers. */
  readonly store: typeof import('../../../functions/chat/store');
  readonly fanout: typeof import('../../../functions/chat/fanout');
  readonly deliver: typeof import('../../../functions/chat/deliver');
  readonly directory: typeof import('../../../functions/chat/directory');
  readonly documentClient: DynamoDBDocumentClient;
}

/**
 * The chat's handlers as one function instance (a fresh module graph) sees them: modules read
 * the environment once, so it is set first. Message limits are off unless `env` sets
 * `RATE_LIMIT_TABLE_NAME`.
 */
export async function loadChat(table: LocalTable, env: Record<string, string | undefined> = {}): Promise<Chat> {
  vi.resetModules();
  const settings: Record<string, string | undefined> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    POWERTOOLS_SERVICE_NAME: 'chat-test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    CHAT_TABLE_NAME: table.tableName,
    WEBSOCKET_CALLBACK_URL: CALLBACK_URL,
    CHAT_MAX_GROUP_SIZE: undefined,
    PRESENCE_WINDOW_SECONDS: undefined,
    RATE_LIMIT_TABLE_NAME: undefined,
    RATE_LIMIT_POLICIES: undefined,
    RATE_LIMIT_ROUTE_POLICIES: undefined,
    ...env,
  };
  for (const [name, value] of Object.entries(settings)) vi.stubEnv(name, value);
  const [send, sync, ping, connect, disconnect, createConversation, listMessages, store, fanout, clients] = await Promise.all([
    import('../../../functions/chat/send'),
    import('../../../functions/chat/sync'),
    import('../../../functions/chat/ping'),
    import('../../../functions/chat/connect'),
    import('../../../functions/chat/disconnect'),
    import('../../../functions/chat/create-conversation'),
    import('../../../functions/chat/list-messages'),
    import('../../../functions/chat/store'),
    import('../../../functions/chat/fanout'),
    import('#shared/clients/dynamodb'),
  ]);
  const [typing, read, listConversations, addMembers, removeMember, getPresence, directory, deliver] = await Promise.all([
    import('../../../functions/chat/typing'),
    import('../../../functions/chat/read'),
    import('../../../functions/chat/list-conversations'),
    import('../../../functions/chat/add-members'),
    import('../../../functions/chat/remove-member'),
    import('../../../functions/chat/get-presence'),
    import('../../../functions/chat/directory'),
    import('../../../functions/chat/deliver'),
  ]);
  return {
    send: send.handler as WsHandler,
    sync: sync.handler as WsHandler,
    ping: ping.handler as WsHandler,
    connect: connect.handler as ConnectHandler,
    disconnect: disconnect.handler as DisconnectHandler,
    createConversation: createConversation.handler as ApiHandler,
    listMessages: listMessages.handler as ApiHandler,
    typing: typing.handler as WsHandler,
    read: read.handler as WsHandler,
    listConversations: listConversations.handler as ApiHandler,
    addMembers: addMembers.handler as ApiHandler,
    removeMember: removeMember.handler as ApiHandler,
    getPresence: getPresence.handler as ApiHandler,
    store,
    fanout,
    deliver,
    directory,
    documentClient: clients.documentClient,
  };
}

let tenants = 0;
/** A tenant of the test's own, so that conversations and connections never carry over between tests. */
export const newTenant = (): string => `tenant-${++tenants}-${randomUUID().slice(0, 8)}`;

let connections = 0;
/** A connection id shaped like API Gateway's. */
export const newConnectionId = (): string => `${randomUUID().replaceAll('-', '').slice(0, 12)}${++connections}=`;

export interface Caller {
  readonly tenantId: string;
  readonly userId: string;
  /** Space-separated, as the authorizer context carries them. */
  readonly scopes?: string;
}

const authorizerOf = (caller: Caller) => ({ principalId: caller.userId, userId: caller.userId, tenantId: caller.tenantId, scopes: caller.scopes ?? 'chat:read chat:write' });

function wsRequestContext(routeKey: string, eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT', connectionId: string, requestId: string) {
  return {
    routeKey,
    messageId: eventType === 'MESSAGE' ? randomUUID().slice(0, 16) : undefined,
    eventType,
    extendedRequestId: requestId,
    requestTime: '23/Nov/2026:12:00:00 +0000',
    messageDirection: 'IN' as const,
    stage: STAGE,
    connectedAt: T0,
    requestTimeEpoch: T0,
    requestId,
    domainName: WS_DOMAIN,
    connectionId,
    apiId: 'ws0987',
  };
}

/**
 * A frame as API Gateway hands it to an action's function: the body as sent (a string is sent
 * as is, anything else as its JSON), the `$connect` authorizer's context on every message.
 */
export function frameEvent(caller: Caller | undefined, connectionId: string, body: unknown, requestId: string = randomUUID()): APIGatewayProxyWebsocketEventV2 {
  const routeKey = typeof body === 'object' && body && 'action' in body ? String(body.action) : '$default';
  return {
    requestContext: { ...wsRequestContext(routeKey, 'MESSAGE', connectionId, requestId), ...(caller ? { authorizer: authorizerOf(caller) } : {}) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    isBase64Encoded: false,
  } as APIGatewayProxyWebsocketEventV2;
}

/** `$connect` carries the handshake's headers and query string, which the v2 event type leaves out. */
export type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  requestContext: { authorizer?: Record<string, unknown> };
};

export function connectEvent(caller: Caller | undefined, connectionId: string, parts: { headers?: Record<string, string>; query?: Record<string, string> } = {}): ConnectEvent {
  return {
    requestContext: { ...wsRequestContext('$connect', 'CONNECT', connectionId, randomUUID()), ...(caller ? { authorizer: authorizerOf(caller) } : {}) },
    headers: { Host: WS_DOMAIN, 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...parts.headers },
    ...(parts.query ? { queryStringParameters: parts.query } : {}),
    isBase64Encoded: false,
  } as ConnectEvent;
}

/** `$disconnect` carries the `$connect` authorizer's context, as every event of the connection does. */
export function disconnectEvent(caller: Caller | undefined, connectionId: string): APIGatewayProxyWebsocketEventV2 {
  return {
    requestContext: { ...wsRequestContext('$disconnect', 'DISCONNECT', connectionId, randomUUID()), ...(caller ? { authorizer: authorizerOf(caller) } : {}) },
    isBase64Encoded: false,
  } as APIGatewayProxyWebsocketEventV2;
}

/** An API Gateway REST (v1, proxy) event as the platform's API hands it to a function; with the caller's authorizer context when there is one. */
export function apiEvent(
  method: string,
  resource: string,
  path: string,
  { caller, ...parts }: { caller?: Caller; body?: unknown; pathParameters?: Record<string, string>; query?: Record<string, string> } = {},
): APIGatewayProxyEvent {
  return restApiEvent(method, resource, path, { ...parts, ...(caller ? { authorizer: authorizerOf(caller) } : {}), domainName: API_DOMAIN, stage: STAGE });
}

/** POST /v1/conversations. */
export const createConversationEvent = (caller: Caller, body: unknown) => apiEvent('POST', '/v1/conversations', '/v1/conversations', { caller, body });

/** GET /v1/conversations/{conversationId}/messages?query. */
export const listMessagesEvent = (caller: Caller, conversationId: string, query?: Record<string, string>) =>
  apiEvent('GET', '/v1/conversations/{conversationId}/messages', `/v1/conversations/${conversationId}/messages`, {
    caller,
    pathParameters: { conversationId },
    ...(query ? { query } : {}),
  });

/** GET /v1/conversations?query. */
export const listConversationsEvent = (caller: Caller, query?: Record<string, string>) =>
  apiEvent('GET', '/v1/conversations', '/v1/conversations', { caller, ...(query ? { query } : {}) });

/** POST /v1/conversations/{conversationId}/members. */
export const addMembersEvent = (caller: Caller, conversationId: string, body: unknown) =>
  apiEvent('POST', '/v1/conversations/{conversationId}/members', `/v1/conversations/${conversationId}/members`, { caller, body, pathParameters: { conversationId } });

/** DELETE /v1/conversations/{conversationId}/members/{userId}. */
export const removeMemberEvent = (caller: Caller, conversationId: string, userId: string) =>
  apiEvent('DELETE', '/v1/conversations/{conversationId}/members/{userId}', `/v1/conversations/${conversationId}/members/${userId}`, {
    caller,
    pathParameters: { conversationId, userId },
  });

/** GET /v1/presence?userIds=... (the ids joined with commas as given). */
export const getPresenceEvent = (caller: Caller, userIds: string) => apiEvent('GET', '/v1/presence', '/v1/presence', { caller, query: { userIds } });

export { bodyOf, problemOf };

/** Starts a conversation through POST /v1/conversations and returns its id, failing the test unless it was created. */
export async function startConversation(chat: Chat, creator: Caller, others: readonly string[]): Promise<string> {
  const result = await chat.createConversation(createConversationEvent(creator, { memberIds: others }), context);
  expect(result.statusCode, result.body).toBe(201);
  return bodyOf<{ conversationId: string }>(result).conversationId;
}

/** Opens a connection through `$connect` and returns its id, failing the test unless it was accepted. */
export async function openConnection(chat: Chat, caller: Caller): Promise<string> {
  const connectionId = newConnectionId();
  const result = await chat.connect(connectEvent(caller, connectionId), context);
  expect(result.statusCode).toBe(200);
  return connectionId;
}

/** The conversation's meta item as stored. */
export async function metaOf(table: LocalTable, tenantId: string, conversationId: string): Promise<Record<string, unknown> | undefined> {
  const answer = await table.client.send(new GetCommand({ TableName: table.tableName, Key: { pk: `C#${tenantId}#${conversationId}`, sk: 'meta' }, ConsistentRead: true }));
  return answer.Item;
}

/** Every item of a conversation's partition (only those whose sort key begins with `prefix`, when given), by sort key. */
export async function conversationItems(table: LocalTable, tenantId: string, conversationId: string, prefix?: string): Promise<Record<string, unknown>[]> {
  const answer = await table.client.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: prefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `C#${tenantId}#${conversationId}`, ...(prefix ? { ':prefix': prefix } : {}) },
      ConsistentRead: true,
    }),
  );
  return answer.Items ?? [];
}

/** The seqs of the messages stored in a conversation, read back from the table. */
export async function storedSeqs(table: LocalTable, tenantId: string, conversationId: string): Promise<number[]> {
  return (await conversationItems(table, tenantId, conversationId, 'msg#')).map((item) => Number(item['seq']));
}

/** A user's connections item, as stored (`conn:<id>` attributes and the item's `ttl`). */
export async function connectionsItem(table: LocalTable, caller: Caller): Promise<Record<string, unknown> | undefined> {
  const answer = await table.client.send(new GetCommand({ TableName: table.tableName, Key: { pk: `U#${caller.tenantId}#${caller.userId}`, sk: 'connections' }, ConsistentRead: true }));
  return answer.Item;
}

/** What a user's connections item records of one connection, if it is still recorded. */
export async function connectionItem(table: LocalTable, caller: Caller, connectionId: string): Promise<Record<string, unknown> | undefined> {
  return (await connectionsItem(table, caller))?.[`conn:${connectionId}`] as Record<string, unknown> | undefined;
}

/** 1..n. */
export const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

export type Frame = Record<string, unknown> & { type: string };

export interface PostedFrame {
  readonly connectionId: string;
  readonly frame: Frame;
}

export type PostHook = (connectionId: string, frame: Frame) => void | Promise<void>;

/** The @connections API as the tests see it. */
export interface ConnectionsApi {
  /** Every frame that reached a connection, in the order they were posted. */
  readonly delivered: () => PostedFrame[];
  /** The frames that reached one connection, in order. */
  readonly framesTo: (connectionId: string) => Frame[];
  /** How many times a connection was posted to, failures included. */
  readonly attemptsTo: (connectionId: string) => number;
  /** Answers 410 Gone for this connection from now on. */
  readonly markGone: (connectionId: string) => void;
  /** Fails the next `times` posts to this connection with a 500. */
  readonly failNext: (connectionId: string, times: number) => void;
  /** Runs before every post is answered (after it is counted); a post waits for the hook's promise. */
  readonly onPost: (hook: PostHook | undefined) => void;
  /** The mocked client, for asserting on its calls. */
  readonly mock: AwsClientStub<ApiGatewayManagementApiClient>;
}

/**
 * Mocks `ApiGatewayManagementApiClient` (PostToConnection) for the file's tests, reset before
 * each: posts succeed and are recorded, unless the connection was marked gone (410) or set to fail.
 */
export function useConnectionsApi(): ConnectionsApi {
  const mock = mockClient(ApiGatewayManagementApiClient);
  let delivered: PostedFrame[] = [];
  let attempts = new Map<string, number>();
  let gone = new Set<string>();
  let failing = new Map<string, number>();
  let hook: PostHook | undefined;
  beforeEach(() => {
    delivered = [];
    attempts = new Map();
    gone = new Set();
    failing = new Map();
    hook = undefined;
    mock.reset();
    mock.on(PostToConnectionCommand).callsFake(async (input: PostToConnectionCommandInput) => {
      const connectionId = String(input.ConnectionId);
      attempts.set(connectionId, (attempts.get(connectionId) ?? 0) + 1);
      const frame = JSON.parse(Buffer.from(input.Data as Uint8Array).toString('utf8')) as Frame;
      await hook?.(connectionId, frame);
      if (gone.has(connectionId)) throw new GoneException({ message: `connection ${connectionId} is gone`, $metadata: { httpStatusCode: 410 } });
      const failures = failing.get(connectionId) ?? 0;
      if (failures > 0) {
        failing.set(connectionId, failures - 1);
        throw Object.assign(new Error('Internal server error'), { name: 'InternalServerErrorException', $metadata: { httpStatusCode: 500 } });
      }
      delivered.push({ connectionId, frame });
      return {};
    });
  });
  return {
    delivered: () => [...delivered],
    framesTo: (connectionId) => delivered.filter((posted) => posted.connectionId === connectionId).map((posted) => posted.frame),
    attemptsTo: (connectionId) => attempts.get(connectionId) ?? 0,
    markGone: (connectionId) => gone.add(connectionId),
    failNext: (connectionId, times) => failing.set(connectionId, times),
    onPost: (given) => {
      hook = given;
    },
    mock,
  };
}

/** The seqs of the `message` frames among `frames`, in order. */
export const messageSeqs = (frames: readonly Frame[]): number[] => frames.filter((frame) => frame.type === 'message').map((frame) => Number(frame['seq']));

/** The names of the commands a spied-on client sent, in order. */
export const commandNames = (spy: { mock: { calls: unknown[][] } }): string[] => spy.mock.calls.map(([command]) => (command as object).constructor.name);

/** A conversation of three members made through the store, every device connected (see `storeRoom`). */
export interface StoreRoom {
  readonly chat: Chat;
  readonly conversation: import('../../../functions/chat/store').Conversation;
  /** Connection ids by user: alice and bob have two devices, carol one. */
  readonly connections: { readonly alice: readonly string[]; readonly bob: readonly string[]; readonly carol: readonly string[] };
  readonly all: readonly string[];
  /** A member as a caller of this room's tenant. */
  readonly user: (userId: string) => Caller;
  /** Stores messages from alice, `count` of them, and returns them. */
  readonly append: (count: number) => Promise<import('../../../functions/chat/store').ChatMessage[]>;
  /** The delivery `send` queues for a stored message: it carries the message itself. */
  readonly deliveryOf: (message: import('../../../functions/chat/store').ChatMessage) => import('../../../functions/chat/deliver').Delivery;
}

/**
 * A conversation of alice, bob and carol made through the store (no handlers), every device
 * connected; a non-member and alice in another tenant are connected too.
 */
export async function storeRoom(table: LocalTable): Promise<StoreRoom> {
  const chat = await loadChat(table);
  const tenantId = newTenant();
  const conversation = await chat.store.createConversation({
    conversationId: `room-${Math.random().toString(36).slice(2, 10)}`,
    tenantId,
    title: 'room',
    memberIds: ['alice', 'bob', 'carol'],
    createdAt: new Date(T0).toISOString(),
    createdBy: 'alice',
  });
  const connect = async (userId: string, tenant = tenantId) => {
    const connectionId = newConnectionId();
    await chat.store.putConnection({ connectionId, tenantId: tenant, userId, device: null, connectedAt: new Date(T0).toISOString() }, T0);
    return connectionId;
  };
  const connections = { alice: [await connect('alice'), await connect('alice')], bob: [await connect('bob'), await connect('bob')], carol: [await connect('carol')] };
  await connect('dave');
  await connect('alice', newTenant());
  let lastSeq = 0;
  const append = async (count: number) => {
    const messages = [];
    for (let i = 0; i < count; i++) {
      const outcome = await chat.store.appendMessage(conversation, { senderId: 'alice', clientMessageId: `m${lastSeq + 1}`, body: `message ${lastSeq + 1}` }, lastSeq, () => new Date(T0));
      if (outcome.kind !== 'stored') throw new Error(`a fresh clientMessageId came back ${outcome.kind}`);
      messages.push(outcome.message);
      lastSeq = outcome.message.seq;
    }
    return messages;
  };
  return {
    chat,
    conversation,
    connections,
    all: [...connections.alice, ...connections.bob, ...connections.carol],
    user: (userId) => ({ tenantId, userId }),
    append,
    deliveryOf: (message) => ({ tenantId, conversationId: conversation.conversationId, seq: message.seq, message }),
  };
}
