import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it, vi } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import {
  context,
  jobItem,
  loadJobs,
  loadWorker,
  messageOf,
  metadataOf,
  newTenant,
  putJobs,
  QUEUES,
  queueArnOf,
  sqsEvent,
  storedJob,
  T0,
  useEvents,
  useJobsTable,
  useS3,
  useSqs,
  type JobItemOverrides,
  type Worker,
} from './harness';
import type { JobItem } from '../../../functions/jobs/store';

const table = useJobsTable();
const sqs = useSqs();
const bus = useEvents();
const s3 = useS3();

useFrozenDate(T0);

const LANE_ARN = queueArnOf(QUEUES.lane.normal);
const SECOND = 1_000;
const logger = new Logger({ logLevel: 'SILENT' });
const iso = (at: number) => new Date(at).toISOString();

/** The lane message of a job's run, as SQS delivers it: its message id (so its receipt handle) is the same on every delivery. */
const laneMessage = (job: JobItem, run = job.run) => ({
  body: { ...messageOf(job), run },
  messageId: `m-${job.jobId}-${run}`,
  groupId: job.groupKey ? `${job.tenantId}#${job.groupKey}` : job.jobId,
  correlationId: job.correlationId,
});

/** One delivery of the lane, one record per job, in order. */
const laneEvent = (...jobs: JobItem[]) => sqsEvent(LANE_ARN, jobs.map((job) => laneMessage(job)));

/** What SQS gives the worker to hide a message for its backoff. */
const receiptOf = (job: JobItem, run = job.run) => `receipt-m-${job.jobId}-${run}`;

/** One attempt through `workJob`, with the metadata of a lane record of the job's run (or of `run`). */
async function attempt(worker: Worker, job: JobItem, run = job.run): Promise<void> {
  const record = sqsEvent(LANE_ARN, [laneMessage(job, run)]).Records[0]!;
  await worker.workJob({ ...messageOf(job), run }, metadataOf(record), logger);
}

/** The visibility changes the worker asked for. */
const visibilityChanges = () => sqs.mock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input);

/** A stored job of a new tenant, loaded with the worker. */
async function prepare(overrides: JobItemOverrides = {}, env: Record<string, string | undefined> = {}) {
  await loadJobs(table, env);
  const worker = await loadWorker();
  const job = jobItem(overrides);
  await putJobs(table, job);
  return { worker, job };
}

describe('workJob: a job that succeeds', () => {
  it('runs a queued test.echo job from its lane, stores the result inline and says JobSucceeded', async () => {
    // Prepare
    const { worker, job } = await prepare({ payload: { value: { greeting: 'hello' } } });

    // Act
    const response = await worker.handler(laneEvent(job), context);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const stored = await storedJob(table, job);
    expect(stored).toMatchObject({
      status: 'succeeded',
      gsi2pk: `T#${job.tenantId}#succeeded`,
      attempts: 1,
      progress: 100,
      result: { echoed: { greeting: 'hello' } },
      resultKey: null,
      startedAt: iso(T0),
      finishedAt: iso(T0),
      lastError: null,
    });
    expect(stored).not.toHaveProperty('leaseUntil');
    expect(bus.events()).toEqual([
      {
        busName: 'switchyard-test',
        source: 'switchyard.jobs',
        detailType: 'JobSucceeded',
        detail: {
          metadata: { correlationId: job.correlationId, tenantId: job.tenantId, eventId: `${job.jobId}-1-JobSucceeded`, occurredAt: iso(T0) },
          data: { jobId: job.jobId, type: 'test.echo', run: 1, attempts: 1, resultInS3: false },
        },
      },
    ]);
    expect(s3.puts()).toEqual([]);
    expect(sqs.sent()).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
  });

  it('writes a result over 32 KB to S3 under results/<tenant>/<job>/<run>.json and keeps only its key', async () => {
    // Prepare
    const value = 'x'.repeat(40 * 1024);
    const { worker, job } = await prepare({ payload: { value } });

    // Act
    await attempt(worker, job);

    // Assess
    const key = `results/${job.tenantId}/${job.jobId}/1.json`;
    expect(s3.puts()).toEqual([{ bucket: 'jobs-results', key, contentType: 'application/json', body: JSON.stringify({ echoed: value }) }]);
    expect(await storedJob(table, job)).toMatchObject({ status: 'succeeded', resultKey: key, result: null });
    expect(bus.events('JobSucceeded').map((event) => event.detail.data['resultInS3'])).toEqual([true]);
  });

  it('succeeds on the second delivery a test.fail job that succeeds on attempt 2', async () => {
    // Prepare
    const { worker, job } = await prepare({ type: 'test.fail', payload: { succeedOnAttempt: 2 } });

    // Act
    const first = attempt(worker, job);
    await expect(first).rejects.toThrow('attempt 1 failed (test.fail: failing on purpose on attempt 1)');
    vi.setSystemTime(T0 + 10 * SECOND);
    await attempt(worker, job);

    // Assess
    expect(await storedJob(table, job)).toMatchObject({ status: 'succeeded', attempts: 2, result: { succeededOnAttempt: 2 }, nextAttemptAt: null, finishedAt: iso(T0 + 10 * SECOND) });
    expect(bus.events().map((event) => event.detailType)).toEqual(['JobSucceeded']);
  });
});

