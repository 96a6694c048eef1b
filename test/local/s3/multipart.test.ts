import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketModel, startTestS3, type TestS3 } from './support';

const MiB = 1024 * 1024;
const md5 = (data: Buffer) => createHash('md5').update(data).digest();

describe('local S3 multipart uploads', () => {
  let s3: TestS3;

  beforeAll(async () => {
    s3 = await startTestS3([bucketModel('multipart-bucket')]);
  });
  afterAll(async () => {
    await s3.stop();
  });

  async function start(key: string) {
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: 'multipart-bucket', Key: key, ContentType: 'application/zip', Metadata: { batch: '7' } }));
    return UploadId!;
  }

  async function upload(key: string, uploadId: string, partNumber: number, body: Buffer) {
    const { ETag } = await s3.client.send(new UploadPartCommand({ Bucket: 'multipart-bucket', Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }));
    return ETag!;
  }

  it('assembles the parts in order, with the ETag "<md5 of part md5s>-<count>" and the metadata given at the start', async () => {
    // Prepare
    const parts = [Buffer.alloc(5 * MiB, 1), Buffer.alloc(5 * MiB, 2), Buffer.from('last, short part')];
    const uploadId = await start('archive.zip');
    const etags = [];
    for (const [index, part] of parts.entries()) etags.push(await upload('archive.zip', uploadId, index + 1, part));

    // Act
    const listed = await s3.client.send(new ListPartsCommand({ Bucket: 'multipart-bucket', Key: 'archive.zip', UploadId: uploadId }));
    const completed = await s3.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'multipart-bucket',
        Key: 'archive.zip',
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
      }),
    );
    const got = await s3.client.send(new GetObjectCommand({ Bucket: 'multipart-bucket', Key: 'archive.zip' }));
    const body = Buffer.from(await got.Body!.transformToByteArray());

    // Assess
    const expectedETag = `"${createHash('md5').update(Buffer.concat(parts.map(md5))).digest('hex')}-3"`;
    expect(listed.Parts?.map((part) => [part.PartNumber, part.Size])).toEqual([
      [1, 5 * MiB],
      [2, 5 * MiB],
      [3, parts[2]!.length],
    ]);
    expect(completed.ETag).toBe(expectedETag);
    expect(got.ETag).toBe(expectedETag);
    expect(body.equals(Buffer.concat(parts))).toBe(true);
    expect(got).toMatchObject({ ContentType: 'application/zip', Metadata: { batch: '7' } });
  });

  it('refuses a part list whose ETag does not match with InvalidPart', async () => {
    // Prepare
    const uploadId = await start('wrong-etag.bin');
    await upload('wrong-etag.bin', uploadId, 1, Buffer.from('only part'));

    // Act
    const error = await s3.client
      .send(new CompleteMultipartUploadCommand({ Bucket: 'multipart-bucket', Key: 'wrong-etag.bin', UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }] } }))
      .catch((caught: S3ServiceException) => caught);

    // Assess
    expect([(error as S3ServiceException).name, (error as S3ServiceException).$metadata.httpStatusCode]).toEqual(['InvalidPart', 400]);
  });

  it('refuses a part smaller than 5 MiB that is not the last with EntityTooSmall', async () => {
    // Prepare
    const uploadId = await start('small-parts.bin');
    const first = await upload('small-parts.bin', uploadId, 1, Buffer.from('too small to come first'));
    const second = await upload('small-parts.bin', uploadId, 2, Buffer.from('last'));

    // Act
    const error = await s3.client
      .send(
        new CompleteMultipartUploadCommand({
          Bucket: 'multipart-bucket',
          Key: 'small-parts.bin',
          UploadId: uploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: first }, { PartNumber: 2, ETag: second }] },
        }),
      )
      .catch((caught: S3ServiceException) => caught);

    // Assess
    expect([(error as S3ServiceException).name, (error as S3ServiceException).$metadata.httpStatusCode]).toEqual(['EntityTooSmall', 400]);
  });

  it('forgets an aborted upload: its parts answer NoSuchUpload', async () => {
    // Prepare
    const uploadId = await start('aborted.bin');
    await upload('aborted.bin', uploadId, 1, Buffer.from('never used'));

    // Act
    await s3.client.send(new AbortMultipartUploadCommand({ Bucket: 'multipart-bucket', Key: 'aborted.bin', UploadId: uploadId }));
    const error = await s3.client.send(new ListPartsCommand({ Bucket: 'multipart-bucket', Key: 'aborted.bin', UploadId: uploadId })).catch((caught: S3ServiceException) => caught);

    // Assess
    expect([(error as S3ServiceException).name, (error as S3ServiceException).$metadata.httpStatusCode]).toEqual(['NoSuchUpload', 404]);
  });
});
