import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { WebSocket, type ClientOptions } from 'ws';
import { DEFAULT_ENVIRONMENT, type InvocationOutcome, type LambdaInvoker, type WebSocketApiModel, type WebSocketRouteModel } from '../../../local/model';
import { startWebSocketGateway, type WebSocketGateway, type WebSocketGatewayOptions } from '../../../local/gateway/websocket';

export const arnOf = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

export const CONNECT = arnOf('ws-connect');
export const DISCONNECT = arnOf('ws-disconnect');
export const DEFAULT = arnOf('ws-default');
export const ECHO = arnOf('ws-echo');
export const AUTHORIZER = arnOf('ws-authorizer');

/** What a fake function does with its event: return a result, or throw to fail like Lambda. */
export type FakeFunction = (event: any) => unknown;

/** A recorded invocation. */
export interface Invocation {
  readonly target: string;
  readonly event: any;
}

/**
 * A `LambdaInvoker` whose functions are plain JavaScript: a thrown error becomes Lambda's error
 * shape (`errorType` is the error's name, `errorMessage` its message), a function it does not
 * know fails as Lambda would. Every invocation is recorded.
 */
export function fakeInvoker(functions: Record<string, FakeFunction>) {
  const invocations: Invocation[] = [];
  const invoker: LambdaInvoker = {
    async invoke(target: string, event: unknown): Promise<InvocationOutcome> {
      invocations.push({ target, event });
      const fn = functions[target];
      if (!fn) return { requestId: 'r', error: { errorType: 'ResourceNotFoundException', errorMessage: `no function ${target}` }, durationMs: 0 };
      try {
        return { requestId: 'r', result: JSON.parse(JSON.stringify((await fn(event)) ?? null)), durationMs: 1 };
      } catch (error) {
        return { requestId: 'r', error: { errorType: (error as Error).name, errorMessage: (error as Error).message }, durationMs: 1 };
      }
    },
  };
  return {
    invoker,
    invocations,
    /** The events `target` received, oldest first. */
    eventsOf: (target: string) => invocations.filter((invocation) => invocation.target === target).map((invocation) => invocation.event),
  };
}

const route = (routeKey: string, functionArn: string): WebSocketRouteModel => ({ routeKey, functionArn, timeoutMs: 29_000 });

/** A WebSocket API with `$connect`, `$disconnect`, `$default` and an `echo` route; parts can be replaced. */
export function apiModel(overrides: Partial<WebSocketApiModel> = {}): WebSocketApiModel {
  return {
    logicalId: 'WebSocketApi',
    stackName: 'test-stack',
    name: 'test-ws',
    apiId: 'ws0987abcd',
    stageName: 'dev',
    routeSelectionExpression: '$request.body.action',
    routes: [route('$connect', CONNECT), route('$disconnect', DISCONNECT), route('$default', DEFAULT), route('echo', ECHO)],
    ...overrides,
  };
}

export { route };

/** Starts a gateway on a free port with a fake invoker; `close()` it in `afterEach`. */
export async function startGateway(
  functions: Record<string, FakeFunction>,
  options: Partial<Omit<WebSocketGatewayOptions, 'invoker' | 'env'>> = {},
): Promise<{ gateway: WebSocketGateway; fake: ReturnType<typeof fakeInvoker> }> {
  const fake = fakeInvoker(functions);
  const gateway = await startWebSocketGateway({ api: apiModel(), invoker: fake.invoker, env: DEFAULT_ENVIRONMENT, ...options });
  return { gateway, fake };
}

/** A WebSocket client that has opened, with every message it received, in order. */
export interface OpenClient {
  readonly socket: WebSocket;
  readonly received: string[];
  /** Settles when the connection closes, with the code and reason the client saw. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

/** Connects and waits for the handshake to succeed; rejects with the reason it failed. */
export function connect(url: string, protocols?: string | string[], options?: ClientOptions): Promise<OpenClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, options);
    const received: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((settle) =>
      socket.once('close', (code, reason) => settle({ code, reason: reason.toString('utf8') })),
    );
    socket.on('message', (data) => received.push(data.toString()));
    socket.once('open', () => resolve({ socket, received, closed }));
    socket.once('error', reject);
  });
}

/** Attempts a handshake that the gateway must refuse; resolves with the HTTP status and body. */
export function refusedHandshake(url: string, protocols?: string | string[], options?: ClientOptions): Promise<{ statusCode: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, options);
    socket.once('open', () => {
      socket.terminate();
      reject(new Error('the handshake succeeded'));
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, body }));
    });
    socket.once('error', reject);
  });
}

/** An SDK client pointed at the gateway's `@connections` endpoint, as a Lambda would build it. */
export function managementClient(gateway: WebSocketGateway): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint: gateway.callbackUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

/** A test JWT-looking token; the fake authorizer only compares strings. */
export const GOOD_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

/**
 * A fake `$connect` authorizer with the deployed one's contract: the token comes after `bearer`
 * in `Sec-WebSocket-Protocol` or as `?token=`; a good token is allowed with the principal in the
 * context, anything else is refused with `Unauthorized`.
 */
export function tokenAuthorizer(event: any) {
  const offered = String(event.headers['Sec-WebSocket-Protocol'] ?? '')
    .split(',')
    .map((protocol: string) => protocol.trim());
  const token = offered.includes('bearer') ? offered[offered.indexOf('bearer') + 1] : event.queryStringParameters?.token;
  if (token !== GOOD_TOKEN) throw new Error('Unauthorized');
  return {
    principalId: 'alice',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
    context: { userId: 'alice', tenantId: 'acme', scopes: 'chat:write', admin: false },
  };
}