describe('workJob: failures, retries and dead jobs', () => {
  it('retries test.fail with backoff twice, handing the message back to SQS, and buries it on attempt 3 of 3', async () => {
    // Prepare
    const { worker, job } = await prepare({ type: 'test.fail', maxAttempts: 3 });
    const messageId = laneMessage(job).messageId;

    // Act: three deliveries of the same message, ten seconds apart, each in a batch with a job of
    // another group that succeeds (a batch whose every record fails is thrown, not reported).
    const responses = [];
    const records: (JobItem | undefined)[] = [];
    for (const at of [0, 10, 20]) {
      vi.setSystemTime(T0 + at * SECOND);
      const companion = jobItem();
      await putJobs(table, companion);
      responses.push(await worker.handler(laneEvent(job, companion), context));
      records.push(await storedJob(table, job));
    }

    // Assess: attempts 1 and 2 hide the message for their backoff (1-2 s, then 2-4 s) and fail the record.
    expect(responses.map((response) => response.batchItemFailures)).toEqual([[{ itemIdentifier: messageId }], [{ itemIdentifier: messageId }], []]);
    const changes = visibilityChanges();
    expect(changes.map((change) => [change.QueueUrl, change.ReceiptHandle])).toEqual([
      [QUEUES.lane.normal, receiptOf(job)],
      [QUEUES.lane.normal, receiptOf(job)],
    ]);
    const delays = changes.map((change) => change.VisibilityTimeout ?? NaN);
    expect(delays[0]).toBeGreaterThanOrEqual(1);
    expect(delays[0]).toBeLessThanOrEqual(2);
    expect(delays[1]).toBeGreaterThanOrEqual(2);
    expect(delays[1]).toBeLessThanOrEqual(4);
    for (const [i, at] of [0, 10].entries()) {
      expect(records[i]).toMatchObject({
        status: 'retrying',
        attempts: i + 1,
        lastError: { message: `test.fail: failing on purpose on attempt ${i + 1}`, at: iso(T0 + at * SECOND), attempt: i + 1 },
        nextAttemptAt: iso(T0 + at * SECOND + delays[i]! * SECOND),
      });
      expect(records[i]).not.toHaveProperty('leaseUntil');
    }
    // Attempt 3 is the last: dead, its message in the lane's dead-letter queue, no visibility change, the record done.
    expect(records[2]).toMatchObject({
      status: 'dead',
      gsi2pk: `T#${job.tenantId}#dead`,
      attempts: 3,
      finishedAt: iso(T0 + 20 * SECOND),
      lastError: { message: 'test.fail: failing on purpose on attempt 3 (attempt 3 of 3)', attempt: 3 },
    });
    expect(sqs.sent()).toEqual([
      { queueUrl: QUEUES.deadLetters.normal, body: messageOf(job), groupId: job.jobId, deduplicationId: `${job.jobId}-1-dead`, correlationId: job.correlationId },
    ]);
    expect(bus.events('JobDead')).toEqual([
      expect.objectContaining({
        detailType: 'JobDead',
        detail: expect.objectContaining({ data: { jobId: job.jobId, type: 'test.fail', run: 1, attempts: 3, reason: 'test.fail: failing on purpose on attempt 3 (attempt 3 of 3)' } }),
      }),
    ]);
  });

  it('buries a test.fail job with permanent: true on attempt 1', async () => {
    // Prepare
    const { worker, job } = await prepare({ type: 'test.fail', payload: { permanent: true }, maxAttempts: 5 });

    // Act
    await attempt(worker, job);

    // Assess
    expect(await storedJob(table, job)).toMatchObject({ status: 'dead', attempts: 1, lastError: { message: 'test.fail: failing for good on attempt 1', attempt: 1 } });
    expect(sqs.sent().map((message) => [message.queueUrl, message.body])).toEqual([[QUEUES.deadLetters.normal, messageOf(job)]]);
    expect(bus.events().map((event) => event.detailType)).toEqual(['JobDead']);
    expect(visibilityChanges()).toEqual([]);
  });

  it.each([
    { case: 'an unknown type', job: { type: 'test.nope', payload: {} }, reason: 'unknown job type test.nope' },
    { case: 'a payload its type refuses', job: { type: 'test.sleep', payload: { ms: -1 } }, reason: expect.stringMatching(/^payload refused by test\.sleep: ms: /) },
  ])('buries a job of $case at once, without running it', async ({ job: overrides, reason }) => {
    // Prepare
    const { worker, job } = await prepare(overrides);
    const runs = vi.spyOn(worker.types.testSleep, 'run');

    // Act
    await attempt(worker, job);

    // Assess
    expect(runs).not.toHaveBeenCalled();
    expect(await storedJob(table, job)).toMatchObject({ status: 'dead', attempts: 1, result: null, lastError: { message: reason, attempt: 1 } });
    expect(sqs.sent().map((message) => message.queueUrl)).toEqual([QUEUES.deadLetters.normal]);
    expect(bus.events()).toEqual([expect.objectContaining({ detailType: 'JobDead', detail: expect.objectContaining({ data: expect.objectContaining({ reason }) }) })]);
    expect(visibilityChanges()).toEqual([]);
  });

  it('fails the attempt of a test.sleep job that outlasts its timeout', async () => {
    // Prepare
    const { worker, job } = await prepare({ type: 'test.sleep', payload: { ms: 3000 }, timeoutSeconds: 1 });
    const started = performance.now();

    // Act
    const outcome = attempt(worker, job);

    // Assess
    await expect(outcome).rejects.toThrow('attempt 1 failed (timed out after 1 s)');
    expect(performance.now() - started).toBeLessThan(2_500);
    expect(await storedJob(table, job)).toMatchObject({ status: 'retrying', attempts: 1, lastError: { message: 'timed out after 1 s', attempt: 1 } });
    expect(visibilityChanges()).toHaveLength(1);
  });
});

