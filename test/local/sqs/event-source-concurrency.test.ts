import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAXIMUM_CONCURRENCY } from '../../../local/services/sqs/event-source';
import { FakeFunction, groupOf, mappingModel, queueModel, sendAll, startScenario, type Invocation, type Scenario } from './support';

let scenario: Scenario | undefined;

afterEach(async () => {
  await scenario?.stop();
  scenario = undefined;
});

const slow = () => new FakeFunction(() => ({ delayMs: 100 }));

/** Pairs of invocations that ran at the same time. */
function overlapping(invocations: readonly Invocation[]): [Invocation, Invocation][] {
  const pairs: [Invocation, Invocation][] = [];
  invocations.forEach((a, i) =>
    invocations.slice(i + 1).forEach((b) => {
      if (a.startedAt < b.endedAt! && b.startedAt < a.endedAt!) pairs.push([a, b]);
    }),
  );
  return pairs;
}

describe('FIFO queues', () => {
  it('keeps order within a message group, never overlaps batches of one group, and runs groups in parallel', async () => {
    // Prepare: three groups, interleaved, waiting before the mapping starts
    const jobs = queueModel('jobs.fifo');
    scenario = await startScenario({ queues: [jobs] });
    const sent = ['a1', 'b1', 'c1', 'a2', 'b2', 'c2', 'a3', 'b3', 'c3', 'a4', 'b4', 'c4'];
    await sendAll(scenario.client, jobs, sent);
    const fn = slow();

    // Act
    const mappings = scenario.startMappings([mappingModel(jobs, { batchSize: 1 })], fn);
    await mappings.idle();

    // Assess
    const bodiesOf = (group: string) => fn.bodies().filter((body) => body.startsWith(group));
    expect(['a', 'b', 'c'].map(bodiesOf)).toEqual([
      ['a1', 'a2', 'a3', 'a4'],
      ['b1', 'b2', 'b3', 'b4'],
      ['c1', 'c2', 'c3', 'c4'],
    ]);
    const sameGroup = overlapping(fn.invocations).filter(([x, y]) => groupOf(x.records[0]!) === groupOf(y.records[0]!));
    expect(sameGroup).toEqual([]);
    expect(fn.maxActive).toBe(3);
  });
});

describe('maximum concurrency', () => {
  it('runs at most maximumConcurrency batches of a mapping at once', async () => {
    // Prepare
    const clicks = queueModel('clicks');
    scenario = await startScenario({ queues: [clicks] });
    const bodies = Array.from({ length: 12 }, (_, index) => `click-${index}`);
    await sendAll(scenario.client, clicks, bodies);
    const fn = slow();

    // Act
    const mappings = scenario.startMappings([mappingModel(clicks, { batchSize: 1, maximumConcurrency: 2 })], fn);
    await mappings.idle();

    // Assess
    expect(fn.maxActive).toBe(2);
    expect(fn.bodies().sort()).toEqual([...bodies].sort());
  });

  it(`runs ${DEFAULT_MAXIMUM_CONCURRENCY} batches at once when the mapping sets no maximum`, async () => {
    // Prepare
    const clicks = queueModel('clicks');
    scenario = await startScenario({ queues: [clicks] });
    await sendAll(scenario.client, clicks, Array.from({ length: 15 }, (_, index) => `click-${index}`));
    const fn = slow();

    // Act
    const mappings = scenario.startMappings([mappingModel(clicks, { batchSize: 1 })], fn);
    await mappings.idle();

    // Assess
    expect(fn.maxActive).toBe(DEFAULT_MAXIMUM_CONCURRENCY);
    expect(fn.invocations).toHaveLength(15);
  });
});
