/**
 * Single-object operations: PutObject, GetObject (ranges, conditions, `response-*`),
 * HeadObject, CopyObject, DeleteObject, DeleteObjects, and object tagging.
 */
import { publish, requireBucket, type OperationContext } from './context';
import { noSuchBucket, noSuchKey, malformedXml, S3Error } from './errors';
import {
  checkReadConditions,
  describeFromHeaders,
  etagListMatches,
  md5ETag,
  objectResponseHeaders,
  parseRange,
  preconditionFailed,
  validTags,
} from './object-headers';
import { header, xmlResponse, type S3Response } from './request';
import type { ObjectRecord } from './store';
import { listOf, parseXmlBody, textOf } from './xml';

const MAX_KEY_BYTES = 1024;
const MAX_DELETE_KEYS = 1000;

/** The bucket and key of an object request. */
export function requireObject(context: OperationContext): { bucket: string; key: string } {
  const bucket = requireBucket(context);
  const key = context.request.key!;
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError', 400, 'Your key is too long', { Size: Buffer.byteLength(key, 'utf8'), MaxSizeAllowed: MAX_KEY_BYTES });
  return { bucket, key };
}

export async function putObject(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  checkWriteConditions(context, bucket, key);
  const body = await context.body();
  const record: ObjectRecord = {
    key,
    size: body.length,
    etag: md5ETag(body),
    lastModified: context.now(),
    ...describeFromHeaders(context.request.headers),
  };
  await context.store.put(bucket, record, body);
  publish(context, { name: 'ObjectCreated:Put', bucket, key, size: record.size, etag: record.etag });
  return { status: 200, headers: { etag: record.etag } };
}

/** GetObject, and HeadObject (the same answer; the body is left off when it is sent). */
export async function getObject(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  if (context.request.query['partNumber'] !== undefined) throw new S3Error('NotImplemented', 501, 'GetObject and HeadObject by partNumber are not served by the local S3.');
  // HEAD answers from the record alone: the body stays where it is.
  const found = context.request.method === 'HEAD' ? withoutBody(context.store.head(bucket, key)) : await context.store.read(bucket, key);
  if (!found) throw noSuchKey(key);
  const { record, body } = found;
  const headers = objectResponseHeaders(record, context.request.query);
  if (checkReadConditions(context.request.headers, record) === 'not-modified') {
    return { status: 304, headers: { etag: record.etag, 'last-modified': headers['last-modified']! } };
  }
  const range = parseRange(header(context.request.headers, 'range'), record.size);
  if (!range) return { status: 200, headers: { ...headers, 'content-length': String(record.size) }, body };
  return {
    status: 206,
    headers: { ...headers, 'content-length': String(range.end - range.start + 1), 'content-range': `bytes ${range.start}-${range.end}/${record.size}` },
    body: body.subarray(range.start, range.end + 1),
  };
}

export async function deleteObject(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  const removed = await context.store.delete(bucket, key);
  // Deleting a key that is not there succeeds, as on S3; only a real removal is an event.
  if (removed) publish(context, { name: 'ObjectRemoved:Delete', bucket, key });
  return { status: 204 };
}

/** DeleteObjects: up to 1000 keys from a `<Delete>` document; each reported, unless `Quiet`. */
export async function deleteObjects(context: OperationContext): Promise<S3Response> {
  const bucket = requireBucket(context);
  const document = parseXmlBody(await context.body(), 'Delete');
  const objects = listOf(document, 'Object');
  if (objects.length === 0 || objects.length > MAX_DELETE_KEYS) throw malformedXml();
  const quiet = textOf(document, 'Quiet')?.trim() === 'true';
  const deleted: { Key: string }[] = [];
  const errors: { Key: string; Code: string; Message: string }[] = [];
  for (const object of objects) {
    const key = textOf(object, 'Key');
    if (key === undefined || key === '') {
      errors.push({ Key: key ?? '', Code: 'InvalidArgument', Message: 'Invalid key' });
      continue;
    }
    const removed = await context.store.delete(bucket, key);
    if (removed) publish(context, { name: 'ObjectRemoved:Delete', bucket, key });
    deleted.push({ Key: key });
  }
  return xmlResponse('DeleteResult', { ...(quiet ? {} : { Deleted: deleted }), Error: errors });
}

