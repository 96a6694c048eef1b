import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPolicy, decodePolicy } from '../../../local/services/s3/post-policy';
import { bucketModel, errorCode, errorMessage, formOf, presignPost, startTestS3, type TestS3 } from './support';

describe('local S3 presigned POST (browser form uploads)', () => {
  let s3: TestS3;

  beforeAll(async () => {
    s3 = await startTestS3([bucketModel('uploads-bucket')]);
  });
  afterAll(async () => {
    await s3.stop();
  });

  /** A policy like an upload service issues: a key prefix, an exact content type, a size range. */
  function imagePost(overrides: { key?: string; expiresInSeconds?: number; fields?: Record<string, string> } = {}) {
    return presignPost({
      endpoint: s3.s3.endpoint,
      bucket: 'uploads-bucket',
      key: overrides.key ?? 'tenant-a/${filename}',
      fields: { 'Content-Type': 'image/png', ...overrides.fields },
      conditions: [['content-length-range', 10, 1000]],
      ...(overrides.expiresInSeconds !== undefined ? { expiresInSeconds: overrides.expiresInSeconds } : {}),
    });
  }

  it('stores the file under the key with ${filename} replaced, with the form content type', async () => {
    // Prepare
    const post = imagePost();
    const image = new Blob([Buffer.alloc(100, 7)], { type: 'image/png' });

    // Act
    const answer = await fetch(post.url, { method: 'POST', body: formOf(post.fields, image, 'cat photo.png') });
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'uploads-bucket', Key: 'tenant-a/cat photo.png' }));

    // Assess
    expect(answer.status).toBe(204);
    expect(answer.headers.get('etag')).toBe(head.ETag);
    expect(head).toMatchObject({ ContentLength: 100, ContentType: 'image/png' });
  });

  it('answers success_action_status 201 with a PostResponse document', async () => {
    // Prepare
    const post = imagePost({ key: 'tenant-a/fixed.png', fields: { success_action_status: '201' } });

    // Act
    const answer = await fetch(post.url, { method: 'POST', body: formOf(post.fields, new Blob([Buffer.alloc(20)])) });
    const xml = await answer.text();
    const got = await s3.client.send(new GetObjectCommand({ Bucket: 'uploads-bucket', Key: 'tenant-a/fixed.png' }));

    // Assess
    expect(answer.status).toBe(201);
    expect(xml).toContain('<Key>tenant-a/fixed.png</Key>');
    expect(xml).toContain('<Bucket>uploads-bucket</Bucket>');
    expect(got.ContentLength).toBe(20);
  });

  it('refuses a file outside content-length-range with EntityTooLarge or EntityTooSmall', async () => {
    // Prepare
    const post = imagePost();

    // Act
    const tooLarge = await fetch(post.url, { method: 'POST', body: formOf(post.fields, new Blob([Buffer.alloc(1001)]), 'large.png') });
    const tooSmall = await fetch(post.url, { method: 'POST', body: formOf(post.fields, new Blob([Buffer.alloc(9)]), 'small.png') });

    // Assess
    expect(tooLarge.status).toBe(400);
    expect(errorCode(await tooLarge.text())).toBe('EntityTooLarge');
    expect(tooSmall.status).toBe(400);
    expect(errorCode(await tooSmall.text())).toBe('EntityTooSmall');
  });

  it('refuses a key outside the starts-with condition, and a content type other than the eq condition', async () => {
    // Prepare
    const post = imagePost();

    // Act
    const otherTenant = await fetch(post.url, { method: 'POST', body: formOf({ ...post.fields, key: 'tenant-b/${filename}' }, new Blob([Buffer.alloc(50)]), 'x.png') });
    const otherType = await fetch(post.url, { method: 'POST', body: formOf({ ...post.fields, 'Content-Type': 'text/html' }, new Blob([Buffer.alloc(50)]), 'x.png') });

    // Assess
    expect(otherTenant.status).toBe(403);
    const otherTenantXml = await otherTenant.text();
    expect(errorCode(otherTenantXml)).toBe('AccessDenied');
    expect(errorMessage(otherTenantXml)).toContain('["starts-with", "$key", "tenant-a/"]');
    expect(otherType.status).toBe(403);
    expect(errorMessage(await otherType.text())).toContain('Content-Type');
  });

  it('refuses a form with a field the policy does not name', async () => {
    // Prepare
    const post = imagePost();

    // Act
    const answer = await fetch(post.url, { method: 'POST', body: formOf({ ...post.fields, 'x-amz-meta-owner': 'mallory' }, new Blob([Buffer.alloc(50)]), 'x.png') });

    // Assess
    expect(answer.status).toBe(403);
    expect(errorMessage(await answer.text())).toBe('Invalid according to Policy: Extra input fields: x-amz-meta-owner');
  });

  it('refuses a policy changed after signing, one signed with another secret, and an expired one', async () => {
    // Prepare
    const post = imagePost();
    const loosened = Buffer.from(Buffer.from(post.fields['Policy']!, 'base64').toString('utf8').replace('1000', '9999999'), 'utf8').toString('base64');
    const forged = presignPost({ endpoint: s3.s3.endpoint, bucket: 'uploads-bucket', key: 'tenant-a/${filename}', secretAccessKey: 'guessed-secret' });
    const expired = presignPost({ endpoint: s3.s3.endpoint, bucket: 'uploads-bucket', key: 'tenant-a/${filename}', now: new Date(Date.now() - 120_000), expiresInSeconds: 60 });
    const file = () => new Blob([Buffer.alloc(50)]);

    // Act
    const withLoosened = await fetch(post.url, { method: 'POST', body: formOf({ ...post.fields, Policy: loosened }, file(), 'x.png') });
    const withForged = await fetch(forged.url, { method: 'POST', body: formOf(forged.fields, file(), 'x.png') });
    const withExpired = await fetch(expired.url, { method: 'POST', body: formOf(expired.fields, file(), 'x.png') });

    // Assess
    expect(withLoosened.status).toBe(403);
    expect(errorCode(await withLoosened.text())).toBe('SignatureDoesNotMatch');
    expect(withForged.status).toBe(403);
    expect(errorCode(await withForged.text())).toBe('SignatureDoesNotMatch');
    expect(withExpired.status).toBe(403);
    expect(errorMessage(await withExpired.text())).toBe('Invalid according to Policy: Policy expired.');
  });

  it('refuses an anonymous form upload with 403 AccessDenied', async () => {
    // Prepare
    const form = formOf({ key: 'tenant-a/anonymous.png' }, new Blob([Buffer.alloc(50)]));

    // Act
    const answer = await fetch(`${s3.s3.endpoint}/uploads-bucket`, { method: 'POST', body: form });

    // Assess
    expect(answer.status).toBe(403);
    expect(errorCode(await answer.text())).toBe('AccessDenied');
  });
});

