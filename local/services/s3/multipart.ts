/**
 * Multipart upload operations: CreateMultipartUpload, UploadPart (and UploadPartCopy),
 * CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads. A completed
 * object's ETag is `"<md5 of the parts' binary md5s>-<part count>"`, as on S3.
 */
import { createHash } from 'node:crypto';
import { owner, publish, requireBucket, type OperationContext } from './context';
import { invalidArgument, S3Error } from './errors';
import { describeFromHeaders, md5ETag, unquoteETag } from './object-headers';
import { readCopySource, requireObject } from './objects';
import { header, xmlResponse, type S3Response } from './request';
import type { ObjectRecord } from './store';
import { listOf, parseXmlBody, textOf } from './xml';

/** Every part but the last must be at least this large. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_NUMBER = 10_000;

export async function createMultipartUpload(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  const upload = context.uploads.start(bucket, key, describeFromHeaders(context.request.headers), context.now());
  return xmlResponse('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: upload.uploadId });
}

/** UploadPart, or UploadPartCopy when `x-amz-copy-source` is set. */
export async function uploadPart(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  const upload = context.uploads.get(bucket, key, context.request.query['uploadId'] ?? '');
  const partText = context.request.query['partNumber'] ?? '';
  const partNumber = Number(partText);
  if (!/^\d+$/.test(partText) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', partText);
  }
  const copying = header(context.request.headers, 'x-amz-copy-source') !== undefined;
  let body: Buffer;
  if (copying) {
    const source = await readCopySource(context);
    body = sliceCopyRange(source.body, header(context.request.headers, 'x-amz-copy-source-range'));
  } else {
    body = await context.body();
  }
  const part = { partNumber, etag: md5ETag(body), size: body.length, body, lastModified: context.now() };
  upload.parts.set(partNumber, part);
  if (copying) return xmlResponse('CopyPartResult', { LastModified: part.lastModified.toISOString(), ETag: part.etag });
  return { status: 200, headers: { etag: part.etag } };
}

export async function completeMultipartUpload(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  const upload = context.uploads.get(bucket, key, context.request.query['uploadId'] ?? '');
  const document = parseXmlBody(await context.body(), 'CompleteMultipartUpload');
  const requested = listOf(document, 'Part').map((part) => ({ number: Number(textOf(part, 'PartNumber')), etag: textOf(part, 'ETag') ?? '' }));
  if (requested.length === 0) throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema');

  const parts = requested.map((wanted, index) => {
    if (index > 0 && wanted.number <= requested[index - 1]!.number) {
      throw new S3Error('InvalidPartOrder', 400, 'The list of parts was not in ascending order. The parts list must be specified in order by part number.', { UploadId: upload.uploadId });
    }
    const part = upload.parts.get(wanted.number);
    if (!part || unquoteETag(part.etag) !== unquoteETag(wanted.etag)) {
      throw new S3Error(
        'InvalidPart',
        400,
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        { UploadId: upload.uploadId, PartNumber: wanted.number, ETag: wanted.etag },
      );
    }
    return part;
  });
  parts.slice(0, -1).forEach((part) => {
    if (part.size < MIN_PART_SIZE) {
      throw new S3Error('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed object size.', {
        ProposedSize: part.size,
        MinSizeAllowed: MIN_PART_SIZE,
        PartNumber: part.partNumber,
        ETag: part.etag,
      });
    }
  });

  const body = Buffer.concat(parts.map((part) => part.body));
  const digests = Buffer.concat(parts.map((part) => Buffer.from(unquoteETag(part.etag), 'hex')));
  const record: ObjectRecord = {
    key,
    size: body.length,
    etag: `"${createHash('md5').update(digests).digest('hex')}-${parts.length}"`,
    lastModified: context.now(),
    partsCount: parts.length,
    ...upload.description,
  };
  await context.store.put(bucket, record, body);
  context.uploads.finish(upload.uploadId);
  publish(context, { name: 'ObjectCreated:CompleteMultipartUpload', bucket, key, size: record.size, etag: record.etag });
  return xmlResponse('CompleteMultipartUploadResult', {
    Location: `http://${header(context.request.headers, 'host') ?? 'localhost'}/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`,
    Bucket: bucket,
    Key: key,
    ETag: record.etag,
  });
}

export async function abortMultipartUpload(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  const upload = context.uploads.get(bucket, key, context.request.query['uploadId'] ?? '');
  context.uploads.finish(upload.uploadId);
  return { status: 204 };
}

export async function listParts(context: OperationContext): Promise<S3Response> {
  const { bucket, key } = requireObject(context);
  const upload = context.uploads.get(bucket, key, context.request.query['uploadId'] ?? '');
  const maxParts = Math.min(Number(context.request.query['max-parts'] ?? 1000) || 1000, 1000);
  const marker = Number(context.request.query['part-number-marker'] ?? 0) || 0;
  const after = [...upload.parts.values()].filter((part) => part.partNumber > marker).sort((a, b) => a.partNumber - b.partNumber);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  return xmlResponse('ListPartsResult', {
    Bucket: bucket,
    Key: key,
    UploadId: upload.uploadId,
    Initiator: owner(context.env),
    Owner: owner(context.env),
    StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    ...(truncated ? { NextPartNumberMarker: page[page.length - 1]!.partNumber } : {}),
    MaxParts: maxParts,
    IsTruncated: truncated,
    Part: page.map((part) => ({ PartNumber: part.partNumber, LastModified: part.lastModified.toISOString(), ETag: part.etag, Size: part.size })),
  });
}

export async function listMultipartUploads(context: OperationContext): Promise<S3Response> {
  const bucket = requireBucket(context);
  const prefix = context.request.query['prefix'] ?? '';
  const uploads = context.uploads.inBucket(bucket).filter((upload) => upload.key.startsWith(prefix));
  return xmlResponse('ListMultipartUploadsResult', {
    Bucket: bucket,
    Prefix: prefix,
    MaxUploads: 1000,
    IsTruncated: false,
    Upload: uploads.map((upload) => ({
      Key: upload.key,
      UploadId: upload.uploadId,
      Initiator: owner(context.env),
      Owner: owner(context.env),
      StorageClass: 'STANDARD',
      Initiated: upload.initiated.toISOString(),
    })),
  });
}

/** The bytes `x-amz-copy-source-range: bytes=first-last` picks out of a copy source. */
function sliceCopyRange(body: Buffer, range: string | undefined): Buffer {
  if (range === undefined) return body;
  const match = /^bytes=(\d+)-(\d+)$/.exec(range.trim());
  if (!match || Number(match[2]) < Number(match[1]) || Number(match[2]) >= body.length) {
    throw new S3Error('InvalidArgument', 400, 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', {
      ArgumentName: 'x-amz-copy-source-range',
      ArgumentValue: range,
    });
  }
  return body.subarray(Number(match[1]), Number(match[2]) + 1);
}
