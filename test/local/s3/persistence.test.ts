import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bucketModel, startTestS3 } from './support';

describe('local S3 with a data directory', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-s3-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps objects, their metadata and deletions between runs', async () => {
    // Prepare
    const first = await startTestS3([bucketModel('kept-bucket')], { dataDir });
    await first.client.send(new PutObjectCommand({ Bucket: 'kept-bucket', Key: 'notes/today.md', Body: '# today', ContentType: 'text/markdown', Metadata: { author: 'sam' } }));
    await first.client.send(new PutObjectCommand({ Bucket: 'kept-bucket', Key: 'notes/today.md', Body: '# today, revised', ContentType: 'text/markdown', Metadata: { author: 'sam' } }));
    await first.client.send(new PutObjectCommand({ Bucket: 'kept-bucket', Key: 'scratch.txt', Body: 'temporary' }));
    await first.client.send(new DeleteObjectCommand({ Bucket: 'kept-bucket', Key: 'scratch.txt' }));
    await first.stop();

    // Act
    const second = await startTestS3([bucketModel('kept-bucket')], { dataDir });
    const got = await second.client.send(new GetObjectCommand({ Bucket: 'kept-bucket', Key: 'notes/today.md' }));
    const listed = await second.client.send(new ListObjectsV2Command({ Bucket: 'kept-bucket' }));
    const body = await got.Body!.transformToString();
    await second.stop();

    // Assess
    expect(body).toBe('# today, revised');
    expect(got).toMatchObject({ ContentType: 'text/markdown', Metadata: { author: 'sam' } });
    expect(listed.Contents?.map((object) => object.Key)).toEqual(['notes/today.md']);
  });
});