describe('checkPolicy', () => {
  const policy = (conditions: unknown[]) => decodePolicy(Buffer.from(JSON.stringify({ expiration: '2030-01-01T00:00:00Z', conditions })).toString('base64'));
  const now = new Date('2026-01-01T00:00:00Z');

  it('checks each value of a comma-separated Content-Type against starts-with', () => {
    // Prepare
    const imagesOnly = policy([['starts-with', '$Content-Type', 'image/'], ['starts-with', '$key', '']]);
    const form = (contentType: string) => ({ fields: new Map([['key', 'k'], ['content-type', contentType]]), bucket: 'b', size: 1 });

    // Act
    const both = () => checkPolicy(imagesOnly, form('image/png, image/jpeg'), now);
    const mixed = () => checkPolicy(imagesOnly, form('image/png, text/html'), now);

    // Assess
    expect(both).not.toThrow();
    expect(mixed).toThrow(/Policy Condition failed/);
  });

  it('ignores x-ignore- fields and compares field names without regard to case', () => {
    // Prepare
    const exact = policy([{ key: 'k' }, { 'Cache-Control': 'no-store' }]);
    const fields = new Map([['key', 'k'], ['cache-control', 'no-store'], ['x-ignore-tracking', '1']]);

    // Act
    const check = () => checkPolicy(exact, { fields, bucket: 'b', size: 1 }, now);

    // Assess
    expect(check).not.toThrow();
  });

  it('refuses a document that is not a policy with InvalidPolicyDocument', () => {
    // Act
    const notJson = () => decodePolicy(Buffer.from('not json').toString('base64'));
    const noExpiration = () => decodePolicy(Buffer.from('{"conditions":[]}').toString('base64'));

    // Assess
    expect(notJson).toThrow(expect.objectContaining({ code: 'InvalidPolicyDocument' }));
    expect(noExpiration).toThrow(expect.objectContaining({ code: 'InvalidPolicyDocument' }));
  });
});