describe('workJob: messages it drops', () => {
  it.each<[title: string, stored: (job: JobItem) => JobItem, announced: (job: JobItem) => string[]]>([
    ['drops the message of a cancelled job: no run, no event, the record not failed', (job) => ({ ...job, status: 'cancelled' }), () => []],
    [
      'drops the message of a job whose run has moved on (a message of an older run): no run, no event, the record not failed',
      (job) => ({ ...job, run: 2 }),
      () => [],
    ],
    // Consumers drop the repeat by its event id.
    [
      'runs a job already succeeded (a duplicate delivery) no more, and announces its end again under the same event id',
      (job) => ({ ...job, status: 'succeeded', attempts: 1, result: { echoed: null } }),
      (job) => [`${job.jobId}-1-JobSucceeded`],
    ],
  ])('%s', async (_, stored, announced) => {
    // Prepare
    await loadJobs(table);
    const worker = await loadWorker();
    const job = jobItem();
    const before = stored(job);
    await putJobs(table, before);
    const runs = vi.spyOn(worker.types.testEcho, 'run');

    // Act: the message of run 1
    const response = await worker.handler(laneEvent(job), context);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(runs).not.toHaveBeenCalled();
    expect(await storedJob(table, job)).toEqual(before);
    expect(bus.events().map((event) => event.detail.metadata['eventId'])).toEqual(announced(job));
    expect(sqs.sent()).toEqual([]);
  });

  it('takes over a running job whose lease ran out (its worker died), counting another attempt', async () => {
    // Prepare
    const { worker, job } = await prepare({ status: 'running', attempts: 1, startedAt: iso(T0 - 5 * 60 * SECOND), leaseUntil: iso(T0 - SECOND) });

    // Act
    await attempt(worker, job);

    // Assess
    const stored = await storedJob(table, job);
    expect(stored).toMatchObject({ status: 'succeeded', attempts: 2, startedAt: iso(T0) });
    expect(stored).not.toHaveProperty('leaseUntil');
  });

  it('leaves alone a running job whose lease still holds', async () => {
    // Prepare
    const { worker, job } = await prepare({ status: 'running', attempts: 1, startedAt: iso(T0 - 10 * SECOND), leaseUntil: iso(T0 + 60 * SECOND) });
    const runs = vi.spyOn(worker.types.testEcho, 'run');

    // Act
    await attempt(worker, job);

    // Assess
    expect(runs).not.toHaveBeenCalled();
    expect(await storedJob(table, job)).toEqual(job);
    expect(bus.events()).toEqual([]);
  });
});

