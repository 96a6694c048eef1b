import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallCounter, startAwsEndpoint, type AwsEndpoint } from '../../local/aws/endpoint';
import { parseLogLine } from '../../local/logs';
import { MetricStore, type MetricSeries } from '../../local/services/metrics';

/** An EMF line as Powertools Metrics prints it. */
function emfLine(overrides: { namespace?: string; timestamp?: number; dimensions?: string[][]; fields?: Record<string, unknown>; metrics?: { Name: string; Unit?: string }[] } = {}): string {
  return JSON.stringify({
    _aws: {
      Timestamp: overrides.timestamp ?? Date.UTC(2025, 0, 1, 12),
      CloudWatchMetrics: [
        {
          Namespace: overrides.namespace ?? 'Switchyard',
          Dimensions: overrides.dimensions ?? [['service']],
          Metrics: overrides.metrics ?? [
            { Name: 'RequestsAdmitted', Unit: 'Count' },
            { Name: 'Latency', Unit: 'Milliseconds' },
          ],
        },
      ],
    },
    service: 'rate-limiter',
    RequestsAdmitted: 1,
    Latency: [12, 30],
    ...overrides.fields,
  });
}

describe('MetricStore', () => {
  it('turns an EMF document into one series per metric and dimension set, with its statistics', () => {
    // Prepare
    const store = new MetricStore();

    // Act
    const recorded = store.ingestLine(emfLine({ dimensions: [['service'], ['service', 'tenant']], fields: { tenant: 't-1' } }));

    // Assess
    expect(recorded).toBe(6);
    expect(store.query({ name: 'Latency' })).toEqual([
      {
        namespace: 'Switchyard',
        name: 'Latency',
        dimensions: { service: 'rate-limiter' },
        unit: 'Milliseconds',
        count: 2,
        sum: 42,
        min: 12,
        max: 30,
        values: [
          { value: 12, timestamp: '2025-01-01T12:00:00.000Z' },
          { value: 30, timestamp: '2025-01-01T12:00:00.000Z' },
        ],
      },
      expect.objectContaining({ name: 'Latency', dimensions: { service: 'rate-limiter', tenant: 't-1' }, count: 2 }),
    ]);
  });

  it('adds up the values of one series across lines', () => {
    // Prepare
    const store = new MetricStore();

    // Act
    store.ingestLine(emfLine({ fields: { RequestsAdmitted: 3 } }));
    store.ingestLine(emfLine({ fields: { RequestsAdmitted: 5 } }));

    // Assess
    expect(store.query({ name: 'RequestsAdmitted', values: false })).toEqual([
      { namespace: 'Switchyard', name: 'RequestsAdmitted', dimensions: { service: 'rate-limiter' }, unit: 'Count', count: 2, sum: 8, min: 3, max: 5 },
    ]);
  });

  it('keeps a series without dimensions, and skips a dimension set whose value is missing', () => {
    // Prepare
    const store = new MetricStore();

    // Act
    store.ingestLine(emfLine({ dimensions: [], metrics: [{ Name: 'RequestsAdmitted' }] }));
    store.ingestLine(emfLine({ dimensions: [['tenant']], metrics: [{ Name: 'Latency' }] }));

    // Assess
    expect(store.query().map((s) => [s.name, s.dimensions, s.unit])).toEqual([['RequestsAdmitted', {}, 'None']]);
  });

  it('ignores lines that are not EMF, and keeps only the latest values of a long series', () => {
    // Prepare
    const store = new MetricStore({ maxValuesPerSeries: 2 });

    // Act
    const logs = [
      store.ingestLine('{"level":"INFO","message":"request admitted"}'),
      store.ingestLine('not json at all "_aws"'),
      store.ingestLine('{"_aws":"not an object"}'),
    ];
    for (const n of [1, 2, 3]) store.ingestLine(emfLine({ fields: { RequestsAdmitted: n } }));

    // Assess
    expect(logs).toEqual([0, 0, 0]);
    const [series] = store.query({ name: 'RequestsAdmitted' });
    expect(series).toMatchObject({ count: 3, sum: 6, min: 1, max: 3 });
    expect(series!.values!.map((v) => v.value)).toEqual([2, 3]);
  });

  it('is not shown as a log line', () => {
    expect(parseLogLine({ functionName: 'f', logicalId: 'F', stream: 'stdout', line: emfLine() })).toBeUndefined();
  });
});

describe('/_local/metrics on the AWS endpoint', () => {
  let aws: AwsEndpoint;

  beforeAll(async () => {
    aws = await startAwsEndpoint({ port: 0, counter: new CallCounter() });
  });
  beforeEach(() => {
    aws.metrics.reset();
    aws.metrics.ingestLine(emfLine({ fields: { service: 'rate-limiter' } }));
    aws.metrics.ingestLine(emfLine({ fields: { service: 'shortener', LinksCreated: 2 }, metrics: [{ Name: 'LinksCreated', Unit: 'Count' }], dimensions: [['service']] }));
    aws.metrics.ingestLine(emfLine({ namespace: 'Other', fields: { service: 'rate-limiter' } }));
  });
  afterAll(async () => {
    await aws.close();
  });

  const get = async (query = ''): Promise<MetricSeries[]> => (await (await fetch(`${aws.url}/_local/metrics${query}`)).json()) as MetricSeries[];

  it('serves every series, and filters them by namespace, name and dimension', async () => {
    // Act
    const all = await get();
    const byNamespace = await get('?namespace=Other');
    const byName = await get('?namespace=Switchyard&name=Latency');
    const byDimension = await get('?dimension.service=shortener');
    const none = await get('?dimension.service=unknown');

    // Assess
    expect(all).toHaveLength(5);
    expect(byNamespace.map((s) => s.name)).toEqual(['Latency', 'RequestsAdmitted']);
    expect(byName).toEqual([expect.objectContaining({ namespace: 'Switchyard', name: 'Latency', dimensions: { service: 'rate-limiter' }, count: 2, sum: 42 })]);
    expect(byDimension).toEqual([expect.objectContaining({ name: 'LinksCreated', dimensions: { service: 'shortener' }, count: 1 })]);
    expect(none).toEqual([]);
  });

  it('leaves the values out on values=false, and forgets everything on DELETE', async () => {
    // Act
    const withoutValues = await get('?name=Latency&namespace=Other&values=false');
    const deleted = await fetch(`${aws.url}/_local/metrics`, { method: 'DELETE' });
    const after = await get();

    // Assess
    expect(withoutValues[0]).not.toHaveProperty('values');
    expect(deleted.status).toBe(200);
    expect(after).toEqual([]);
  });
});
