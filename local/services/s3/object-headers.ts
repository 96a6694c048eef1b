/**
 * How an object's description travels in headers: what a PUT, POST or CreateMultipartUpload
 * stores (Content-Type, the standard content headers, `x-amz-meta-*`, `x-amz-tagging`) and
 * what GET and HEAD answer (the same, with ETag, Last-Modified and any `response-*` overrides).
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from './errors';
import { header } from './request';
import type { ObjectRecord, Tag } from './store';

/** The content headers S3 keeps with an object and answers with. */
const CONTENT_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const;

/** `response-*` query parameters of a signed GET, and the header each overrides. */
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

/** The part of a record that comes from the request, not the body. */
export type ObjectDescription = Pick<ObjectRecord, 'contentType' | 'headers' | 'metadata' | 'tags'>;

/** What a PUT-like request says about the object it writes. */
export function describeFromHeaders(headers: IncomingHttpHeaders): ObjectDescription {
  const stored: Record<string, string> = {};
  for (const name of CONTENT_HEADERS) {
    let value = header(headers, name);
    // `aws-chunked` describes the upload's framing, not the object: S3 drops it.
    if (name === 'content-encoding' && value !== undefined) {
      value = value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token && token !== 'aws-chunked')
        .join(', ');
    }
    if (value) stored[name] = value;
  }
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
  }
  const tagging = header(headers, 'x-amz-tagging');
  return {
    contentType: header(headers, 'content-type') || DEFAULT_CONTENT_TYPE,
    headers: stored,
    metadata,
    tags: tagging ? parseTagSet(tagging) : [],
  };
}

/**
 * Tags in the `x-amz-tagging` header form (`k1=v1&k2=v2`, URL-encoded).
 * @throws S3Error InvalidTag beyond S3's limits (10 tags, keys 128 and values 256 characters, no repeats)
 */
export function parseTagSet(encoded: string): Tag[] {
  return validTags([...new URLSearchParams(encoded)].map(([key, value]) => ({ key, value })));
}

/** @throws S3Error InvalidTag beyond S3's limits */
export function validTags(tags: Tag[]): Tag[] {
  if (tags.length > 10) throw new S3Error('BadRequest', 400, 'Object tags cannot be greater than 10');
  const seen = new Set<string>();
  for (const tag of tags) {
    if (!tag.key || tag.key.length > 128) throw new S3Error('InvalidTag', 400, 'The TagKey you have provided is invalid', { TagKey: tag.key });
    if (tag.value.length > 256) throw new S3Error('InvalidTag', 400, 'The TagValue you have provided is too long, max 256', { TagKey: tag.key });
    if (seen.has(tag.key)) throw new S3Error('InvalidTag', 400, 'Cannot provide multiple Tags with the same key', { TagKey: tag.key });
    seen.add(tag.key);
  }
  return tags;
}

/** The headers GET and HEAD answer for an object, with the request's `response-*` overrides. */
export function objectResponseHeaders(record: ObjectRecord, query: Readonly<Record<string, string>>): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': record.contentType,
    etag: record.etag,
    'last-modified': record.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
    ...record.headers,
  };
  for (const [name, value] of Object.entries(record.metadata)) headers[`x-amz-meta-${name}`] = value;
  if (record.tags.length > 0) headers['x-amz-tagging-count'] = String(record.tags.length);
  for (const [parameter, name] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = query[parameter];
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

/** `"<md5 hex>"`: the ETag of a body written in one piece. */
export function md5ETag(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

/**
 * The byte range a `Range` header asks for, clamped to the object; undefined when there is no
 * usable single range (S3 then sends the whole object).
 * @throws S3Error InvalidRange (416) when the range starts past the end
 */
export function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  const match = value ? /^bytes=(\d*)-(\d*)$/.exec(value.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const [, from, to] = match;
  if (from === '') {
    const suffix = Number(to);
    if (suffix === 0) throw invalidRange(size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (to !== '' && Number(to) < start) return undefined;
  if (start >= size) throw invalidRange(size);
  return { start, end };
}

function invalidRange(size: number): S3Error {
  return new S3Error('InvalidRange', 416, 'The requested range is not satisfiable', { ActualObjectSize: size, RangeRequested: '' });
}

/**
 * The outcome of `If-Match`, `If-None-Match`, `If-Modified-Since` and `If-Unmodified-Since` on
 * a GET or HEAD: `'not-modified'` for a 304, or undefined to go on.
 * @throws S3Error PreconditionFailed (412)
 */
export function checkReadConditions(headers: IncomingHttpHeaders, record: ObjectRecord): 'not-modified' | undefined {
  const ifMatch = header(headers, 'if-match');
  const ifNoneMatch = header(headers, 'if-none-match');
  const ifModifiedSince = httpDate(header(headers, 'if-modified-since'));
  const ifUnmodifiedSince = httpDate(header(headers, 'if-unmodified-since'));
  // HTTP dates have whole seconds; a write within the same second is not "after" it.
  const modified = Math.floor(record.lastModified.getTime() / 1000) * 1000;

  if (ifMatch !== undefined && !etagListMatches(ifMatch, record.etag)) throw preconditionFailed('If-Match');
  if (ifMatch === undefined && ifUnmodifiedSince !== undefined && modified > ifUnmodifiedSince) throw preconditionFailed('If-Unmodified-Since');
  if (ifNoneMatch !== undefined && etagListMatches(ifNoneMatch, record.etag)) return 'not-modified';
  if (ifNoneMatch === undefined && ifModifiedSince !== undefined && modified <= ifModifiedSince) return 'not-modified';
  return undefined;
}

/** Whether an `If-Match` style list (`"a", "b"` or `*`) names this ETag. */
export function etagListMatches(list: string, etag: string): boolean {
  return list.split(',').some((candidate) => {
    const trimmed = candidate.trim();
    return trimmed === '*' || unquoteETag(trimmed) === unquoteETag(etag);
  });
}

export function unquoteETag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

export function preconditionFailed(condition: string): S3Error {
  return new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', { Condition: condition });
}

function httpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}
