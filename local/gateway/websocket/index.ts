import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { admitConnection, type Admission } from './connect';
import { CLOSE, LiveConnection, type ConnectionLimits, type DisconnectCause } from './connection';
import { disconnectEvent, type ConnectionFacts } from './events';
import { FrameSizeGuard } from './frame-guard';
import { handshakeHeaderLines, handshakeProblem, readHandshake, refuseHandshake } from './handshake';
import { newWebSocketId } from './ids';
import { invokeIntegration } from './invoke';
import { handleManagementRequest, managementTarget } from './management';
import { dispatchMessage, type MessageContext } from './messages';
import type { WebSocketGateway, WebSocketGatewayLogEntry, WebSocketGatewayOptions } from './types';

export type { ManagementOperation, WebSocketGateway, WebSocketGatewayLogEntry, WebSocketGatewayOptions } from './types';

/** How long `close()` lets clients answer the closing handshake before cutting them off. */
const CLOSE_GRACE_MS = 1_000;

/**
 * Starts one stage of a WebSocket API on a local port: the WebSocket endpoint at `/{stage}`
 * and its `@connections` Management API on the same port, as API Gateway serves them.
 *
 * - A handshake runs the `$connect` authorizer and route while the upgrade waits; they decide
 *   the HTTP status, and the route's `Sec-WebSocket-Protocol` answer is the subprotocol chosen.
 * - Each message is routed by the API's route selection expression. Messages of one connection
 *   are handed to their integrations in the order they arrive, each as soon as it arrives: like
 *   on AWS, a slow invocation does not hold the next one back, so they may run at once.
 * - Frames over `maxFrameBytes` and messages over `maxMessageBytes` close the connection with
 *   1009, binary frames with 1003 (API Gateway does not accept binary frames from clients).
 * - `$disconnect` runs, best effort, whoever closed the connection.
 */
