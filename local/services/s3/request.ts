/**
 * The HTTP side of the local S3: which bucket and key a request addresses (path style, or
 * virtual-hosted when the host names a known bucket), its body as S3 reads it (aws-chunked
 * framing removed, the signed payload hash and Content-MD5 checked), and how answers and
 * errors are written.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { S3Error } from './errors';
import { toXml } from './xml';

/** A request to S3, addressed. */
export interface S3Request {
  readonly method: string;
  /** Path and query exactly as sent: what a signature covers. */
  readonly rawPath: string;
  readonly rawQuery: string;
  /** Query parameters, decoded; the first value of a repeated name. */
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly bucket?: string;
  /** The object key, decoded; undefined for a bucket-level request. */
  readonly key?: string;
  readonly sourceIp: string;
  readonly requestId: string;
  readonly hostId: string;
}

/** An answer: status, headers, and a body (XML text, or object bytes). */
export interface S3Response {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
}

/**
 * Works out what a request addresses. Virtual-hosted style (`<bucket>.<host>`) is used when the
 * host is a name, not an address, and its first label is a bucket that exists; otherwise the
 * first path segment is the bucket, as the SDK sends it to an IP endpoint (`forcePathStyle`).
 */
export function addressRequest(req: IncomingMessage, ids: { requestId: string; hostId: string }, bucketExists: (name: string) => boolean): S3Request {
  const url = req.url ?? '/';
  const at = url.indexOf('?');
  const rawPath = at < 0 ? url : url.slice(0, at);
  const rawQuery = at < 0 ? '' : url.slice(at + 1);
  const query: Record<string, string> = {};
  for (const pair of rawQuery.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const name = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
    if (!(name in query)) query[name] = eq < 0 ? '' : safeDecode(pair.slice(eq + 1));
  }

  const hostname = (header(req.headers, 'host') ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const hostLabel = hostname.split('.')[0] ?? '';
  const virtualHosted = !isIP(hostname) && hostname.includes('.') && bucketExists(hostLabel);
  let bucket: string | undefined;
  let key: string | undefined;
  if (virtualHosted) {
    bucket = hostLabel;
    key = rawPath.length > 1 ? safeDecode(rawPath.slice(1)) : undefined;
  } else {
    const slash = rawPath.indexOf('/', 1);
    const bucketPart = slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash);
    bucket = bucketPart ? safeDecode(bucketPart) : undefined;
    const keyPart = slash < 0 ? '' : rawPath.slice(slash + 1);
    key = keyPart ? safeDecode(keyPart) : undefined;
  }

  return {
    method: (req.method ?? 'GET').toUpperCase(),
    rawPath,
    rawQuery,
    query,
    headers: req.headers,
    ...(bucket !== undefined ? { bucket } : {}),
    ...(key !== undefined ? { key } : {}),
    sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
    ...ids,
  };
}

/** One value of a header (the first, when it was sent more than once). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Reads the body as S3 stores it.
 * @param payloadHash the signed `x-amz-content-sha256`, when the request was header-signed
 * @throws S3Error XAmzContentSHA256Mismatch, BadDigest, InvalidDigest, IncompleteBody
 */
export async function readPayload(req: IncomingMessage, payloadHash: string | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: Buffer = Buffer.concat(chunks);

  if (payloadHash === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' || payloadHash === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER') {
    throw new S3Error('NotImplemented', 501, 'Signed aws-chunked uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are not served by the local S3; sign with UNSIGNED-PAYLOAD or the payload hash.');
  }
  const encoding = header(req.headers, 'content-encoding') ?? '';
  if (payloadHash === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' || encoding.split(',').some((token) => token.trim() === 'aws-chunked')) {
    body = decodeAwsChunked(body);
    const declared = header(req.headers, 'x-amz-decoded-content-length');
    if (declared !== undefined && Number(declared) !== body.length) {
      throw new S3Error('IncompleteBody', 400, 'You did not provide the number of bytes specified by the Content-Length HTTP header');
    }
  }

  if (payloadHash && /^[0-9a-f]{64}$/i.test(payloadHash)) {
    const computed = createHash('sha256').update(body).digest('hex');
    if (computed !== payloadHash.toLowerCase()) {
      throw new S3Error('XAmzContentSHA256Mismatch', 400, "The provided 'x-amz-content-sha256' header does not match what was computed.", {
        ClientComputedContentSHA256: payloadHash,
        S3ComputedContentSHA256: computed,
      });
    }
  }

  const md5 = header(req.headers, 'content-md5');
  if (md5 !== undefined) {
    if (Buffer.from(md5, 'base64').length !== 16) throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.', { 'Content-MD5': md5 });
    const computed = createHash('md5').update(body).digest('base64');
    if (computed !== md5) {
      throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.', { ExpectedDigest: md5, CalculatedDigest: computed });
    }
  }
  return body;
}

/**
 * Removes aws-chunked framing (`<hex size>[;chunk-signature=...]\r\n<data>\r\n ... 0\r\n<trailers>\r\n`);
 * trailing checksums are read past, not checked.
 */
export function decodeAwsChunked(framed: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = framed.indexOf('\r\n', at);
    if (lineEnd < 0) throw incompleteBody();
    const size = parseInt(framed.subarray(at, lineEnd).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isInteger(size) || size < 0) throw incompleteBody();
    at = lineEnd + 2;
    if (size === 0) return Buffer.concat(parts);
    if (at + size + 2 > framed.length) throw incompleteBody();
    parts.push(framed.subarray(at, at + size));
    at += size + 2;
  }
}

/** An XML answer in S3's namespace. */
export function xmlResponse(root: string, body: Record<string, unknown>, status = 200, headers: Record<string, string> = {}): S3Response {
  return { status, headers: { 'content-type': 'application/xml', ...headers }, body: toXml(root, body) };
}

/** Writes an answer with S3's request ids and the given CORS headers. */
export function send(res: ServerResponse, request: Pick<S3Request, 'method' | 'requestId' | 'hostId'>, response: S3Response, cors: Record<string, string>): void {
  const body = response.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(response.body) ? response.body : Buffer.from(response.body, 'utf8');
  const headers: Record<string, string> = {
    'x-amz-request-id': request.requestId,
    'x-amz-id-2': request.hostId,
    server: 'AmazonS3',
    ...cors,
    ...response.headers,
  };
  if (headers['content-length'] === undefined) headers['content-length'] = String(body.length);
  res.writeHead(response.status, headers);
  // HEAD answers carry the headers of the body they do not send; 204 and 304 have none.
  if (request.method === 'HEAD' || response.status === 204 || response.status === 304) res.end();
  else res.end(body);
}

/** S3's error document (none for HEAD, whose errors are a status alone). */
export function errorResponse(error: S3Error, request: Pick<S3Request, 'requestId' | 'hostId' | 'rawPath'>): S3Response {
  const body = toXml(
    'Error',
    { Code: error.code, Message: error.message, ...error.details, Resource: request.rawPath, RequestId: request.requestId, HostId: request.hostId },
    false,
  );
  return { status: error.status, headers: { 'content-type': 'application/xml' }, body };
}

function incompleteBody(): S3Error {
  return new S3Error('IncompleteBody', 400, 'The request body terminated unexpectedly');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
