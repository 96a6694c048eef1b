import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { compileRecordFilter, undocumentedFilterKeys } from '../../../local/services/sqs/sqs-event';
import { queueArn } from './support';

function record(body: string, overrides: Partial<SQSRecord> = {}): SQSRecord {
  return {
    messageId: 'm-1',
    receiptHandle: 'r-1',
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1', SenderId: '123456789012', ApproximateFirstReceiveTimestamp: '1' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn('orders'),
    awsRegion: 'eu-west-1',
    ...overrides,
  };
}

describe('filter criteria on SQS records', () => {
  it('lets every record through when there are no patterns', () => {
    // Act
    const passes = compileRecordFilter([])(record('anything'));

    // Assess
    expect(passes).toBe(true);
  });

  it('matches body fields of JSON bodies only, and plain-text patterns on plain-text bodies only', () => {
    // Prepare
    const onFields = compileRecordFilter([{ body: { kind: ['keep'] } }]);
    const onText = compileRecordFilter([{ body: ['keep'] }]);

    // Act
    const results = {
      fieldsOnJson: onFields(record('{"kind":"keep"}')),
      fieldsOnText: onFields(record('keep')),
      textOnText: onText(record('keep')),
      textOnJson: onText(record('{"kind":"keep"}')),
      textOnJsonText: onText(record('"keep"')),
    };

    // Assess
    expect(results).toEqual({ fieldsOnJson: true, fieldsOnText: false, textOnText: true, textOnJson: false, textOnJsonText: false });
  });

  it('passes a record that any one of the patterns matches', () => {
    // Prepare
    const filter = compileRecordFilter([{ body: { kind: ['keep'] } }, { body: [{ prefix: 'urgent:' }] }]);

    // Act
    const results = ['{"kind":"keep"}', 'urgent: restart', '{"kind":"drop"}', 'later: restart'].map((body) => filter(record(body)));

    // Assess
    expect(results).toEqual([true, true, false, false]);
  });

  it('names the pattern keys other than body, which Lambda does not document for SQS', () => {
    // Act
    const keys = undocumentedFilterKeys([{ body: { kind: ['x'] } }, { messageAttributes: { tier: { stringValue: ['gold'] } }, body: ['y'] }]);

    // Assess
    expect(keys).toEqual(['messageAttributes']);
  });
});
