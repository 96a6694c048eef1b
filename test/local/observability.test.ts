import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalCloud } from '../../local/cloud';
import type { FunctionLogLine } from '../../local/runtime/lambda';
import type { MetricSeries } from '../../local/services/metrics';
import { observabilityApp } from './fixtures/apps/observability-app';
import { synthFixture } from './fixtures/assembly';


let cloud: LocalCloud;
let fixture: ReturnType<typeof synthFixture> | undefined;
const logs: FunctionLogLine[] = [];

beforeAll(async () => {
  fixture = synthFixture('local-observability', observabilityApp);
  cloud = await LocalCloud.start({ assemblyDir: fixture.assemblyDir, onLog: (line) => logs.push(line) });
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  fixture?.remove();
});

const functionNamed = (prefix: string) => cloud.model.functions.find((f) => f.logicalId.startsWith(prefix))!.functionName;

describe('faults in a running local cloud', () => {
  it("fails a function's DynamoDB calls that hold the rule's match, and only those", async () => {
    // Prepare
    const reader = functionNamed('TableReader');
    const rule = cloud.faults.add({ service: 'dynamodb', operation: 'GetItem', match: 'tenant-faulted', mode: 'throttle' });
    cloud.counter.reset();

    // Act
    const faulted = await cloud.runtime.invoke(reader, { pk: 'tenant-faulted#bucket' });
    const healthy = await cloud.runtime.invoke(reader, { pk: 'tenant-healthy#bucket' });
    cloud.faults.remove(rule.id);
    const afterRemoval = await cloud.runtime.invoke(reader, { pk: 'tenant-faulted#bucket' });

    // Assess
    expect(faulted.result).toEqual({ ok: false, error: 'ProvisionedThroughputExceededException', status: 400 });
    expect(healthy.result).toEqual({ ok: true, found: false });
    expect(afterRemoval.result).toEqual({ ok: true, found: false });
    expect(cloud.counter.total('dynamodb', 'GetItem')).toBe(3);
  });

  it('serves the same rules over HTTP as in process', async () => {
    // Act
    const added = await fetch(`${cloud.aws.url}/_local/faults`, { method: 'POST', body: JSON.stringify({ service: 'dynamodb', mode: 'unavailable', count: 1 }) });
    const inProcess = cloud.faults.list();
    const outcome = await cloud.runtime.invoke(functionNamed('TableReader'), { pk: 'any' });

    // Assess
    expect(added.status).toBe(201);
    expect(inProcess).toEqual([await added.json()]);
    expect(outcome.result).toMatchObject({ ok: false });
    expect((outcome.result as { status?: number }).status).toBeUndefined();
    expect(cloud.faults.list()).toEqual([]);
  });
});

describe('metrics in a running local cloud', () => {
  it('collects what a function publishes with Powertools Metrics, while onLog still gets the line', async () => {
    // Prepare
    cloud.metrics.reset();

    // Act
    const outcome = await cloud.runtime.invoke(functionNamed('Publisher'), { tenant: 'tenant-m', orders: 3 });
    let series: MetricSeries[] = [];
    await vi.waitFor(
      async () => {
        const response = await fetch(`${cloud.aws.url}/_local/metrics?namespace=Fixture&dimension.tenant=tenant-m`);
        series = (await response.json()) as MetricSeries[];
        expect(series).toHaveLength(2);
      },
      { timeout: 5_000 },
    );

    // Assess
    expect(outcome.result).toBe('published');
    expect(series).toEqual([
      expect.objectContaining({ name: 'Latency', dimensions: { service: 'orders', tenant: 'tenant-m' }, unit: 'Milliseconds', count: 2, sum: 42, min: 12, max: 30 }),
      expect.objectContaining({ name: 'OrdersPlaced', dimensions: { service: 'orders', tenant: 'tenant-m' }, unit: 'Count', count: 1, sum: 3 }),
    ]);
    expect(cloud.metrics.query({ namespace: 'Fixture', name: 'OrdersPlaced' })).toHaveLength(1);
    expect(logs.some((line) => line.line.includes('"_aws"'))).toBe(true);
  });
});
