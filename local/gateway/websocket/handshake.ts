import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** What API Gateway reads from a WebSocket upgrade request, in the shapes its events carry. */
export interface Handshake {
  /** Each header's last value, names as the client spelled them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly multiValueHeaders: Readonly<Record<string, readonly string[]>>;
  /** Each query parameter's last value. */
  readonly queryStringParameters: Readonly<Record<string, string>>;
  readonly multiValueQueryStringParameters: Readonly<Record<string, readonly string[]>>;
  readonly sourceIp: string;
  readonly userAgent?: string;
  /** The `Host` the client dialled, which handlers see as `requestContext.domainName`. */
  readonly host?: string;
}

/**
 * Reads the handshake's headers and query string. AWS adds the `X-Forwarded-*` headers its
 * front end sets; they are added here too (unless the client sent them) because handlers read
 * the caller's address from `X-Forwarded-For`.
 */
export function readHandshake(req: IncomingMessage, localPort: number): Handshake {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const add = (name: string, value: string) => {
    // Header names are case-insensitive: later spellings join the first one seen.
    const key = Object.keys(multiValueHeaders).find((known) => known.toLowerCase() === name.toLowerCase()) ?? name;
    headers[key] = value;
    (multiValueHeaders[key] ??= []).push(value);
  };
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) add(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);

  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const forwarded = { 'X-Forwarded-For': sourceIp, 'X-Forwarded-Port': String(localPort), 'X-Forwarded-Proto': 'http' };
  for (const [name, value] of Object.entries(forwarded)) {
    if (req.headers[name.toLowerCase()] === undefined) add(name, value);
  }

  const queryStringParameters: Record<string, string> = {};
  const multiValueQueryStringParameters: Record<string, string[]> = {};
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  for (const [name, value] of query) {
    queryStringParameters[name] = value;
    (multiValueQueryStringParameters[name] ??= []).push(value);
  }

  return {
    headers,
    multiValueHeaders,
    queryStringParameters,
    multiValueQueryStringParameters,
    sourceIp,
    ...(req.headers['user-agent'] === undefined ? {} : { userAgent: req.headers['user-agent'] }),
    ...(req.headers.host === undefined ? {} : { host: req.headers.host }),
  };
}

/** A header's last value, matching its name case-insensitively. */
export function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let found: string | undefined;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) found = value;
  return found;
}

const KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Why `req` is not a WebSocket handshake `ws` would accept, or undefined when it is. Checked
 * before the authorizer and `$connect` run, so a request `ws` would refuse invokes nothing.
 */
export function handshakeProblem(req: IncomingMessage): string | undefined {
  if (req.method !== 'GET') return 'Invalid HTTP method';
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return 'Invalid Upgrade header';
  if (!KEY.test(req.headers['sec-websocket-key'] ?? '')) return 'Missing or invalid Sec-WebSocket-Key header';
  const version = Number(req.headers['sec-websocket-version']);
  if (version !== 13 && version !== 8) return 'Missing or invalid Sec-WebSocket-Version header';
  return undefined;
}

/** Headers a handler may not set on a handshake response: the gateway owns them. */
const GATEWAY_OWNED_HEADERS = new Set([
  'connection',
  'content-length',
  'sec-websocket-accept',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The handler's headers that may go on a handshake response, as `Name: value` lines. A value
 * with a line break would let a handler write arbitrary response lines, so such headers are dropped.
 */
export function handshakeHeaderLines(headers: readonly (readonly [string, string])[]): string[] {
  return headers
    .filter(([name, value]) => !GATEWAY_OWNED_HEADERS.has(name.toLowerCase()) && !/[\r\n]/.test(name + value))
    .map(([name, value]) => `${name}: ${value}`);
}

/**
 * Refuses a handshake with a plain HTTP response, as API Gateway does when the authorizer or
 * `$connect` says no: the client sees the status (`Unexpected server response: 401`), never a
 * WebSocket.
 */
export function refuseHandshake(
  socket: Duplex,
  statusCode: number,
  body: string,
  headers: readonly (readonly [string, string])[] = [],
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const lines = handshakeHeaderLines(headers);
  if (!lines.some((line) => /^content-type:/i.test(line))) lines.push('Content-Type: application/json');
  const head = [`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}`, 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`, ...lines];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}
