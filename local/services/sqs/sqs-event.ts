/**
 * The records Lambda's SQS poller hands a function, built from ReceiveMessage answers, and the
 * filter criteria it applies to them first.
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { compilePattern } from '../eventbridge/pattern';

/** System attributes in the order Lambda's records list them; any others follow. */
const ATTRIBUTE_ORDER = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SequenceNumber',
  'MessageGroupId',
  'SenderId',
  'MessageDeduplicationId',
  'ApproximateFirstReceiveTimestamp',
];

/** One message as an `aws:sqs` record (received with all system and message attributes). */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const received = (message.Attributes ?? {}) as Record<string, string>;
  const attributes: Record<string, string> = {};
  for (const name of [...ATTRIBUTE_ORDER, ...Object.keys(received)]) {
    const value = received[name];
    if (value !== undefined) attributes[name] = value;
  }
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
      // Lambda always sends the list fields, empty: SQS reserves them and never fills them.
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((item) => Buffer.from(item).toString('base64')),
      dataType: value.DataType ?? 'String',
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: attributes as unknown as SQSRecordAttributes,
    messageAttributes,
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** Whether a record passes a mapping's filter criteria. */
export type RecordFilter = (record: SQSRecord) => boolean;

/**
 * Compiles `FilterCriteria` patterns: a record passes when any pattern matches it, and every
 * record passes when there are none. Patterns see the record with its body parsed when the
 * body is a JSON object or array, so `{"body": {"kind": ["x"]}}` matches such bodies only and
 * `{"body": ["x"]}` plain-text ones only, as Lambda documents for SQS.
 * @throws InvalidEventPatternError when a pattern is malformed (CreateEventSourceMapping would refuse it)
 */
export function compileRecordFilter(patterns: readonly unknown[]): RecordFilter {
  if (patterns.length === 0) return () => true;
  const matchers = patterns.map((pattern) => compilePattern(pattern));
  return (record) => {
    const view = { ...record, body: parseBody(record.body) };
    return matchers.some((matches) => matches(view));
  };
}

/**
 * Top-level keys of the patterns other than `body`. Lambda documents filtering on `body` only
 * for SQS; a pattern on `attributes` or `messageAttributes` is matched here against the record,
 * but may not behave so on AWS.
 */
export function undocumentedFilterKeys(patterns: readonly unknown[]): string[] {
  const keys = patterns.flatMap((pattern) => (typeof pattern === 'object' && pattern !== null ? Object.keys(pattern) : []));
  return [...new Set(keys.filter((key) => key !== 'body'))];
}

function parseBody(body: string): unknown {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? parsed : body;
  } catch {
    return body;
  }
}