describe('work-job handler: FIFO batches', () => {
  it('skips the rest of a group after a failure in the batch, makes it visible again when the backoff ends, and runs the other groups', async () => {
    // Prepare: two jobs of one group (the first fails), one job of another tenant.
    await loadJobs(table);
    const worker = await loadWorker();
    const tenantId = newTenant();
    const failing = jobItem({ tenantId, type: 'test.fail', groupKey: 'orders' });
    const behind = jobItem({ tenantId, groupKey: 'orders' });
    const other = jobItem();
    await putJobs(table, failing, behind, other);
    const runs = vi.spyOn(worker.types.testEcho, 'run');
    const event = laneEvent(failing, behind, other);

    // Act
    const response = await worker.handler(event, context);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }, { itemIdentifier: event.Records[1]!.messageId }]);
    expect((await storedJob(table, failing))?.status).toBe('retrying');
    expect(await storedJob(table, behind)).toEqual(behind);
    expect((await storedJob(table, other))?.status).toBe('succeeded');
    expect(runs).toHaveBeenCalledTimes(1);
    expect(runs.mock.calls[0]?.[1]).toMatchObject({ jobId: other.jobId });
    // Not the lane's whole visibility timeout: the job behind waits exactly as long as the one ahead.
    const [ahead, skipped] = visibilityChanges();
    expect(visibilityChanges()).toHaveLength(2);
    expect(ahead).toMatchObject({ ReceiptHandle: event.Records[0]!.receiptHandle });
    expect(skipped).toEqual({ QueueUrl: ahead!.QueueUrl, ReceiptHandle: event.Records[1]!.receiptHandle, VisibilityTimeout: ahead!.VisibilityTimeout });
  });
});

