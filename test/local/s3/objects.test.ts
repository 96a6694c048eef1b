import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketModel, credentials, env, startTestS3, type TestS3 } from './support';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The error an SDK call fails with. */
async function failure(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3ServiceException) return error;
    throw error;
  }
  throw new Error('the call succeeded');
}

describe('local S3 objects through the SDK', () => {
  let s3: TestS3;

  beforeAll(async () => {
    s3 = await startTestS3([bucketModel('objects-bucket'), bucketModel('copies-bucket')]);
  });
  afterAll(async () => {
    await s3.stop();
  });

  it('stores an object and answers GetObject and HeadObject with its body, metadata and md5 ETag', async () => {
    // Prepare
    const body = 'hello, local cloud';

    // Act
    const put = await s3.client.send(
      new PutObjectCommand({
        Bucket: 'objects-bucket',
        Key: 'greetings/hello world.txt',
        Body: body,
        ContentType: 'text/plain; charset=utf-8',
        CacheControl: 'max-age=60',
        Metadata: { tenant: 'tenant-a' },
      }),
    );
    const got = await s3.client.send(new GetObjectCommand({ Bucket: 'objects-bucket', Key: 'greetings/hello world.txt' }));
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'objects-bucket', Key: 'greetings/hello world.txt' }));

    // Assess
    expect(put.ETag).toBe(`"${md5(body)}"`);
    expect(await got.Body!.transformToString()).toBe(body);
    expect(got).toMatchObject({ ETag: `"${md5(body)}"`, ContentType: 'text/plain; charset=utf-8', CacheControl: 'max-age=60', Metadata: { tenant: 'tenant-a' } });
    expect(head).toMatchObject({ ContentLength: body.length, ETag: `"${md5(body)}"`, Metadata: { tenant: 'tenant-a' } });
    expect(head.LastModified).toBeInstanceOf(Date);
  });

  it('answers a ranged GetObject with 206 and the bytes asked for', async () => {
    // Prepare
    await s3.client.send(new PutObjectCommand({ Bucket: 'objects-bucket', Key: 'range.txt', Body: '0123456789' }));

    // Act
    const middle = await s3.client.send(new GetObjectCommand({ Bucket: 'objects-bucket', Key: 'range.txt', Range: 'bytes=2-5' }));
    const tail = await s3.client.send(new GetObjectCommand({ Bucket: 'objects-bucket', Key: 'range.txt', Range: 'bytes=-3' }));
    const beyond = await failure(s3.client.send(new GetObjectCommand({ Bucket: 'objects-bucket', Key: 'range.txt', Range: 'bytes=20-' })));

    // Assess
    expect(middle.$metadata.httpStatusCode).toBe(206);
    expect(middle.ContentRange).toBe('bytes 2-5/10');
    expect(await middle.Body!.transformToString()).toBe('2345');
    expect(await tail.Body!.transformToString()).toBe('789');
    expect(beyond.name).toBe('InvalidRange');
    expect(beyond.$metadata.httpStatusCode).toBe(416);
  });

  it('answers NoSuchKey and NoSuchBucket with 404', async () => {
    // Act
    const missingKey = await failure(s3.client.send(new GetObjectCommand({ Bucket: 'objects-bucket', Key: 'nothing-here' })));
    const missingBucket = await failure(s3.client.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' })));
    const missingHead = await failure(s3.client.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' })));

    // Assess
    expect([missingKey.name, missingKey.$metadata.httpStatusCode]).toEqual(['NoSuchKey', 404]);
    expect([missingBucket.name, missingBucket.$metadata.httpStatusCode]).toEqual(['NoSuchBucket', 404]);
    expect(missingHead.$metadata.httpStatusCode).toBe(404);
  });

  it('answers 304 when If-None-Match names the current ETag', async () => {
    // Prepare
    const put = await s3.client.send(new PutObjectCommand({ Bucket: 'objects-bucket', Key: 'cached.txt', Body: 'v1' }));

    // Act
    const notModified = await failure(s3.client.send(new GetObjectCommand({ Bucket: 'objects-bucket', Key: 'cached.txt', IfNoneMatch: put.ETag })));

    // Assess
    expect(notModified.$metadata.httpStatusCode).toBe(304);
  });

  it('refuses to overwrite with If-None-Match: * when the key exists', async () => {
    // Prepare
    await s3.client.send(new PutObjectCommand({ Bucket: 'objects-bucket', Key: 'once.txt', Body: 'first' }));

    // Act
    const second = await failure(s3.client.send(new PutObjectCommand({ Bucket: 'objects-bucket', Key: 'once.txt', Body: 'second', IfNoneMatch: '*' })));

    // Assess
    expect([second.name, second.$metadata.httpStatusCode]).toEqual(['PreconditionFailed', 412]);
  });

  it('lists with prefix, delimiter, max-keys and continuation tokens', async () => {
    // Prepare
    await s3.client.send(new CreateBucketCommand({ Bucket: 'listing-bucket' }));
    const keys = ['a/1.txt', 'a/2.txt', 'b/1.txt', 'b/deep/2.txt', 'c.txt', 'd.txt', 'e.txt'];
    for (const key of keys) await s3.client.send(new PutObjectCommand({ Bucket: 'listing-bucket', Key: key, Body: key }));

    // Act
    const rolledUp = await s3.client.send(new ListObjectsV2Command({ Bucket: 'listing-bucket', Delimiter: '/' }));
    const underB = await s3.client.send(new ListObjectsV2Command({ Bucket: 'listing-bucket', Prefix: 'b/', Delimiter: '/' }));
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await s3.client.send(new ListObjectsV2Command({ Bucket: 'listing-bucket', MaxKeys: 3, ContinuationToken: token }));
      pages.push((page.Contents ?? []).map((object) => object.Key!));
      token = page.NextContinuationToken;
    } while (token);

    // Assess
    expect(rolledUp.CommonPrefixes?.map((common) => common.Prefix)).toEqual(['a/', 'b/']);
    expect(rolledUp.Contents?.map((object) => object.Key)).toEqual(['c.txt', 'd.txt', 'e.txt']);
    expect(rolledUp.KeyCount).toBe(5);
    expect(underB.Contents?.map((object) => object.Key)).toEqual(['b/1.txt']);
    expect(underB.CommonPrefixes?.map((common) => common.Prefix)).toEqual(['b/deep/']);
    expect(pages).toEqual([keys.slice(0, 3), keys.slice(3, 6), keys.slice(6)]);
  });

  it('pages common prefixes as single entries', async () => {
    // Prepare
    await s3.client.send(new CreateBucketCommand({ Bucket: 'prefix-pages' }));
    for (const key of ['p1/a', 'p1/b', 'p2/a', 'p3/a', 'p3/b', 'z']) await s3.client.send(new PutObjectCommand({ Bucket: 'prefix-pages', Key: key, Body: 'x' }));

    // Act
    const first = await s3.client.send(new ListObjectsV2Command({ Bucket: 'prefix-pages', Delimiter: '/', MaxKeys: 2 }));
    const second = await s3.client.send(new ListObjectsV2Command({ Bucket: 'prefix-pages', Delimiter: '/', MaxKeys: 2, ContinuationToken: first.NextContinuationToken }));

    // Assess
    expect(first.CommonPrefixes?.map((common) => common.Prefix)).toEqual(['p1/', 'p2/']);
    expect(first.IsTruncated).toBe(true);
    expect(second.CommonPrefixes?.map((common) => common.Prefix)).toEqual(['p3/']);
    expect(second.Contents?.map((object) => object.Key)).toEqual(['z']);
    expect(second.IsTruncated).toBe(false);
  });

  it('deletes one object and many at once', async () => {
    // Prepare
    for (const key of ['gone/1', 'gone/2', 'gone/3']) await s3.client.send(new PutObjectCommand({ Bucket: 'objects-bucket', Key: key, Body: key }));

    // Act
    await s3.client.send(new DeleteObjectCommand({ Bucket: 'objects-bucket', Key: 'gone/1' }));
    const many = await s3.client.send(new DeleteObjectsCommand({ Bucket: 'objects-bucket', Delete: { Objects: [{ Key: 'gone/2' }, { Key: 'gone/3' }] } }));
    const left = await s3.client.send(new ListObjectsV2Command({ Bucket: 'objects-bucket', Prefix: 'gone/' }));

    // Assess
    expect(many.Deleted?.map((deleted) => deleted.Key).sort()).toEqual(['gone/2', 'gone/3']);
    expect(left.KeyCount).toBe(0);
  });

  it('copies an object across buckets, keeping or replacing its metadata', async () => {
    // Prepare
    await s3.client.send(new PutObjectCommand({ Bucket: 'objects-bucket', Key: 'original.json', Body: '{"a":1}', ContentType: 'application/json', Metadata: { origin: 'kept' } }));

    // Act
    const kept = await s3.client.send(new CopyObjectCommand({ Bucket: 'copies-bucket', Key: 'copy 1.json', CopySource: 'objects-bucket/original.json' }));
    await s3.client.send(
      new CopyObjectCommand({ Bucket: 'copies-bucket', Key: 'copy2.json', CopySource: 'objects-bucket/original.json', MetadataDirective: 'REPLACE', ContentType: 'text/plain', Metadata: { origin: 'replaced' } }),
    );
    const first = await s3.client.send(new GetObjectCommand({ Bucket: 'copies-bucket', Key: 'copy 1.json' }));
    const second = await s3.client.send(new HeadObjectCommand({ Bucket: 'copies-bucket', Key: 'copy2.json' }));

    // Assess
    expect(kept.CopyObjectResult?.ETag).toBe(`"${md5('{"a":1}')}"`);
    expect(await first.Body!.transformToString()).toBe('{"a":1}');
    expect(first).toMatchObject({ ContentType: 'application/json', Metadata: { origin: 'kept' } });
    expect(second).toMatchObject({ ContentType: 'text/plain', Metadata: { origin: 'replaced' } });
  });

  it('keeps tags set on PutObject and by PutObjectTagging', async () => {
    // Prepare
    await s3.client.send(new PutObjectCommand({ Bucket: 'objects-bucket', Key: 'tagged', Body: 'x', Tagging: 'stage=raw&owner=team%20a' }));

    // Act
    const before = await s3.client.send(new GetObjectTaggingCommand({ Bucket: 'objects-bucket', Key: 'tagged' }));
    await s3.client.send(new PutObjectTaggingCommand({ Bucket: 'objects-bucket', Key: 'tagged', Tagging: { TagSet: [{ Key: 'stage', Value: 'clean' }] } }));
    const after = await s3.client.send(new GetObjectTaggingCommand({ Bucket: 'objects-bucket', Key: 'tagged' }));

    // Assess
    expect(before.TagSet).toEqual([
      { Key: 'stage', Value: 'raw' },
      { Key: 'owner', Value: 'team a' },
    ]);
    expect(after.TagSet).toEqual([{ Key: 'stage', Value: 'clean' }]);
  });

  it('takes aws-chunked uploads from a client that uses default checksums', async () => {
    // Prepare
    // A stream body makes the SDK frame the upload (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
    const defaults = new S3Client({ endpoint: s3.s3.endpoint, region: env.region, credentials, forcePathStyle: true });
    const body = Readable.from([Buffer.from('framed '), Buffer.from('on the wire')]);

    // Act
    await defaults.send(new PutObjectCommand({ Bucket: 'objects-bucket', Key: 'chunked.txt', Body: body, ContentLength: 18 }));
    const got = await s3.client.send(new GetObjectCommand({ Bucket: 'objects-bucket', Key: 'chunked.txt' }));
    defaults.destroy();

    // Assess
    expect(await got.Body!.transformToString()).toBe('framed on the wire');
    expect(got.ETag).toBe(`"${md5('framed on the wire')}"`);
  });
});