export async function startWebSocketGateway(options: WebSocketGatewayOptions): Promise<WebSocketGateway> {
  const { api, invoker, env } = options;
  const host = options.host ?? '127.0.0.1';
  const limits: ConnectionLimits = {
    idleTimeoutMs: options.idleTimeoutMs ?? 10 * 60_000,
    maxLifetimeMs: options.maxLifetimeMs ?? 2 * 60 * 60_000,
    maxFrameBytes: options.maxFrameBytes ?? 32 * 1024,
  };
  const maxMessageBytes = options.maxMessageBytes ?? 128 * 1024;
  const log = (entry: WebSocketGatewayLogEntry) => options.log?.(entry);

  const connections = new Map<string, LiveConnection>();
  const admissions = new WeakMap<IncomingMessage, Extract<Admission, { kind: 'accept' }>>();
  const inFlight = new Set<Promise<void>>();
  let closing = false;
  let port = 0;

  /** Remembers work that `close()` must wait for; a failure is logged, never left unhandled. */
  const track = (work: Promise<unknown>) => {
    const settled: Promise<void> = work.then(
      () => undefined,
      (error: unknown) => log({ level: 'error', message: `gateway error: ${error instanceof Error ? error.stack : String(error)}` }),
    );
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
  };

  const messageContext: MessageContext = { api, invoker, routeKeys: new Set(api.routes.map((route) => route.routeKey)), log };

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    // The message quota is enforced by ws itself; frames are measured by FrameSizeGuard.
    maxPayload: maxMessageBytes,
    perMessageDeflate: false,
    // Exactly what the $connect route answered; when it chose nothing, the handshake completes
    // without a subprotocol even if the client offered some (a browser then fails, as on AWS).
    handleProtocols: (_offered, req) => admissions.get(req)?.protocol ?? false,
  });
  wss.on('headers', (headers: string[], req: IncomingMessage) => {
    headers.push(...handshakeHeaderLines(admissions.get(req)?.headers ?? []));
  });

  const server = createServer((req, res) => {
    const connectionId = managementTarget(req.url, api.stageName);
    if (connectionId === undefined) {
      res.writeHead(403, { 'Content-Type': 'application/json', 'x-amzn-errortype': 'ForbiddenException' }).end('{"message":"Forbidden"}');
      return;
    }
    track(
      handleManagementRequest(
        { stage: api.stageName, connections, maxMessageBytes, onManagementCall: options.onManagementCall, log },
        connectionId,
        req,
        res,
      ),
    );
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => track(upgrade(req, socket, head)));

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // A client that goes away while $connect runs must not take the gateway down with it.
    socket.on('error', () => socket.destroy());
    if (closing) {
      refuseHandshake(socket, 503, '{"message":"Service Unavailable"}');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path !== `/${api.stageName}` && path !== `/${api.stageName}/`) {
      refuseHandshake(socket, 403, '{"message":"Forbidden"}');
      return;
    }
    const problem = handshakeProblem(req);
    if (problem) {
      refuseHandshake(socket, 400, JSON.stringify({ message: problem }));
      return;
    }

    const handshake = readHandshake(req, port);
    const facts: ConnectionFacts = {
      connectionId: newWebSocketId(),
      connectedAt: Date.now(),
      apiId: api.apiId,
      stage: api.stageName,
      domainName: handshake.host ?? `${host}:${port}`,
      sourceIp: handshake.sourceIp,
      ...(handshake.userAgent === undefined ? {} : { userAgent: handshake.userAgent }),
    };
    const admission = await admitConnection({ api, invoker, env }, facts, handshake);
    if (admission.kind === 'refuse') {
      log({ level: 'warn', message: `handshake refused: ${admission.why}`, connectionId: facts.connectionId, statusCode: admission.statusCode });
      refuseHandshake(socket, admission.statusCode, admission.body, admission.headers);
      return;
    }
    admissions.set(req, admission);
    wss.handleUpgrade(req, socket, head, (ws) => open(ws, socket, admission.facts));
  }

  function open(ws: WebSocket, socket: Duplex, facts: ConnectionFacts): void {
    const connection = new LiveConnection(facts, ws, limits);
    connections.set(connection.id, connection);
    log({ level: 'info', message: 'connected', connectionId: connection.id });
    track(connection.closed.then((cause) => disconnected(connection, cause)));
    if (closing) connection.close(CLOSE.goingAway);

    // Prepended so an oversized frame is seen before ws has parsed (and delivered) it.
    const guard = new FrameSizeGuard(limits.maxFrameBytes);
    const inspect = (chunk: Buffer) => {
      const size = guard.inspect(chunk);
      if (size === undefined) return;
      socket.off('data', inspect);
      log({ level: 'warn', message: `frame of ${size} bytes is over the ${limits.maxFrameBytes}-byte frame quota`, connectionId: connection.id });
      connection.close(CLOSE.tooBig);
    };
    socket.prependListener('data', inspect);

    ws.on('message', (data: RawData, isBinary: boolean) => {
      // Anything still arriving after the gateway started closing is dropped, as AWS would.
      if (!connection.isOpen) return;
      if (isBinary) {
        log({ level: 'warn', message: 'binary frame refused', connectionId: connection.id });
        connection.close(CLOSE.binaryFrame);
        return;
      }
      connection.touch();
      track(dispatchMessage(messageContext, connection, toBuffer(data).toString('utf8')));
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws closes the connection itself after a protocol error; remember why for $disconnect.
      const statusCode = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? CLOSE.tooBig.statusCode : error.code === 'WS_ERR_INVALID_UTF8' ? 1007 : 1002;
      log({ level: 'warn', message: `connection failed: ${error.message}`, connectionId: connection.id });
      connection.failed(statusCode === CLOSE.tooBig.statusCode ? CLOSE.tooBig : { statusCode, reason: error.message });
    });
  }

  async function disconnected(connection: LiveConnection, cause: DisconnectCause): Promise<void> {
    connections.delete(connection.id);
    log({ level: 'info', message: `disconnected: ${cause.statusCode} ${cause.reason}`, connectionId: connection.id });
    const route = api.routes.find((candidate) => candidate.routeKey === '$disconnect');
    if (!route) return;
    const event = disconnectEvent(connection.facts, cause.statusCode, cause.reason);
    const outcome = await invokeIntegration(invoker, route.functionArn, event, route.timeoutMs);
    // Best effort, as on AWS: the client is gone, so a failure is only logged.
    if (outcome.kind !== 'returned') {
      const why = outcome.kind === 'failed' ? `${outcome.errorType}: ${outcome.errorMessage}` : 'timed out';
      log({ level: 'error', message: `$disconnect failed: ${why}`, connectionId: connection.id, routeKey: '$disconnect' });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const origin = `${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url: `ws://${origin}/${api.stageName}`,
    callbackUrl: `http://${origin}/${api.stageName}`,
    port,
    connections: () => connections.size,
    async close() {
      closing = true;
      wss.close();
      const open = [...connections.values()];
      for (const connection of open) connection.close(CLOSE.goingAway);
      const grace = setTimeout(() => open.forEach((connection) => connection.terminate()), CLOSE_GRACE_MS);
      await Promise.all(open.map((connection) => connection.closed));
      clearTimeout(grace);
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}
