import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallCounter, startAwsEndpoint, type AwsEndpoint } from '../../../local/aws/endpoint';
import { bucketModel, formOf, presignPost, s3Client, startTestS3, type TestS3 } from './support';

describe('local S3 behind the AWS endpoint', () => {
  let s3: TestS3;
  let aws: AwsEndpoint;
  const counter = new CallCounter();

  beforeAll(async () => {
    s3 = await startTestS3([bucketModel('proxied-bucket')]);
    aws = await startAwsEndpoint({ port: 0, counter, upstreams: { s3: s3.s3.endpoint } });
  });
  afterAll(async () => {
    await aws.close();
    await s3.stop();
  });

  it('verifies a presigned PUT made for the AWS endpoint, and counts PutObject and GetObject', async () => {
    // Prepare: the URL is signed for the AWS endpoint's host, which the proxy passes through.
    const client = s3Client(aws.url);
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: 'proxied-bucket', Key: 'via proxy/file.txt' }), { expiresIn: 60 });
    counter.reset();

    // Act
    const put = await fetch(url, { method: 'PUT', body: 'through the endpoint' });
    const got = await client.send(new GetObjectCommand({ Bucket: 'proxied-bucket', Key: 'via proxy/file.txt' }));
    const tampered = await fetch(url.replace('file.txt', 'other.txt'), { method: 'PUT', body: 'not allowed' });
    client.destroy();

    // Assess
    expect(put.status).toBe(200);
    expect(await got.Body!.transformToString()).toBe('through the endpoint');
    expect(tampered.status).toBe(403);
    expect(counter.total('s3', 'PutObject')).toBe(2);
    expect(counter.total('s3', 'GetObject')).toBe(1);
  });

  it('takes a browser form upload posted to the AWS endpoint', async () => {
    // Prepare
    const post = presignPost({ endpoint: aws.url, bucket: 'proxied-bucket', key: 'forms/${filename}' });
    counter.reset();

    // Act
    const answer = await fetch(post.url, { method: 'POST', body: formOf(post.fields, new Blob(['form body']), 'note.txt') });
    const got = await s3.client.send(new GetObjectCommand({ Bucket: 'proxied-bucket', Key: 'forms/note.txt' }));

    // Assess
    expect(answer.status).toBe(204);
    expect(await got.Body!.transformToString()).toBe('form body');
    expect(counter.total('s3', 'PostObject')).toBe(1);
  });
});
