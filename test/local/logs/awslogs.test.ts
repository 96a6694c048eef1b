import { gunzipSync } from 'node:zlib';
import { CloudWatchLogsSchema } from '@aws-lambda-powertools/parser/schemas/cloudwatch';
import { describe, expect, it } from 'vitest';
import { decodeAwsLogs, encodeAwsLogs, lambdaLogStreamName, logEventId } from '../../../local/services/logs/awslogs';

describe('awslogs payloads', () => {
  it('round-trips: base64 of gzip of the JSON CloudWatch Logs sends', () => {
    // Prepare
    const data = {
      messageType: 'DATA_MESSAGE',
      owner: '123456789012',
      logGroup: '/aws/lambda/redirect',
      logStream: '2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef',
      subscriptionFilters: ['Clicks'],
      logEvents: [
        { id: logEventId(1_795_000_000_000), timestamp: 1_795_000_000_000, message: '{"_type":"switchyard.click","code":"abc"}' },
        { id: logEventId(1_795_000_000_001), timestamp: 1_795_000_000_001, message: 'ünïcode ✓' },
      ],
    } as const;

    // Act
    const event = encodeAwsLogs(data);
    const raw = JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8')) as unknown;

    // Assess
    expect(Object.keys(event)).toEqual(['awslogs']);
    expect(raw).toEqual(data);
    expect(decodeAwsLogs(event)).toEqual(data);
    expect(decodeAwsLogs(event.awslogs.data)).toEqual(data);
  });

  it("fills what a test leaves out, and Powertools' CloudWatch Logs schema reads the result", () => {
    // Act
    const event = encodeAwsLogs({ logGroup: '/aws/lambda/redirect', logEvents: [{ message: 'one' }, { message: 'two', timestamp: 1_700_000_000_000 }] });
    const parsed = CloudWatchLogsSchema.parse(event);

    // Assess
    expect(parsed.awslogs.data).toMatchObject({
      messageType: 'DATA_MESSAGE',
      owner: '000000000000',
      logGroup: '/aws/lambda/redirect',
      subscriptionFilters: [],
      logEvents: [{ message: 'one' }, { message: 'two', timestamp: 1_700_000_000_000 }],
    });
    expect(parsed.awslogs.data.logStream).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
  });

  it('makes event ids as AWS does: 56 digits whose top bits are the timestamp, unique per event', () => {
    // Act
    const ids = Array.from({ length: 1000 }, () => logEventId(1_795_000_000_000));

    // Assess
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids.slice(0, 10)) {
      expect(id).toMatch(/^\d{56}$/);
      expect(BigInt(id) >> 144n).toBe(1_795_000_000_000n);
    }
  });

  it('refuses data that is not gzip of a JSON delivery', () => {
    expect(() => decodeAwsLogs('bm90IGd6aXA=')).toThrow();
  });

  it('names log streams as Lambda does', () => {
    expect(lambdaLogStreamName(new Date('2026-11-23T10:00:00Z'), 'e6f4a0c4241adcd70c262d34c0bbc85c')).toBe('2026/11/23/[$LATEST]e6f4a0c4241adcd70c262d34c0bbc85c');
  });
});
