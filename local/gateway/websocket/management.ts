import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLOSE, type LiveConnection } from './connection';
import { newWebSocketId } from './ids';
import type { ManagementOperation, WebSocketGatewayLogEntry } from './types';

/**
 * The API Gateway Management API (`@connections`) of one stage: `POST`, `GET` and `DELETE` on
 * `/{stage}/@connections/{connectionId}`. Any caller is accepted, signed or not: AWS checks the
 * SigV4 signature against IAM, which a local cloud has no use for.
 */
export interface ManagementContext {
  readonly stage: string;
  readonly connections: ReadonlyMap<string, LiveConnection>;
  readonly maxMessageBytes: number;
  readonly onManagementCall?: (operation: ManagementOperation) => void;
  readonly log: (entry: WebSocketGatewayLogEntry) => void;
}

const OPERATIONS: Readonly<Record<string, ManagementOperation>> = {
  POST: 'PostToConnection',
  GET: 'GetConnection',
  DELETE: 'DeleteConnection',
};

/**
 * The connection id a request addresses, or undefined when its path is not under
 * `/{stage}/@connections/`. Segments are URL-decoded: SDKs encode the id's `=`, and `awscurl`
 * users are told to encode the `@` too.
 */
export function managementTarget(url: string | undefined, stage: string): string | undefined {
  const path = (url ?? '').split('?')[0] as string;
  const segments = path.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
  if (segments.length !== 4 || segments[0] !== '' || segments[1] !== stage || segments[2] !== '@connections') return undefined;
  return segments[3] || undefined;
}

/** Serves one `@connections` request whose target {@link managementTarget} found. */
export async function handleManagementRequest(context: ManagementContext, connectionId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const operation = OPERATIONS[req.method ?? ''];
  if (!operation) {
    // Other methods have no route on the management API: API Gateway answers them with 403.
    await drain(req);
    return sendError(res, 403, 'ForbiddenException', 'Forbidden');
  }
  context.onManagementCall?.(operation);

  const body = operation === 'PostToConnection' ? await readBody(req, context.maxMessageBytes) : (await drain(req), Buffer.alloc(0));
  if (body === undefined) {
    context.log({ level: 'warn', message: `${operation} refused: payload over ${context.maxMessageBytes} bytes`, connectionId, statusCode: 413 });
    return sendError(res, 413, 'PayloadTooLargeException', 'Request entity too large');
  }

  const connection = context.connections.get(connectionId);
  if (!connection?.isOpen) {
    context.log({ level: 'warn', message: `${operation} to a connection that is gone`, connectionId, statusCode: 410 });
    return sendError(res, 410, 'GoneException', `Connection ${connectionId} is gone`);
  }

  switch (operation) {
    case 'PostToConnection':
      connection.send(body, !isUtf8(body));
      res.writeHead(200, { 'x-amzn-RequestId': newWebSocketId() }).end();
      return;
    case 'GetConnection':
      sendJson(res, 200, {
        connectedAt: new Date(connection.facts.connectedAt).toISOString(),
        identity: { sourceIp: connection.facts.sourceIp, userAgent: connection.facts.userAgent ?? null },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      });
      return;
    case 'DeleteConnection':
      connection.close(CLOSE.deleted);
      res.writeHead(204, { 'x-amzn-RequestId': newWebSocketId() }).end();
      return;
  }
}

/** An AWS REST-JSON error: `x-amzn-errortype` is what SDKs turn into the exception class. */
function sendError(res: ServerResponse, statusCode: number, errorType: string, message: string): void {
  sendJson(res, statusCode, { message }, { 'x-amzn-errortype': errorType });
}

/**
 * The JSON body in the wire format: lower-case member names (`connectedAt`, `identity.sourceIp`),
 * which SDKs map to `ConnectedAt`, `Identity.SourceIp`.
 */
function sendJson(res: ServerResponse, statusCode: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res
    .writeHead(statusCode, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'x-amzn-RequestId': newWebSocketId(),
      ...headers,
    })
    .end(body);
}

/** The whole body, or undefined once it passes `limit` bytes (the rest is read and dropped). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

async function drain(req: IncomingMessage): Promise<void> {
  // Reading the body to its end lets the client reuse its keep-alive connection.
  for await (const chunk of req as AsyncIterable<Buffer>) void chunk;
}
