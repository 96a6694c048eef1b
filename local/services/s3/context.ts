/**
 * What every S3 operation works with: the addressed request, the store, multipart uploads in
 * progress, the notification publisher, and who signed the request.
 */
import type { LocalEnvironment } from '../../model';
import { noSuchBucket, S3Error } from './errors';
import type { MultipartUploads } from './multipart-state';
import type { NotificationPublisher, ObjectEvent, RequestFacts } from './notifications';
import type { S3Request } from './request';
import type { ObjectStore } from './store';

export interface OperationContext {
  readonly request: S3Request;
  readonly store: ObjectStore;
  readonly uploads: MultipartUploads;
  readonly notifications: NotificationPublisher;
  readonly env: LocalEnvironment;
  /** The access key id that signed the request. */
  readonly accessKeyId: string;
  readonly now: () => Date;
  /** The request body, read once (later calls return the same bytes). */
  body(): Promise<Buffer>;
}

/** The bucket the request addresses, which must exist. */
export function requireBucket(context: OperationContext): string {
  const bucket = context.request.bucket;
  if (bucket === undefined) throw new S3Error('InvalidRequest', 400, 'A bucket name is required.');
  if (!context.store.hasBucket(bucket)) throw noSuchBucket(bucket);
  return bucket;
}

/** The request's facts for a notification. */
export function requestFacts(context: OperationContext): RequestFacts {
  const { requestId, hostId, sourceIp } = context.request;
  return { requestId, hostId, sourceIp, accessKeyId: context.accessKeyId };
}

/** Publishes one object event caused by this request. */
export function publish(context: OperationContext, event: Omit<ObjectEvent, 'request' | 'time'>): void {
  context.notifications.publish({ ...event, request: requestFacts(context), time: context.now() });
}

/** The owner S3 reports on listings: the account. */
export function owner(env: LocalEnvironment): { ID: string; DisplayName: string } {
  return { ID: env.account, DisplayName: 'local' };
}
