/**
 * PostObject: a browser's form upload to a bucket (`multipart/form-data`). The form carries its
 * own authentication: a base64 policy, signed with SigV4 (`x-amz-signature`), whose expiration
 * and conditions the form must satisfy. The `file` field comes last; fields after it are ignored.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { publish, requireBucket, type OperationContext } from './context';
import { accessDenied, invalidArgument, S3Error } from './errors';
import { describeFromHeaders, md5ETag, validTags } from './object-headers';
import { checkPolicy, decodePolicy } from './post-policy';
import { header, type S3Response } from './request';
import type { SigV4Verifier } from './sigv4';
import type { ObjectRecord } from './store';
import { listOf, parseXmlBody, textOf, toXml } from './xml';

/** Whether a request is a form upload rather than another bucket-level POST. */
export function isFormUpload(contentType: string | undefined): boolean {
  return (contentType ?? '').toLowerCase().startsWith('multipart/form-data');
}

/** Form fields that describe the object, passed on as the headers of a PutObject would be. */
const DESCRIBING_FIELDS = ['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];

export async function postObject(context: OperationContext, verifier: SigV4Verifier): Promise<S3Response> {
  const bucket = requireBucket(context);
  const contentType = header(context.request.headers, 'content-type');
  if (!isFormUpload(contentType)) {
    throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' });
  }
  const { fields, file } = await readForm(await context.body(), contentType!);

  const keyTemplate = fields.get('key');
  if (keyTemplate === undefined) {
    throw invalidArgument("Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", 'key', '');
  }
  const policyText = fields.get('policy');
  const signature = fields.get('x-amz-signature');
  const credential = fields.get('x-amz-credential');
  // Without a policy the upload would be anonymous, and no local bucket is public.
  if (policyText === undefined || signature === undefined || credential === undefined) throw accessDenied();
  const algorithm = fields.get('x-amz-algorithm');
  if (algorithm !== 'AWS4-HMAC-SHA256') throw invalidArgument('Only AWS4-HMAC-SHA256 is supported for x-amz-algorithm', 'x-amz-algorithm', algorithm ?? '');
  await verifier.verifyPolicy({ credential, policy: policyText, signature });

  const key = keyTemplate.split('${filename}').join(file.name);
  if (!key) throw invalidArgument('User key must have a length greater than 0.', 'key', '');
  fields.set('key', key);
  checkPolicy(decodePolicy(policyText), { fields, bucket, size: file.body.length }, context.now());

  const described: IncomingHttpHeaders = {};
  for (const [name, value] of fields) {
    if (DESCRIBING_FIELDS.includes(name) || name.startsWith('x-amz-meta-')) described[name] = value;
  }
  const tagging = fields.get('tagging');
  const record: ObjectRecord = {
    key,
    size: file.body.length,
    etag: md5ETag(file.body),
    lastModified: context.now(),
    ...describeFromHeaders(described),
    tags: tagging ? parseTaggingDocument(tagging) : [],
  };
  await context.store.put(bucket, record, file.body);
  publish(context, { name: 'ObjectCreated:Post', bucket, key, size: record.size, etag: record.etag });

  const location = `http://${header(context.request.headers, 'host') ?? 'localhost'}/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
  const redirect = fields.get('success_action_redirect') ?? fields.get('redirect');
  if (redirect) {
    try {
      const target = new URL(redirect);
      target.searchParams.set('bucket', bucket);
      target.searchParams.set('key', key);
      target.searchParams.set('etag', record.etag);
      return { status: 303, headers: { location: target.toString(), etag: record.etag } };
    } catch {
      // S3 ignores a redirect that is not a URL and answers as without one.
    }
  }
  const status = Number(fields.get('success_action_status'));
  if (status === 201) {
    return {
      status: 201,
      headers: { 'content-type': 'application/xml', etag: record.etag, location },
      body: toXml('PostResponse', { Location: location, Bucket: bucket, Key: key, ETag: record.etag }, false),
    };
  }
  return { status: status === 200 ? 200 : 204, headers: { etag: record.etag, location } };
}

/** The form's fields (lower-case names) up to the `file` field, and the file. */
async function readForm(body: Buffer, contentType: string): Promise<{ fields: Map<string, string>; file: { name: string; body: Buffer } }> {
  let form: FormData;
  try {
    form = await new Request('http://local/', { method: 'POST', headers: { 'content-type': contentType }, body }).formData();
  } catch {
    throw new S3Error('MalformedPOSTRequest', 400, 'The body of your POST request is not well-formed multipart/form-data.');
  }
  const fields = new Map<string, string>();
  for (const [name, value] of form.entries()) {
    const field = name.toLowerCase();
    if (field === 'file') {
      const file = typeof value === 'string' ? { name: '', body: Buffer.from(value, 'utf8') } : { name: value.name, body: Buffer.from(await value.arrayBuffer()) };
      return { fields, file };
    }
    fields.set(field, typeof value === 'string' ? value : await value.text());
  }
  throw invalidArgument('POST requires exactly one file upload per request.', 'file', '0');
}

/** The `tagging` field: a `<Tagging><TagSet><Tag>...` document. */
function parseTaggingDocument(xml: string) {
  const document = parseXmlBody(Buffer.from(xml, 'utf8'), 'Tagging');
  return validTags(listOf(document['TagSet'], 'Tag').map((tag) => ({ key: textOf(tag, 'Key') ?? '', value: textOf(tag, 'Value') ?? '' })));
}