export async function copyObject(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  const source = await readCopySource(context);
  const headers = context.request.headers;
  const replaceMetadata = (header(headers, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase() === 'REPLACE';
  const replaceTags = (header(headers, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase() === 'REPLACE';
  if (source.bucket === bucket && source.key === key && !replaceMetadata) {
    throw new S3Error(
      'InvalidRequest',
      400,
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  checkWriteConditions(context, bucket, key);
  const requested = describeFromHeaders(headers);
  const record: ObjectRecord = {
    key,
    size: source.body.length,
    etag: md5ETag(source.body),
    lastModified: context.now(),
    contentType: replaceMetadata ? requested.contentType : source.record.contentType,
    headers: replaceMetadata ? requested.headers : source.record.headers,
    metadata: replaceMetadata ? requested.metadata : source.record.metadata,
    tags: replaceTags ? requested.tags : source.record.tags,
  };
  await context.store.put(bucket, record, source.body);
  publish(context, { name: 'ObjectCreated:Copy', bucket, key, size: record.size, etag: record.etag });
  return xmlResponse('CopyObjectResult', { LastModified: record.lastModified.toISOString(), ETag: record.etag });
}

/**
 * The object `x-amz-copy-source` names (`bucket/key` or `/bucket/key`, URL-encoded), checked
 * against the `x-amz-copy-source-if-*` conditions.
 */
export async function readCopySource(context: OperationContext): Promise<{ bucket: string; key: string; record: ObjectRecord; body: Buffer }> {
  const raw = header(context.request.headers, 'x-amz-copy-source') ?? '';
  const path = raw.split('?')[0]!.replace(/^\//, '');
  const slash = path.indexOf('/');
  let bucket: string;
  let key: string;
  try {
    bucket = decodeURIComponent(path.slice(0, slash));
    key = decodeURIComponent(path.slice(slash + 1));
  } catch {
    throw new S3Error('InvalidArgument', 400, 'Invalid copy source encoding', { ArgumentName: 'x-amz-copy-source', ArgumentValue: raw });
  }
  if (slash <= 0 || !key) throw new S3Error('InvalidArgument', 400, 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { ArgumentName: 'x-amz-copy-source', ArgumentValue: raw });
  if (!context.store.hasBucket(bucket)) throw noSuchBucket(bucket);
  const found = await context.store.read(bucket, key);
  if (!found) throw noSuchKey(key);
  const headers = context.request.headers;
  const ifMatch = header(headers, 'x-amz-copy-source-if-match');
  const ifNoneMatch = header(headers, 'x-amz-copy-source-if-none-match');
  if (ifMatch !== undefined && !etagListMatches(ifMatch, found.record.etag)) throw preconditionFailed('x-amz-copy-source-If-Match');
  if (ifNoneMatch !== undefined && etagListMatches(ifNoneMatch, found.record.etag)) throw preconditionFailed('x-amz-copy-source-If-None-Match');
  return { bucket, key, ...found };
}

export async function getObjectTagging(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  const record = context.store.head(bucket, key);
  if (!record) throw noSuchKey(key);
  return xmlResponse('Tagging', { TagSet: { Tag: record.tags.map((tag) => ({ Key: tag.key, Value: tag.value })) } });
}

export async function putObjectTagging(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  const document = parseXmlBody(await context.body(), 'Tagging');
  const tags = validTags(listOf(document['TagSet'], 'Tag').map((tag) => ({ key: textOf(tag, 'Key') ?? '', value: textOf(tag, 'Value') ?? '' })));
  if (!(await context.store.setTags(bucket, key, tags))) throw noSuchKey(key);
  return { status: 200 };
}

export async function deleteObjectTagging(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  if (!(await context.store.setTags(bucket, key, []))) throw noSuchKey(key);
  return { status: 204 };
}

function withoutBody(record: ObjectRecord | undefined): { record: ObjectRecord; body: Buffer } | undefined {
  return record && { record, body: Buffer.alloc(0) };
}

/** Conditional writes: `If-None-Match: *` refuses to overwrite, `If-Match` to write over another version. */
export function checkWriteConditions(context: OperationContext, bucket: string, key: string): void {
  const ifNoneMatch = header(context.request.headers, 'if-none-match');
  const ifMatch = header(context.request.headers, 'if-match');
  const existing = context.store.head(bucket, key);
  if (ifNoneMatch?.trim() === '*' && existing) throw preconditionFailed('If-None-Match');
  if (ifMatch !== undefined) {
    if (!existing) throw noSuchKey(key);
    if (!etagListMatches(ifMatch, existing.etag)) throw preconditionFailed('If-Match');
  }
}
