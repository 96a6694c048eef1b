import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketModel, credentials, env, errorCode, errorMessage, eventually, s3Client, startTestS3, type TestS3 } from './support';

describe('local S3 authentication', () => {
  let s3: TestS3;

  beforeAll(async () => {
    s3 = await startTestS3([bucketModel('private-bucket')]);
    await s3.client.send(new PutObjectCommand({ Bucket: 'private-bucket', Key: 'docs/report 2026.txt', Body: 'quarterly numbers' }));
  });
  afterAll(async () => {
    await s3.stop();
  });

  it('refuses a request signed with the wrong secret key with 403 SignatureDoesNotMatch', async () => {
    // Prepare
    const impostor = s3Client(s3.s3.endpoint, { accessKeyId: credentials.accessKeyId, secretAccessKey: 'not-the-secret' });

    // Act
    const error = await impostor.send(new ListObjectsV2Command({ Bucket: 'private-bucket' })).catch((caught: S3ServiceException) => caught);
    impostor.destroy();

    // Assess
    expect(error).toBeInstanceOf(S3ServiceException);
    expect([(error as S3ServiceException).name, (error as S3ServiceException).$metadata.httpStatusCode]).toEqual(['SignatureDoesNotMatch', 403]);
  });

  it('refuses an unknown access key with 403 InvalidAccessKeyId', async () => {
    // Prepare
    const stranger = s3Client(s3.s3.endpoint, { accessKeyId: 'AKIASTRANGER', secretAccessKey: credentials.secretAccessKey });

    // Act
    const error = await stranger.send(new GetObjectCommand({ Bucket: 'private-bucket', Key: 'docs/report 2026.txt' })).catch((caught: S3ServiceException) => caught);
    stranger.destroy();

    // Assess
    expect([(error as S3ServiceException).name, (error as S3ServiceException).$metadata.httpStatusCode]).toEqual(['InvalidAccessKeyId', 403]);
  });

  it('refuses unsigned requests with 403 AccessDenied', async () => {
    // Act
    const read = await fetch(`${s3.s3.endpoint}/private-bucket/docs/report%202026.txt`);
    const write = await fetch(`${s3.s3.endpoint}/private-bucket/anonymous.txt`, { method: 'PUT', body: 'sneaky' });

    // Assess
    expect(read.status).toBe(403);
    expect(errorCode(await read.text())).toBe('AccessDenied');
    expect(write.status).toBe(403);
    expect(errorCode(await write.text())).toBe('AccessDenied');
  });

  it('refuses a body that does not match the signed payload hash', async () => {
    // Prepare: sign a PUT, then send other bytes under the same signature.
    const client = s3Client(s3.s3.endpoint);
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body: unknown; headers: Record<string, string> };
        request.body = 'tampered body!';
        request.headers['content-length'] = String('tampered body!'.length);
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'swapBodyAfterSigning' },
    );

    // Act
    const error = await client.send(new PutObjectCommand({ Bucket: 'private-bucket', Key: 'swapped.txt', Body: 'original body!' })).catch((caught: S3ServiceException) => caught);
    client.destroy();

    // Assess
    expect((error as S3ServiceException).name).toBe('XAmzContentSHA256Mismatch');
  });

  it('accepts a header-signed request whose payload is declared UNSIGNED-PAYLOAD', async () => {
    // Prepare: the signer takes x-amz-content-sha256 as given, as the SDK does over HTTPS.
    const client = s3Client(s3.s3.endpoint);
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
      },
      { step: 'build', name: 'declareUnsignedPayload' },
    );

    // Act
    const put = await client.send(new PutObjectCommand({ Bucket: 'private-bucket', Key: 'unsigned-payload.txt', Body: 'body not hashed' }));
    const got = await s3.client.send(new GetObjectCommand({ Bucket: 'private-bucket', Key: 'unsigned-payload.txt' }));
    client.destroy();

    // Assess
    expect(put.$metadata.httpStatusCode).toBe(200);
    expect(await got.Body!.transformToString()).toBe('body not hashed');
  });

  it('serves virtual-hosted requests (<bucket>.<host>) signed for that host', async () => {
    // Prepare: sign for bucket.s3.local.test, but connect to 127.0.0.1 (no DNS needed).
    const port = new URL(s3.s3.endpoint).port;
    const client = new S3Client({ endpoint: `http://s3.local.test:${port}`, region: env.region, credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { hostname: string }).hostname = '127.0.0.1';
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'connectLocally' },
    );

    // Act
    const got = await client.send(new GetObjectCommand({ Bucket: 'private-bucket', Key: 'docs/report 2026.txt' }));
    const body = await got.Body!.transformToString();
    client.destroy();

    // Assess
    expect(body).toBe('quarterly numbers');
  });

  it('serves presigned GET and PUT URLs to plain fetch', async () => {
    // Prepare
    const putUrl = await getSignedUrl(s3.client, new PutObjectCommand({ Bucket: 'private-bucket', Key: 'uploads/from browser.txt', ContentType: 'text/plain' }), { expiresIn: 60 });
    const getUrl = await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: 'private-bucket', Key: 'uploads/from browser.txt', ResponseContentDisposition: 'attachment; filename="x.txt"' }), {
      expiresIn: 60,
    });

    // Act
    const put = await fetch(putUrl, { method: 'PUT', body: 'sent by fetch', headers: { 'content-type': 'text/plain' } });
    const got = await fetch(getUrl);

    // Assess
    expect(put.status).toBe(200);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('sent by fetch');
    expect(got.headers.get('content-type')).toBe('text/plain');
    expect(got.headers.get('content-disposition')).toBe('attachment; filename="x.txt"');
  });

  it('refuses a presigned URL whose key or signature was changed with 403 SignatureDoesNotMatch', async () => {
    // Prepare
    const url = await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: 'private-bucket', Key: 'docs/report 2026.txt' }), { expiresIn: 60 });
    const otherKey = url.replace('report%202026', 'report%202027');
    const signature = new URL(url).searchParams.get('X-Amz-Signature')!;
    const flipped = signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0');
    const otherSignature = url.replace(signature, flipped);

    // Act
    const genuine = await fetch(url);
    const withOtherKey = await fetch(otherKey);
    const withOtherSignature = await fetch(otherSignature);

    // Assess
    expect(genuine.status).toBe(200);
    for (const tampered of [withOtherKey, withOtherSignature]) {
      expect(tampered.status).toBe(403);
      expect(errorCode(await tampered.text())).toBe('SignatureDoesNotMatch');
    }
  });

  it('refuses a presigned URL past its expiry with 403 AccessDenied "Request has expired"', async () => {
    // Prepare: one URL signed a minute ago for ten seconds, one that lives a single second.
    const stale = await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: 'private-bucket', Key: 'docs/report 2026.txt' }), {
      expiresIn: 10,
      signingDate: new Date(Date.now() - 60_000),
    });
    // X-Amz-Date has whole seconds: signing at the next whole second keeps the full second of life.
    const brief = await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: 'private-bucket', Key: 'docs/report 2026.txt' }), {
      expiresIn: 1,
      signingDate: new Date(Math.ceil(Date.now() / 1000) * 1000),
    });

    // Act
    const staleAnswer = await fetch(stale);
    const briefWhileValid = await fetch(brief);
    const briefLater = await eventually(async () => {
      const answer = await fetch(brief);
      return answer.status === 200 ? (await answer.arrayBuffer(), undefined) : answer;
    }, 5_000, 'the presigned URL expiring');

    // Assess
    expect(staleAnswer.status).toBe(403);
    const staleXml = await staleAnswer.text();
    expect([errorCode(staleXml), errorMessage(staleXml)]).toEqual(['AccessDenied', 'Request has expired']);
    expect(briefWhileValid.status).toBe(200);
    expect(briefLater.status).toBe(403);
    expect(errorMessage(await briefLater.text())).toBe('Request has expired');
  });

  it('completes a multipart upload whose parts were PUT to presigned URLs', async () => {
    // Prepare
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: 'private-bucket', Key: 'big/video.bin' }));
    const parts = [Buffer.alloc(5 * 1024 * 1024, 'a'), Buffer.from('the tail')];
    const urls = await Promise.all(
      parts.map((_, index) => getSignedUrl(s3.client, new UploadPartCommand({ Bucket: 'private-bucket', Key: 'big/video.bin', UploadId, PartNumber: index + 1 }), { expiresIn: 60 })),
    );

    // Act
    const answers = await Promise.all(urls.map((url, index) => fetch(url, { method: 'PUT', body: parts[index] })));
    const etags = answers.map((answer) => answer.headers.get('etag')!);
    await s3.client.send(
      new CompleteMultipartUploadCommand({ Bucket: 'private-bucket', Key: 'big/video.bin', UploadId, MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) } }),
    );
    const got = await s3.client.send(new GetObjectCommand({ Bucket: 'private-bucket', Key: 'big/video.bin' }));

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(got.ContentLength).toBe(parts[0]!.length + parts[1]!.length);
    expect(got.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
  });
});
