import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { VettedDestination } from './outbound-url';

/**
 * One HTTP request to a destination `vetDestination` approved, connected to the address it
 * vetted and no other.
 *
 * Node 20's global fetch (undici) takes no per-request resolver, so the request goes through
 * `node:http` / `node:https` with a custom `lookup` that answers the vetted address: the Host
 * header and TLS (SNI, certificate check) still use the URL's name, only the socket's address is
 * fixed. A literal address needs no lookup and is connected to as written.
 *
 * What it refuses to do, on purpose:
 * - follow redirects (Node never does): a 3xx comes back as a status, for the caller to judge;
 * - reuse connections (`agent: false`): a pooled socket is keyed by host and port, not by the
 *   address it reached, so reusing one could skip the vetting of this request. The price is a
 *   TCP and TLS handshake per request;
 * - read a large answer: at most {@link MAX_RESPONSE_BYTES} are read and all but a short
 *   excerpt discarded; the connection is closed beyond that.
 */

/** Most of a response body read before the connection is closed. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** Most of the response body kept, as text, for an error message. */
export const EXCERPT_CHARS = 200;

export interface PinnedRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Aborts the request, or the reading of its answer; it rejects with the signal's reason. */
  readonly signal: AbortSignal;
  /** @default MAX_RESPONSE_BYTES */
  readonly maxResponseBytes?: number;
}

export interface PinnedResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The start of the body as text, control characters replaced, at most {@link EXCERPT_CHARS}. */
  readonly excerpt: string;
  /** Body bytes read (at most `maxResponseBytes`). */
  readonly bytesRead: number;
  /** Whether the body went on beyond `maxResponseBytes` (and was not read). */
  readonly truncated: boolean;
}

/** A response ended before its body did. Network fault (transient), like a reset. */
export class ResponseInterruptedError extends Error {
  readonly code = 'ECONNRESET';
  constructor() {
    super('the connection closed before the response body ended');
    this.name = 'ResponseInterruptedError';
  }
}

/**
 * Sends the request to `destination.address` and reads the start of its answer.
 *
 * @throws the socket's error (ECONNREFUSED, ECONNRESET, a TLS failure), a
 *   ResponseInterruptedError, or the signal's reason when it aborts
 */
export function requestPinned(destination: VettedDestination, request: PinnedRequest): Promise<PinnedResponse> {
  const { url, address, family } = destination;
  const maxBytes = request.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const client = url.protocol === 'https:' ? https : http;
  const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');

  return new Promise<PinnedResponse>((resolve, reject) => {
    const { signal } = request;
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const fail = (error: unknown): void => settle(() => reject(error));
    const onAbort = (): void => {
      fail(signal.reason);
      req.destroy();
    };

    const req = client.request(
      {
        protocol: url.protocol,
        // URL keeps IPv6 hosts in brackets; a socket wants them bare (Node brackets the Host header again).
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: { ...request.headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) },
        lookup: pinnedLookup(address, family),
        agent: false,
      },
      (res) => {
        const kept: Buffer[] = [];
        let keptBytes = 0;
        let bytesRead = 0;
        let ended = false;
        const finish = (truncated: boolean): void =>
          settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, excerpt: excerptOf(Buffer.concat(kept)), bytesRead, truncated }));

        res.on('data', (chunk: Buffer) => {
          const taken = chunk.subarray(0, Math.max(0, maxBytes - bytesRead));
          bytesRead += taken.length;
          // Four bytes per character at most: enough for the excerpt, whatever the encoding.
          if (keptBytes < EXCERPT_CHARS * 4) {
            kept.push(taken.subarray(0, EXCERPT_CHARS * 4 - keptBytes));
            keptBytes += Math.min(taken.length, EXCERPT_CHARS * 4 - keptBytes);
          }
          if (taken.length < chunk.length) {
            finish(true);
            res.destroy();
          }
        });
        res.on('end', () => {
          ended = true;
          finish(false);
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!ended) fail(new ResponseInterruptedError());
        });
      },
    );
    req.on('error', fail);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    req.end(body);
  });
}

/**
 * A `lookup` that answers the vetted address whatever it is asked. Node 20 asks for every
 * address (`all: true`) when it may try several families (autoSelectFamily), one otherwise.
 */
function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

function excerptOf(bytes: Buffer): string {
  const text = bytes
    .toString('utf8')
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .trim();
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}
