import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SubscriptionFilterModel } from '../../../local/model';
import { decodeAwsLogs, type CloudWatchLogsEvent } from '../../../local/services/logs/awslogs';
import { LogSubscriptions, type LogSubscriptionsOptions } from '../../../local/services/logs/subscriptions';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const GROUP = '/aws/lambda/redirect';
const DESTINATION = 'arn:aws:lambda:eu-west-1:123456789012:function:aggregator';

function filter(overrides: Partial<SubscriptionFilterModel> = {}): SubscriptionFilterModel {
  return { logicalId: 'Clicks', stackName: 'fixture', name: 'fixture-Clicks', logGroupName: GROUP, filterPattern: '{ $._type = "switchyard.click" }', destinationArn: DESTINATION, ...overrides };
}

const clickLine = (code: string) => JSON.stringify({ _type: 'switchyard.click', code });

function start(options: Partial<LogSubscriptionsOptions> = {}) {
  const deliveries: { destination: string; event: CloudWatchLogsEvent }[] = [];
  const warnings: string[] = [];
  const subscriptions = new LogSubscriptions({
    filters: [filter()],
    env: ENV,
    deliver: (destination, event) => {
      deliveries.push({ destination, event });
    },
    flushIntervalMs: 60_000,
    onWarning: (message) => warnings.push(message),
    ...options,
  });
  return { subscriptions, deliveries, warnings, decoded: () => deliveries.map((d) => decodeAwsLogs(d.event)) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('LogSubscriptions', () => {
  it('delivers only matching events of the filtered group, batched per log stream, in the awslogs format', async () => {
    // Prepare
    const { subscriptions, deliveries, decoded } = start();

    // Act
    subscriptions.ingest({ logGroup: GROUP, logStream: 'stream-a', message: clickLine('a1'), timestamp: 1000 });
    subscriptions.ingest({ logGroup: GROUP, logStream: 'stream-a', message: 'plain switchyard.click text' });
    subscriptions.ingest({ logGroup: GROUP, logStream: 'stream-b', message: clickLine('b1'), timestamp: 1001 });
    subscriptions.ingest({ logGroup: GROUP, logStream: 'stream-a', message: JSON.stringify({ _type: 'other' }) });
    subscriptions.ingest({ logGroup: '/aws/lambda/elsewhere', logStream: 'stream-a', message: clickLine('x') });
    subscriptions.ingest({ logGroup: GROUP, logStream: 'stream-a', message: clickLine('a2'), timestamp: 1002 });
    await subscriptions.flush();

    // Assess
    expect(deliveries.map((d) => d.destination)).toEqual([DESTINATION, DESTINATION]);
    const byStream = Object.fromEntries(decoded().map((d) => [d.logStream, d]));
    expect(byStream['stream-a']).toEqual({
      messageType: 'DATA_MESSAGE',
      owner: '123456789012',
      logGroup: GROUP,
      logStream: 'stream-a',
      subscriptionFilters: ['fixture-Clicks'],
      logEvents: [
        { id: expect.stringMatching(/^\d+$/), timestamp: 1000, message: clickLine('a1') },
        { id: expect.stringMatching(/^\d+$/), timestamp: 1002, message: clickLine('a2') },
      ],
    });
    expect(byStream['stream-b']?.logEvents.map((e) => e.message)).toEqual([clickLine('b1')]);
  });

  it('sends a batch once its interval has passed', async () => {
    // Prepare
    vi.useFakeTimers();
    const { subscriptions, deliveries } = start({ flushIntervalMs: 1000 });

    // Act
    subscriptions.ingest({ logGroup: GROUP, logStream: 's', message: clickLine('1') });
    await vi.advanceTimersByTimeAsync(500);
    subscriptions.ingest({ logGroup: GROUP, logStream: 's', message: clickLine('2') });
    const before = deliveries.length;
    await vi.advanceTimersByTimeAsync(600);

    // Assess
    expect(before).toBe(0);
    expect(deliveries).toHaveLength(1);
    expect(decodeAwsLogs(deliveries[0]!.event).logEvents).toHaveLength(2);
  });

  it('starts a new batch at 10,000 events or 1 MB', async () => {
    // Prepare
    const { subscriptions, decoded } = start({ maxEvents: 3, maxBytes: 200 });

    // Act
    for (let i = 0; i < 7; i++) subscriptions.ingest({ logGroup: GROUP, logStream: 's', message: clickLine(String(i)) });
    subscriptions.ingest({ logGroup: GROUP, logStream: 'big', message: clickLine('x'.repeat(120)) });
    subscriptions.ingest({ logGroup: GROUP, logStream: 'big', message: clickLine('y'.repeat(120)) });
    await subscriptions.flush();

    // Assess
    const sizes = decoded().map((d) => [d.logStream, d.logEvents.length]);
    expect(sizes).toEqual(
      expect.arrayContaining([
        ['s', 3],
        ['s', 3],
        ['s', 1],
        ['big', 1],
        ['big', 1],
      ]),
    );
    expect(sizes).toHaveLength(5);
  });

  it('sends to every filter of the group that matches, each batch naming its filter', async () => {
    // Prepare
    const errors = filter({ logicalId: 'Errors', name: 'errors', filterPattern: '?ERROR ?WARN', destinationArn: `${DESTINATION}-errors` });
    const { subscriptions, decoded, deliveries } = start({ filters: [filter(), errors, filter({ logicalId: 'All', name: 'all', filterPattern: '', destinationArn: `${DESTINATION}-all` })] });

    // Act
    subscriptions.ingest({ logGroup: GROUP, logStream: 's', message: clickLine('1') });
    subscriptions.ingest({ logGroup: GROUP, logStream: 's', message: 'ERROR boom' });
    await subscriptions.flush();

    // Assess
    const got = Object.fromEntries(decoded().map((d, i) => [deliveries[i]!.destination, [d.subscriptionFilters, d.logEvents.map((e) => e.message)]]));
    expect(got).toEqual({
      [DESTINATION]: [['fixture-Clicks'], [clickLine('1')]],
      [`${DESTINATION}-errors`]: [['errors'], ['ERROR boom']],
      [`${DESTINATION}-all`]: [['all'], [clickLine('1'), 'ERROR boom']],
    });
  });

  it('flushes what it holds on stop, then takes nothing more', async () => {
    // Prepare
    const { subscriptions, deliveries } = start();
    subscriptions.ingest({ logGroup: GROUP, logStream: 's', message: clickLine('last') });

    // Act
    await subscriptions.stop();
    subscriptions.ingest({ logGroup: GROUP, logStream: 's', message: clickLine('late') });
    await subscriptions.flush();

    // Assess
    expect(deliveries).toHaveLength(1);
    expect(decodeAwsLogs(deliveries[0]!.event).logEvents.map((e) => e.message)).toEqual([clickLine('last')]);
  });

  it('names a filter whose pattern it cannot serve, and a delivery that failed', async () => {
    // Prepare
    const { subscriptions, warnings } = start({
      filters: [filter({ name: 'spaced', filterPattern: '[ip, user]' }), filter()],
      deliver: () => {
        throw new Error('ResourceNotFoundException: gone');
      },
    });

    // Act
    subscriptions.ingest({ logGroup: GROUP, logStream: 's', message: clickLine('1') });
    await subscriptions.flush();

    // Assess
    expect(warnings).toEqual([expect.stringContaining('spaced'), expect.stringContaining('ResourceNotFoundException: gone')]);
  });
});
