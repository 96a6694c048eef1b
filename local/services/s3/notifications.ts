/**
 * S3 event notifications as AWS sends them: the `Records` document to Lambda functions and SQS
 * queues whose configuration matches the event name and key filters, and `Object Created` /
 * `Object Deleted` to EventBridge for buckets that turned it on. Delivery starts once the write
 * is durable and never holds up the response; a failed delivery is logged and dropped.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BucketModel, BucketNotificationTarget, LocalEnvironment } from '../../model';

/** The event names S3 emits locally (`s3:` prefix left off, as in the `eventName` field). */
export type S3EventName =
  | 'ObjectCreated:Put'
  | 'ObjectCreated:Post'
  | 'ObjectCreated:Copy'
  | 'ObjectCreated:CompleteMultipartUpload'
  | 'ObjectRemoved:Delete';

/** Where notifications go; the local cloud wires these to its EventBridge, Lambda runtime and SQS. */
export interface S3Notify {
  eventBridge(entry: { source: 'aws.s3'; detailType: string; detail: unknown; resources: string[]; time: Date }): Promise<void>;
  lambda(functionArn: string, event: unknown): Promise<void>;
  sqs(queueArn: string, body: string): Promise<void>;
}

/** The request that changed an object, as the notification reports it. */
export interface RequestFacts {
  readonly requestId: string;
  readonly hostId: string;
  readonly sourceIp: string;
  /** The access key id that signed the request. */
  readonly accessKeyId: string;
}

/** One change to one object. */
export interface ObjectEvent {
  readonly name: S3EventName;
  readonly bucket: string;
  /** The key as stored (not URL-encoded). */
  readonly key: string;
  /** Size and ETag (quoted or not) of a created object. */
  readonly size?: number;
  readonly etag?: string;
  readonly request: RequestFacts;
  readonly time: Date;
}

/** The `reason` of an EventBridge detail, by event name. */
const REASONS: Record<S3EventName, string> = {
  'ObjectCreated:Put': 'PutObject',
  // The S3 user guide names this reason "POST Object", not "PostObject".
  'ObjectCreated:Post': 'POST Object',
  'ObjectCreated:Copy': 'CopyObject',
  'ObjectCreated:CompleteMultipartUpload': 'CompleteMultipartUpload',
  'ObjectRemoved:Delete': 'DeleteObject',
};

/**
 * Sends the notifications of the buckets in the model. Buckets not in the model (made with
 * CreateBucket) have no notification configuration, as on AWS.
 */
export class NotificationPublisher {
  private readonly buckets: ReadonlyMap<string, BucketModel>;
  private readonly pending = new Set<Promise<void>>();
  private lastSequence = 0n;

  constructor(
    buckets: readonly BucketModel[],
    private readonly env: LocalEnvironment,
    private readonly notify: S3Notify,
    private readonly log: (message: string) => void,
  ) {
    this.buckets = new Map(buckets.map((bucket) => [bucket.name, bucket]));
  }

  /** Starts delivery of one event to every destination that wants it; returns at once. */
  publish(event: ObjectEvent): void {
    const bucket = this.buckets.get(event.bucket);
    if (!bucket) return;
    const sequencer = this.nextSequencer();
    const deliveries: { what: string; send: () => Promise<void> }[] = [];

    if (bucket.eventBridgeEnabled) {
      const deleted = event.name.startsWith('ObjectRemoved:');
      deliveries.push({
        what: `EventBridge (${bucket.name})`,
        send: () =>
          this.notify.eventBridge({
            source: 'aws.s3',
            detailType: deleted ? 'Object Deleted' : 'Object Created',
            detail: eventBridgeDetail(event, sequencer, this.env),
            resources: [bucket.arn],
            time: event.time,
          }),
      });
    }
    bucket.lambdaNotifications.forEach((target, index) => {
      if (!targetMatches(target, event.name, event.key)) return;
      const record = notificationRecord(event, sequencer, bucket, configurationId(bucket, 'Lambda', index), this.env);
      deliveries.push({ what: target.arn, send: () => this.notify.lambda(target.arn, { Records: [record] }) });
    });
    bucket.queueNotifications.forEach((target, index) => {
      if (!targetMatches(target, event.name, event.key)) return;
      const record = notificationRecord(event, sequencer, bucket, configurationId(bucket, 'Queue', index), this.env);
      deliveries.push({ what: target.arn, send: () => this.notify.sqs(target.arn, JSON.stringify({ Records: [record] })) });
    });

    for (const delivery of deliveries) {
      const attempt = Promise.resolve()
        .then(delivery.send)
        .catch((error: unknown) => {
          this.log(`s3: ${event.name} of s3://${event.bucket}/${event.key} not delivered to ${delivery.what}: ${error instanceof Error ? error.message : String(error)}`);
        })
        .finally(() => this.pending.delete(attempt));
      this.pending.add(attempt);
    }
  }

