import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketModel, errorCode, startTestS3, type TestS3 } from './support';

const webApp = 'https://app.example.com';

describe('local S3 CORS', () => {
  let s3: TestS3;

  beforeAll(async () => {
    s3 = await startTestS3([
      bucketModel('browser-uploads', {
        corsRules: [{ AllowedOrigins: [webApp, 'http://localhost:*'], AllowedMethods: ['PUT', 'GET', 'POST'], AllowedHeaders: ['*'], ExposedHeaders: ['ETag'], MaxAge: 3000 }],
      }),
      bucketModel('no-cors'),
    ]);
  });
  afterAll(async () => {
    await s3.stop();
  });

  const preflight = (bucket: string, origin: string, method: string, headers = 'content-type') =>
    fetch(`${s3.s3.endpoint}/${bucket}/some/key.png`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

  it("answers a preflight from an allowed origin with the rule's methods, headers and max age", async () => {
    // Act
    const answer = await preflight('browser-uploads', webApp, 'PUT', 'content-type, x-amz-meta-owner');

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe(webApp);
    expect(answer.headers.get('access-control-allow-methods')).toBe('PUT, GET, POST');
    expect(answer.headers.get('access-control-allow-headers')).toBe('content-type, x-amz-meta-owner');
    expect(answer.headers.get('access-control-expose-headers')).toBe('ETag');
    expect(answer.headers.get('access-control-max-age')).toBe('3000');
  });

  it('matches origins with a wildcard', async () => {
    // Act
    const answer = await preflight('browser-uploads', 'http://localhost:5173', 'GET');

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('refuses a preflight from another origin, for another method, or to a bucket without CORS with 403', async () => {
    // Act
    const answers = await Promise.all([preflight('browser-uploads', 'https://evil.example.com', 'PUT'), preflight('browser-uploads', webApp, 'DELETE'), preflight('no-cors', webApp, 'PUT')]);

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([403, 403, 403]);
    expect(errorCode(await answers[0]!.text())).toBe('AccessForbidden');
  });

  it('lets a browser PUT to a presigned URL and read the ETag', async () => {
    // Prepare
    const url = await getSignedUrl(s3.client, new PutObjectCommand({ Bucket: 'browser-uploads', Key: 'avatars/me.png' }), { expiresIn: 60 });

    // Act
    const answer = await fetch(url, { method: 'PUT', body: 'png bytes', headers: { origin: webApp } });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe(webApp);
    expect(answer.headers.get('access-control-expose-headers')).toBe('ETag');
    expect(answer.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
  });
});
