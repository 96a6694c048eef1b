import { createHmac } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import type { BucketModel, LocalEnvironment } from '../../../local/model';
import { startS3, type LocalS3, type S3Options } from '../../../local/services/s3/index';

export const env: LocalEnvironment = { account: '123456789012', region: 'us-east-1' };
export const credentials = { accessKeyId: 'LOCALS3TESTACCESSKEY', secretAccessKey: 'local-s3-test-secret-access-key' } as const;

/** A bucket of the model; notifications and CORS off unless given. */
export function bucketModel(name: string, settings: Partial<BucketModel> = {}): BucketModel {
  return {
    logicalId: `${name.replace(/[^a-z0-9]/gi, '')}Bucket`,
    stackName: 'test-stack',
    name,
    arn: `arn:aws:s3:::${name}`,
    eventBridgeEnabled: false,
    lambdaNotifications: [],
    queueNotifications: [],
    corsRules: [],
    versioned: false,
    ...settings,
  };
}

export interface EventBridgeEntry {
  readonly source: 'aws.s3';
  readonly detailType: string;
  readonly detail: unknown;
  readonly resources: string[];
  readonly time: Date;
}

/** A `notify` that records what it is given; `fail` makes a destination refuse. */
export function recordingNotify(fail: (destination: string) => boolean = () => false) {
  const eventBridge: EventBridgeEntry[] = [];
  const lambda: { arn: string; event: unknown }[] = [];
  const sqs: { arn: string; body: string }[] = [];
  return {
    eventBridge,
    lambda,
    sqs,
    notify: {
      async eventBridge(entry: EventBridgeEntry) {
        if (fail('eventBridge')) throw new Error('EventBridge is unavailable');
        eventBridge.push(entry);
      },
      async lambda(arn: string, event: unknown) {
        if (fail(arn)) throw new Error(`${arn} is unavailable`);
        lambda.push({ arn, event });
      },
      async sqs(arn: string, body: string) {
        if (fail(arn)) throw new Error(`${arn} is unavailable`);
        sqs.push({ arn, body });
      },
    },
  };
}

/** An SDK client as the local cloud's functions make them (path style, checksums only when required). */
export function s3Client(endpoint: string, signingCredentials: { accessKeyId: string; secretAccessKey: string } = credentials): S3Client {
  return new S3Client({
    endpoint,
    region: env.region,
    credentials: signingCredentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface TestS3 {
  readonly s3: LocalS3;
  readonly client: S3Client;
  readonly notifications: ReturnType<typeof recordingNotify>;
  readonly logged: string[];
  stop(): Promise<void>;
}

/** Starts a local S3 for a test, with a client signed for it and recorded notifications. */
export async function startTestS3(buckets: readonly BucketModel[], options: Partial<S3Options> & { fail?: (destination: string) => boolean } = {}): Promise<TestS3> {
  const notifications = recordingNotify(options.fail);
  const logged: string[] = [];
  const s3 = await startS3({ buckets, env, credentials, notify: notifications.notify, log: (message) => logged.push(message), ...options });
  const client = s3Client(s3.endpoint);
  return {
    s3,
    client,
    notifications,
    logged,
    stop: async () => {
      client.destroy();
      await s3.stop();
    },
  };
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 5_000, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The `<Code>` of an S3 error document. */
export function errorCode(xml: string): string | undefined {
  return elementText(xml, 'Code');
}

/** The `<Message>` of an S3 error document. */
export function errorMessage(xml: string): string | undefined {
  return elementText(xml, 'Message');
}

const ENTITIES: Record<string, string> = { '&quot;': '"', '&apos;': "'", '&lt;': '<', '&gt;': '>', '&amp;': '&' };

function elementText(xml: string, name: string): string | undefined {
  const raw = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
  return raw?.replace(/&(quot|apos|lt|gt|amp);/g, (entity) => ENTITIES[entity]!);
}

/**
 * A presigned POST made the way the S3 user guide describes it (and `@aws-sdk/s3-presigned-post`
 * does), written out here with node:crypto so it checks the emulator independently of the
 * signer the emulator uses.
 */
export function presignPost(options: {
  readonly endpoint: string;
  readonly bucket: string;
  readonly key: string;
  readonly conditions?: readonly unknown[];
  readonly fields?: Readonly<Record<string, string>>;
  readonly expiresInSeconds?: number;
  readonly secretAccessKey?: string;
  readonly now?: Date;
}): { url: string; fields: Record<string, string> } {
  const now = options.now ?? new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const credential = `${credentials.accessKeyId}/${day}/${env.region}/s3/aws4_request`;
  const fields: Record<string, string> = {
    bucket: options.bucket,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': credential,
    'X-Amz-Date': amzDate,
    key: options.key,
    ...options.fields,
  };
  const keyCondition = options.key.includes('${filename}') ? ['starts-with', '$key', options.key.replace('${filename}', '')] : { key: options.key };
  const policy = {
    expiration: new Date(now.getTime() + (options.expiresInSeconds ?? 600) * 1000).toISOString(),
    conditions: [
      ...Object.entries(fields)
        .filter(([name]) => name !== 'key')
        .map(([name, value]) => ({ [name]: value })),
      keyCondition,
      ...(options.conditions ?? []),
    ],
  };
  const encodedPolicy = Buffer.from(JSON.stringify(policy), 'utf8').toString('base64');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${options.secretAccessKey ?? credentials.secretAccessKey}`, day), env.region), 's3'), 'aws4_request');
  return {
    url: `${options.endpoint}/${options.bucket}`,
    fields: { ...fields, Policy: encodedPolicy, 'X-Amz-Signature': createHmac('sha256', signingKey).update(encodedPolicy, 'utf8').digest('hex') },
  };
}

/** A browser-like form: the fields in order, then the file last. */
export function formOf(fields: Readonly<Record<string, string>>, file: Blob, filename = 'upload.bin'): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', file, filename);
  return form;
}