  /** Waits for deliveries under way, so none is cut off by a stop. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** A hex string that grows with every event, as S3's sequencer does for each key. */
  private nextSequencer(): string {
    const candidate = BigInt(Date.now()) * 1_000_000n;
    this.lastSequence = candidate > this.lastSequence ? candidate : this.lastSequence + 1n;
    return this.lastSequence.toString(16).toUpperCase().padStart(18, '0');
  }
}

/**
 * Whether a notification configuration wants an event: its event names (`s3:ObjectCreated:*`
 * style wildcards) and its prefix and suffix filters on the key.
 */
export function targetMatches(target: BucketNotificationTarget, name: S3EventName, key: string): boolean {
  const full = `s3:${name}`;
  const wanted = target.events.some((pattern) => (pattern.endsWith('*') ? full.startsWith(pattern.slice(0, -1)) : pattern === full));
  return wanted && key.startsWith(target.prefix ?? '') && key.endsWith(target.suffix ?? '');
}

/** One record of the `Records` document Lambda and SQS receive (event version 2.1). */
export function notificationRecord(event: ObjectEvent, sequencer: string, bucket: BucketModel, configurationIdText: string, env: LocalEnvironment) {
  const created = event.name.startsWith('ObjectCreated:');
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: env.region,
    eventTime: event.time.toISOString(),
    eventName: event.name,
    userIdentity: { principalId: `AWS:${event.request.accessKeyId}` },
    requestParameters: { sourceIPAddress: event.request.sourceIp },
    responseElements: { 'x-amz-request-id': event.request.requestId, 'x-amz-id-2': event.request.hostId },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: configurationIdText,
      bucket: { name: bucket.name, ownerIdentity: { principalId: ownerId(env) }, arn: bucket.arn },
      object: {
        key: encodeEventKey(event.key),
        ...(created ? { size: event.size ?? 0, eTag: unquote(event.etag ?? '') } : {}),
        sequencer,
      },
    },
  };
}

/** The `detail` of an EventBridge `Object Created` or `Object Deleted` event. */
export function eventBridgeDetail(event: ObjectEvent, sequencer: string, env: LocalEnvironment) {
  const created = event.name.startsWith('ObjectCreated:');
  return {
    version: '0',
    bucket: { name: event.bucket },
    object: {
      key: event.key,
      ...(created ? { size: event.size ?? 0, etag: unquote(event.etag ?? '') } : {}),
      sequencer,
    },
    'request-id': event.request.requestId,
    requester: env.account,
    'source-ip-address': event.request.sourceIp,
    reason: REASONS[event.name],
    ...(created ? {} : { 'deletion-type': 'Permanently Deleted' }),
  };
}

/**
 * A key as S3 writes it in notification records: form-encoded (a space is `+`), with `/` left
 * as is, e.g. `red flower(1).png` → `red+flower%281%29.png`.
 */
export function encodeEventKey(key: string): string {
  return [...Buffer.from(key, 'utf8')]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      if (/[A-Za-z0-9.\-_*/]/.test(char)) return char;
      if (char === ' ') return '+';
      return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** A request id and host id in S3's style. */
export function newRequestIds(): { requestId: string; hostId: string } {
  return { requestId: randomBytes(8).toString('hex').toUpperCase(), hostId: randomBytes(48).toString('base64') };
}

/**
 * The configuration's id. CloudFormation leaves `Id` to S3 when the template gives none, so a
 * stable name made from the bucket and the configuration's place stands in for it.
 */
function configurationId(bucket: BucketModel, kind: 'Lambda' | 'Queue', index: number): string {
  return `${bucket.logicalId}-${kind}-${index + 1}`;
}

/** A bucket owner's canonical-user-like id, stable per account. */
function ownerId(env: LocalEnvironment): string {
  return `A${createHash('sha256').update(env.account).digest('hex').slice(0, 13).toUpperCase()}`;
}

function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}
