/**
 * The event CloudWatch Logs gives a Lambda function a subscription filter delivers to:
 * `{ "awslogs": { "data": base64(gzip(JSON)) } }`, the JSON naming the log group, the log
 * stream, the filter and the matching log events. The local cloud builds its deliveries with
 * {@link encodeAwsLogs}; tests (the app's too) can build events with it and read them with
 * {@link decodeAwsLogs}.
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DEFAULT_ENVIRONMENT } from '../../model';

/** One log event as a subscription delivers it. */
export interface AwsLogsLogEvent {
  /** A 56-digit decimal string, unique per event: see {@link logEventId}. */
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly message: string;
}

/** What `awslogs.data` holds once decoded. */
export interface AwsLogsData {
  /** `DATA_MESSAGE`; `CONTROL_MESSAGE` is what CloudWatch Logs sends to check a destination can be reached. */
  readonly messageType: 'DATA_MESSAGE' | 'CONTROL_MESSAGE';
  /** The account that owns the log group. */
  readonly owner: string;
  readonly logGroup: string;
  readonly logStream: string;
  /** The names of the subscription filters the events matched. */
  readonly subscriptionFilters: readonly string[];
  readonly logEvents: readonly AwsLogsLogEvent[];
}

/** The event a Lambda function receives from a CloudWatch Logs subscription filter. */
export interface CloudWatchLogsEvent {
  readonly awslogs: { readonly data: string };
}

/** What {@link encodeAwsLogs} takes: the data, with the members a test rarely cares about optional. */
export interface AwsLogsInput {
  /** @default 'DATA_MESSAGE' */
  readonly messageType?: AwsLogsData['messageType'];
  /** @default the local cloud's account, `000000000000` */
  readonly owner?: string;
  readonly logGroup: string;
  /** @default a Lambda-style stream name for today */
  readonly logStream?: string;
  /** @default [] */
  readonly subscriptionFilters?: readonly string[];
  /** Events; a missing `timestamp` is now, a missing `id` is made from the timestamp. */
  readonly logEvents: readonly { readonly id?: string; readonly timestamp?: number; readonly message: string }[];
}

/**
 * Encodes log events as CloudWatch Logs delivers them to a Lambda function.
 * @example
 * const event = encodeAwsLogs({ logGroup: '/aws/lambda/redirect', logEvents: [{ message: '{"_type":"switchyard.click"}' }] });
 */
export function encodeAwsLogs(input: AwsLogsInput): CloudWatchLogsEvent {
  const now = Date.now();
  const data: AwsLogsData = {
    messageType: input.messageType ?? 'DATA_MESSAGE',
    owner: input.owner ?? DEFAULT_ENVIRONMENT.account,
    logGroup: input.logGroup,
    logStream: input.logStream ?? lambdaLogStreamName(new Date(now)),
    subscriptionFilters: [...(input.subscriptionFilters ?? [])],
    logEvents: input.logEvents.map((event) => {
      const timestamp = event.timestamp ?? now;
      return { id: event.id ?? logEventId(timestamp), timestamp, message: event.message };
    }),
  };
  return { awslogs: { data: gzipSync(JSON.stringify(data)).toString('base64') } };
}

/**
 * Decodes what a subscription delivered: the whole event, or its `awslogs.data` string.
 * @throws Error when the data is not base64 gzip of a JSON object
 */
export function decodeAwsLogs(event: CloudWatchLogsEvent | string): AwsLogsData {
  const data = typeof event === 'string' ? event : event.awslogs.data;
  const json = JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8')) as unknown;
  if (!json || typeof json !== 'object' || !Array.isArray((json as AwsLogsData).logEvents)) throw new Error('awslogs data holds no logEvents');
  return json as AwsLogsData;
}

/** Bits below the timestamp in an event id, as in AWS's ids (`id >> 144` is the timestamp). */
const TIMESTAMP_SHIFT = 144n;
/** Random per process, so ids of two runs do not collide; a counter below it keeps them unique. */
const ORIGIN = BigInt(`0x${randomBytes(10).toString('hex')}`) << 64n;
let sequence = 0n;

/**
 * A log event id in AWS's form: a decimal string of about 56 digits whose top bits are the
 * event's timestamp (`BigInt(id) >> 144n === BigInt(timestamp)`), unique per event.
 */
export function logEventId(timestamp: number): string {
  sequence = (sequence + 1n) & 0xffff_ffff_ffff_ffffn;
  return ((BigInt(Math.max(0, Math.trunc(timestamp))) << TIMESTAMP_SHIFT) | ORIGIN | sequence).toString();
}

/** `2026/11/23/[$LATEST]<32 hex>`: the name Lambda gives an execution environment's log stream. */
export function lambdaLogStreamName(created: Date, id: string = randomBytes(16).toString('hex')): string {
  return `${created.toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${id}`;
}
