import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, FakeFunction, groupOf, mappingModel, queueArn, queueModel, sendAll, startScenario, type Scenario } from './support';

let scenario: Scenario | undefined;

afterEach(async () => {
  await scenario?.stop();
  scenario = undefined;
});

const failures = (...records: SQSRecord[]) => ({ result: { batchItemFailures: records.map((record) => ({ itemIdentifier: record.messageId })) } });
const receiveCount = (record: SQSRecord) => record.attributes.ApproximateReceiveCount;

describe('function errors', () => {
  it('deletes nothing: the batch comes back after the visibility timeout, then goes to the DLQ after maxReceiveCount', async () => {
    // Prepare
    const work = queueModel('work', { visibilityTimeoutSeconds: 1, redrive: { deadLetterArn: queueArn('work-dlq'), maxReceiveCount: 2 } });
    const deadLetters = queueModel('work-dlq');
    scenario = await startScenario({ queues: [work, deadLetters] });
    const fn = new FakeFunction(() => ({ error: { errorType: 'Error', errorMessage: 'boom' } }));
    scenario.startMappings([mappingModel(work)], fn);
    const client = scenario.client;

    // Act
    await client.send(new SendMessageCommand({ QueueUrl: work.url, MessageBody: 'poison' }));
    const deadLettered = await eventually(
      async () => (await client.send(new ReceiveMessageCommand({ QueueUrl: deadLetters.url, WaitTimeSeconds: 1 }))).Messages?.[0],
      'the message in the dead-letter queue',
    );

    // Assess
    expect(deadLettered.Body).toBe('poison');
    expect(fn.invocations.map((invocation) => invocation.records.map(receiveCount))).toEqual([['1'], ['2']]);
    expect(scenario.errors).toEqual([expect.stringContaining('Error: boom'), expect.stringContaining('Error: boom')]);
  });
});

describe('partial batch responses', () => {
  it('deletes all but the reported failures, which alone come back', async () => {
    // Prepare: three messages waiting, so the first receive brings them together
    const work = queueModel('work', { visibilityTimeoutSeconds: 1 });
    scenario = await startScenario({ queues: [work] });
    await sendAll(scenario.client, work, ['a', 'b', 'c']);
    const fn = new FakeFunction((records, invocation) => (invocation === 1 ? failures(...records.filter((record) => record.body === 'b')) : {}));

    // Act
    const mappings = scenario.startMappings([mappingModel(work, { reportBatchItemFailures: true })], fn);
    await mappings.idle();

    // Assess
    expect(fn.invocations.map((invocation) => invocation.records.map((record) => `${record.body}#${receiveCount(record)}`))).toEqual([
      ['a#1', 'b#1', 'c#1'],
      ['b#2'],
    ]);
  });

  it('retries a FIFO group from its failed record, in order, while other groups go on', async () => {
    // Prepare: a FIFO handler as AWS asks for: a failed record fails the rest of its group in the batch too
    const jobs = queueModel('jobs.fifo', { visibilityTimeoutSeconds: 1 });
    scenario = await startScenario({ queues: [jobs] });
    await sendAll(scenario.client, jobs, ['g1', 'g2', 'g3', 'h1', 'h2', 'h3']);
    let failedOnce = false;
    const fn = new FakeFunction((records) => {
      const failing = records.findIndex((record) => record.body === 'g2' && !failedOnce);
      if (failing < 0) return {};
      failedOnce = true;
      return failures(...records.slice(failing).filter((record) => groupOf(record) === 'g'));
    });

    // Act
    const mappings = scenario.startMappings([mappingModel(jobs, { reportBatchItemFailures: true })], fn);
    await mappings.idle();

    // Assess
    const deliveries = fn.invocations.flatMap((invocation) => invocation.records);
    const ofGroup = (group: string) => deliveries.filter((record) => groupOf(record) === group).map((record) => `${record.body}#${receiveCount(record)}`);
    expect(ofGroup('g')).toEqual(['g1#1', 'g2#1', 'g2#2', 'g3#1']);
    expect(ofGroup('h')).toEqual(['h1#1', 'h2#1', 'h3#1']);
    const retryAt = deliveries.findIndex((record) => record.body === 'g2' && receiveCount(record) === '2');
    expect(deliveries.findIndex((record) => record.body === 'h3')).toBeLessThan(retryAt);
  });

  it('fails the whole batch on an invalid response, such as an itemIdentifier not in the batch', async () => {
    // Prepare
    const work = queueModel('work', { visibilityTimeoutSeconds: 1 });
    scenario = await startScenario({ queues: [work] });
    await sendAll(scenario.client, work, ['a', 'b']);
    const fn = new FakeFunction((_, invocation) => (invocation === 1 ? { result: { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] } } : {}));

    // Act
    const mappings = scenario.startMappings([mappingModel(work, { reportBatchItemFailures: true })], fn);
    await mappings.idle();

    // Assess: both came back
    expect(fn.invocations[0]!.records.map((record) => record.body)).toEqual(['a', 'b']);
    expect(fn.bodies().sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(scenario.errors).toEqual([expect.stringContaining('itemIdentifier not-in-this-batch is not a message of the batch')]);
  });

  it('ignores batchItemFailures when the mapping does not report batch item failures', async () => {
    // Prepare
    const work = queueModel('work', { visibilityTimeoutSeconds: 1 });
    scenario = await startScenario({ queues: [work] });
    await sendAll(scenario.client, work, ['a', 'b']);
    const fn = new FakeFunction((records) => failures(...records));

    // Act
    const mappings = scenario.startMappings([mappingModel(work, { reportBatchItemFailures: false })], fn);
    await mappings.idle();

    // Assess
    expect(fn.invocations.map((invocation) => invocation.records.map((record) => record.body))).toEqual([['a', 'b']]);
  });
});
