/**
 * ListObjectsV2 and ListObjects: keys in UTF-8 byte order, filtered by prefix, rolled up into
 * common prefixes at the delimiter, in pages of `max-keys` (at most 1000). A common prefix
 * counts as one entry of a page, as on S3.
 */
import { owner, requireBucket, type OperationContext } from './context';
import { S3Error } from './errors';
import { encodeEventKey } from './notifications';
import { xmlResponse, type S3Response } from './request';
import { compareKeys, type ObjectRecord, type ObjectStore } from './store';

const MAX_KEYS = 1000;

/** One page of a listing. */
export interface ListingPage {
  readonly objects: readonly ObjectRecord[];
  readonly commonPrefixes: readonly string[];
  readonly truncated: boolean;
  /** The last key or common prefix of the page: where the next page starts after. */
  readonly last?: string;
}

/**
 * Lists after `marker` (a key or a common prefix from an earlier page), up to `maxKeys` entries.
 */
export function listPage(store: ObjectStore, bucket: string, options: { prefix: string; delimiter: string; marker: string; maxKeys: number }): ListingPage {
  const { prefix, delimiter, marker, maxKeys } = options;
  const objects: ObjectRecord[] = [];
  const commonPrefixes: string[] = [];
  let last: string | undefined;
  let truncated = false;
  // A marker that is a common prefix stands for every key under it.
  const skipUnder = delimiter && marker.endsWith(delimiter) ? marker : undefined;
  for (const key of store.keys(bucket)) {
    if (!key.startsWith(prefix)) continue;
    if (marker && compareKeys(key, marker) <= 0) continue;
    if (skipUnder && key.startsWith(skipUnder)) continue;
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const entry = cut >= 0 ? key.slice(0, cut + delimiter.length) : key;
    if (entry === last) continue;
    if (objects.length + commonPrefixes.length >= maxKeys) {
      truncated = maxKeys > 0;
      break;
    }
    if (cut >= 0) commonPrefixes.push(entry);
    else objects.push(store.head(bucket, key)!);
    last = entry;
  }
  return { objects, commonPrefixes, truncated, ...(last !== undefined ? { last } : {}) };
}

export async function listObjectsV2(context: OperationContext): Promise<S3Response> {
  const bucket = requireBucket(context);
  const query = context.request.query;
  const { prefix, delimiter, maxKeys, encode, encodingType } = listingOptions(context);
  const continuationToken = query['continuation-token'];
  const startAfter = query['start-after'] ?? '';
  let marker = startAfter;
  if (continuationToken !== undefined) {
    const decoded = decodeToken(continuationToken);
    if (decoded === undefined) throw new S3Error('InvalidArgument', 400, 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
    marker = decoded;
  }
  const page = listPage(context.store, bucket, { prefix, delimiter, marker, maxKeys });
  const fetchOwner = query['fetch-owner'] === 'true';
  return xmlResponse('ListBucketResult', {
    Name: bucket,
    Prefix: encode(prefix),
    ...(delimiter ? { Delimiter: encode(delimiter) } : {}),
    MaxKeys: maxKeys,
    KeyCount: page.objects.length + page.commonPrefixes.length,
    IsTruncated: page.truncated,
    ...(continuationToken !== undefined ? { ContinuationToken: continuationToken } : {}),
    ...(page.truncated && page.last !== undefined ? { NextContinuationToken: Buffer.from(page.last, 'utf8').toString('base64url') } : {}),
    ...(startAfter ? { StartAfter: encode(startAfter) } : {}),
    ...(encodingType ? { EncodingType: encodingType } : {}),
    Contents: page.objects.map((record) => contents(record, encode, fetchOwner ? owner(context.env) : undefined)),
    CommonPrefixes: page.commonPrefixes.map((common) => ({ Prefix: encode(common) })),
  });
}

export async function listObjects(context: OperationContext): Promise<S3Response> {
  const bucket = requireBucket(context);
  const { prefix, delimiter, maxKeys, encode, encodingType } = listingOptions(context);
  const marker = context.request.query['marker'] ?? '';
  const page = listPage(context.store, bucket, { prefix, delimiter, marker, maxKeys });
  return xmlResponse('ListBucketResult', {
    Name: bucket,
    Prefix: encode(prefix),
    Marker: encode(marker),
    ...(delimiter ? { Delimiter: encode(delimiter) } : {}),
    MaxKeys: maxKeys,
    IsTruncated: page.truncated,
    // S3 gives NextMarker only when a delimiter is used; SDKs use the last key otherwise.
    ...(page.truncated && delimiter && page.last !== undefined ? { NextMarker: encode(page.last) } : {}),
    ...(encodingType ? { EncodingType: encodingType } : {}),
    Contents: page.objects.map((record) => contents(record, encode, owner(context.env))),
    CommonPrefixes: page.commonPrefixes.map((common) => ({ Prefix: encode(common) })),
  });
}

function listingOptions(context: OperationContext) {
  const query = context.request.query;
  const maxKeysText = query['max-keys'];
  const maxKeys = maxKeysText === undefined ? MAX_KEYS : Number(maxKeysText);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new S3Error('InvalidArgument', 400, 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: maxKeysText ?? '' });
  const encodingType = query['encoding-type'];
  if (encodingType !== undefined && encodingType !== 'url') throw new S3Error('InvalidArgument', 400, 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type', ArgumentValue: encodingType });
  return {
    prefix: query['prefix'] ?? '',
    delimiter: query['delimiter'] ?? '',
    maxKeys: Math.min(maxKeys, MAX_KEYS),
    encodingType,
    encode: encodingType === 'url' ? encodeEventKey : (text: string) => text,
  };
}

function contents(record: ObjectRecord, encode: (text: string) => string, by?: { ID: string; DisplayName: string }) {
  return {
    Key: encode(record.key),
    LastModified: record.lastModified.toISOString(),
    ETag: record.etag,
    Size: record.size,
    ...(by ? { Owner: by } : {}),
    StorageClass: 'STANDARD',
  };
}

function decodeToken(token: string): string | undefined {
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  return decoded && Buffer.from(decoded, 'utf8').toString('base64url') === token ? decoded : undefined;
}