describe('work-job handler: what a job run tells the world after it ended', () => {
  // The worker writes the job's outcome first and tells the world after; when the telling fails,
  // the record fails, and the redelivery of an ended run's message tells it again.
  it('does not lose JobSucceeded when PutEvents fails once: the record fails, and its redelivery says it', async () => {
    // Prepare
    const { worker, job } = await prepare();
    bus.failNextPuts(1);

    // Act
    const first = worker.handler(laneEvent(job), context);
    const firstFailed = await first.then(
      () => false,
      (error: unknown) => error instanceof FullBatchFailureError,
    );
    const redelivery = await worker.handler(laneEvent(job), context);

    // Assess
    expect((await storedJob(table, job))?.status).toBe('succeeded');
    expect(firstFailed, 'the record whose event was not published is reported failed').toBe(true);
    expect(redelivery.batchItemFailures).toEqual([]);
    // The failed put and the redelivery's: one event, by its id, for consumers.
    const puts = bus.events('JobSucceeded');
    expect(puts).toHaveLength(2);
    expect(new Set(puts.map((event) => event.detail.metadata['eventId']))).toEqual(new Set([`${job.jobId}-1-JobSucceeded`]));
  });

  it("puts a dead job's message in the dead-letter queue on the redelivery when that send failed", async () => {
    // Prepare
    const { worker, job } = await prepare({ type: 'test.fail', maxAttempts: 1 });
    sqs.failNextSends(1, QUEUES.deadLetters.normal);

    // Act
    const first = worker.handler(laneEvent(job), context);
    await expect(first).rejects.toThrow(FullBatchFailureError);
    const redelivery = await worker.handler(laneEvent(job), context);

    // Assess
    expect(redelivery.batchItemFailures).toEqual([]);
    expect((await storedJob(table, job))?.status).toBe('dead');
    expect(sqs.sent(QUEUES.deadLetters.normal).map((message) => message.body)).toEqual([messageOf(job)]);
    expect(bus.events('JobDead')).toHaveLength(1);
  });
});

describe('backoffSeconds', () => {
  const highest = () => 1 - Number.EPSILON;
  const lowest = () => 0;

  it('doubles an exponential backoff per attempt, drawing from the upper half of the planned delay', async () => {
    // Prepare
    await loadJobs(table);
    const { backoffSeconds } = await loadWorker();
    const backoff = { kind: 'exponential', baseSeconds: 10 } as const;

    // Act
    const low = [1, 2, 3, 4, 5].map((n) => backoffSeconds(backoff, n, lowest));
    const high = [1, 2, 3, 4, 5].map((n) => backoffSeconds(backoff, n, highest));
    const middle = backoffSeconds(backoff, 5, () => 0.5);

    // Assess: planned 10, 20, 40, 80, 160 s.
    expect(low).toEqual([5, 10, 20, 40, 80]);
    expect(high).toEqual([10, 20, 40, 80, 160]);
    expect(middle).toBe(120);
  });

  it('varies a fixed backoff by at most 20 %', async () => {
    // Prepare
    await loadJobs(table);
    const { backoffSeconds } = await loadWorker();
    const backoff = { kind: 'fixed', baseSeconds: 100 } as const;

    // Act
    const delays = [1, 4, 9].flatMap((n) => [lowest, () => 0.5, highest].map((random) => backoffSeconds(backoff, n, random)));
    const drawn = Array.from({ length: 200 }, () => backoffSeconds(backoff, 3));

    // Assess
    expect(delays).toEqual([80, 100, 120, 80, 100, 120, 80, 100, 120]);
    expect(Math.min(...drawn)).toBeGreaterThanOrEqual(80);
    expect(Math.max(...drawn)).toBeLessThanOrEqual(120);
  });

  it('never puts a retry off longer than 12 hours (43200 s), nor sooner than 1 s', async () => {
    // Prepare
    await loadJobs(table);
    const { backoffSeconds } = await loadWorker();

    // Act
    const capped = [lowest, highest].map((random) => backoffSeconds({ kind: 'exponential', baseSeconds: 3600 }, 20, random));
    const shortest = backoffSeconds({ kind: 'exponential', baseSeconds: 1 }, 1, lowest);

    // Assess
    expect(capped).toEqual([43200, 43200]);
    expect(shortest).toBe(1);
  });
});
