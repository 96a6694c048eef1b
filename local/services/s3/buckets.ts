/**
 * Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation.
 * Buckets of the model exist from the start; CreateBucket is for scripts and tests, and a
 * bucket it makes has no CORS or notification configuration.
 */
import { owner, requireBucket, type OperationContext } from './context';
import { S3Error } from './errors';
import { xmlResponse, type S3Response } from './request';

export async function listBuckets(context: OperationContext): Promise<S3Response> {
  return xmlResponse('ListAllMyBucketsResult', {
    Owner: owner(context.env),
    Buckets: { Bucket: context.store.listBuckets().map((bucket) => ({ Name: bucket.name, CreationDate: bucket.created.toISOString() })) },
  });
}

export async function createBucket(context: OperationContext): Promise<S3Response> {
  const bucket = context.request.bucket!;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.', { BucketName: bucket });
  }
  if (!(await context.store.createBucket(bucket))) {
    throw new S3Error('BucketAlreadyOwnedByYou', 409, 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: bucket });
  }
  return { status: 200, headers: { location: `/${bucket}` } };
}

export async function deleteBucket(context: OperationContext): Promise<S3Response> {
  await context.store.deleteBucket(requireBucket(context));
  return { status: 204 };
}

export async function headBucket(context: OperationContext): Promise<S3Response> {
  requireBucket(context);
  return { status: 200, headers: { 'x-amz-bucket-region': context.env.region } };
}

export async function getBucketLocation(context: OperationContext): Promise<S3Response> {
  requireBucket(context);
  // S3 answers an empty constraint for us-east-1.
  return xmlResponse('LocationConstraint', context.env.region === 'us-east-1' ? {} : { '#text': context.env.region });
}
