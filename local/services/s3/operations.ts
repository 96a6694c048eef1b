/**
 * Which S3 operation a request is: by method, by whether it names a key, and by its
 * subresource (`?uploads`, `?uploadId`, `?tagging`, `?delete`, `?list-type=2`, ...). Form
 * uploads (PostObject) authenticate differently and are told apart before this, in `index.ts`.
 */
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets } from './buckets';
import type { OperationContext } from './context';
import { notImplemented, S3Error } from './errors';
import { listObjects, listObjectsV2 } from './listing';
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart } from './multipart';
import { copyObject, deleteObject, deleteObjects, deleteObjectTagging, getObject, getObjectTagging, putObject, putObjectTagging } from './objects';
import { header, type S3Request, type S3Response } from './request';

export type Operation = (context: OperationContext) => Promise<S3Response>;

/** Bucket subresources S3 has and the local S3 does not serve (answered 501). */
const UNSERVED_BUCKET_SUBRESOURCES = [
  'accelerate', 'acl', 'analytics', 'cors', 'encryption', 'intelligent-tiering', 'inventory', 'lifecycle', 'logging', 'metrics',
  'notification', 'object-lock', 'ownershipControls', 'policy', 'policyStatus', 'publicAccessBlock', 'replication',
  'requestPayment', 'tagging', 'versioning', 'versions', 'website',
];

/** Object subresources the local S3 does not serve (answered 501). */
const UNSERVED_OBJECT_SUBRESOURCES = ['acl', 'attributes', 'legal-hold', 'restore', 'retention', 'select', 'torrent'];

/**
 * The operation a (non-form) request asks for.
 * @throws S3Error NotImplemented for S3 features not served locally, MethodNotAllowed otherwise
 */
export function selectOperation(request: S3Request): { readonly name: string; readonly run: Operation } {
  const { method, query } = request;
  const has = (name: string) => query[name] !== undefined;
  const pick = (name: string, run: Operation) => ({ name, run });

  if (request.bucket === undefined) {
    if (method === 'GET') return pick('ListBuckets', listBuckets);
    throw methodNotAllowed(method, 'SERVICE');
  }

  if (request.key === undefined) {
    const unserved = UNSERVED_BUCKET_SUBRESOURCES.find(has);
    if (unserved) throw notImplemented(`The bucket subresource ?${unserved}`);
    switch (method) {
      case 'GET':
        if (has('location')) return pick('GetBucketLocation', getBucketLocation);
        if (has('uploads')) return pick('ListMultipartUploads', listMultipartUploads);
        return query['list-type'] === '2' ? pick('ListObjectsV2', listObjectsV2) : pick('ListObjects', listObjects);
      case 'HEAD':
        return pick('HeadBucket', headBucket);
      case 'PUT':
        return pick('CreateBucket', createBucket);
      case 'DELETE':
        return pick('DeleteBucket', deleteBucket);
      case 'POST':
        if (has('delete')) return pick('DeleteObjects', deleteObjects);
        throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' });
      default:
        throw methodNotAllowed(method, 'BUCKET');
    }
  }

  const unserved = UNSERVED_OBJECT_SUBRESOURCES.find(has);
  if (unserved) throw notImplemented(`The object subresource ?${unserved}`);
  if (has('uploads') && method === 'POST') return pick('CreateMultipartUpload', createMultipartUpload);
  if (has('uploadId')) {
    if (method === 'PUT' && has('partNumber')) return pick('UploadPart', uploadPart);
    if (method === 'POST') return pick('CompleteMultipartUpload', completeMultipartUpload);
    if (method === 'DELETE') return pick('AbortMultipartUpload', abortMultipartUpload);
    if (method === 'GET') return pick('ListParts', listParts);
    throw methodNotAllowed(method, 'OBJECT');
  }
  if (has('tagging')) {
    if (method === 'GET') return pick('GetObjectTagging', getObjectTagging);
    if (method === 'PUT') return pick('PutObjectTagging', putObjectTagging);
    if (method === 'DELETE') return pick('DeleteObjectTagging', deleteObjectTagging);
    throw methodNotAllowed(method, 'OBJECT');
  }
  switch (method) {
    case 'GET':
      return pick('GetObject', getObject);
    case 'HEAD':
      return pick('HeadObject', getObject);
    case 'PUT':
      return header(request.headers, 'x-amz-copy-source') !== undefined ? pick('CopyObject', copyObject) : pick('PutObject', putObject);
    case 'DELETE':
      return pick('DeleteObject', deleteObject);
    default:
      throw methodNotAllowed(method, 'OBJECT');
  }
}

function methodNotAllowed(method: string, resourceType: string): S3Error {
  return new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.', { Method: method, ResourceType: resourceType });
}
