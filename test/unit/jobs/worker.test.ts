import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { IdempotencyAlreadyInProgressError, IdempotencyItemNotFoundError } from '@aws-lambda-powertools/idempotency';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { useFrozenDate } from '../../support/clock';
import { lambdaContext } from '../../support/lambda-context';
import {
  groupIdOf,
  context,
  IDEMPOTENCY_TABLE,
  jobItem,
  loadJobs,
  loadWorker,
  messageOf,
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
const iso = (at: number) => new Date(at).toISOString();

/** The lane message of a job's run, as SQS delivers it: its message id (so its receipt handle) is the same on every delivery. */
const laneMessage = (job: JobItem, run = job.run) => ({
  body: { ...messageOf(job), run },
  messageId: `m-${job.jobId}-${run}`,
  groupId: job.groupKey ? groupIdOf(job.tenantId, job.groupKey) : job.jobId,
  correlationId: job.correlationId,
});

/** One delivery of the lane, one record per job, in order. */
const laneEvent = (...jobs: JobItem[]) => sqsEvent(LANE_ARN, jobs.map((job) => laneMessage(job)));

/** What SQS gives the worker to hide a message for its backoff. */
const receiptOf = (job: JobItem, run = job.run) => `receipt-m-${job.jobId}-${run}`;

/**
 * One delivery of the job's run (or of `run`) alone in a batch. A failed record fails the whole
 * batch then: it rejects with the record's own error.
 */
async function attempt(worker: Worker, job: JobItem, run = job.run): Promise<void> {
  try {
    await worker.handler(sqsEvent(LANE_ARN, [laneMessage(job, run)]), context);
  } catch (error) {
    throw error instanceof FullBatchFailureError ? error.recordErrors[0] : error;
  }
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
    // The run's idempotency lives in the job record (claim and end), not in the idempotency table.
    const idempotencyRecords = await table.client.send(new ScanCommand({ TableName: IDEMPOTENCY_TABLE }));
    expect(idempotencyRecords.Items).toEqual([]);
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
    [
      'drops the message of a run a dead job never had (a requeue whose send was reported failed yet reached SQS): no JobDead said for it',
      (job) => ({ ...job, status: 'dead', run: 2, attempts: 5, lastError: { message: 'run 1 failed', at: iso(T0 - SECOND), attempt: 5 } }),
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

  it('buries without running a job whose every attempt was claimed and none ended (its worker died each time)', async () => {
    // Prepare: the third of three attempts was claimed, and its worker died.
    const { worker, job } = await prepare({ status: 'running', attempts: 3, maxAttempts: 3, startedAt: iso(T0 - 5 * 60 * SECOND), leaseUntil: iso(T0 - SECOND) });
    const runs = vi.spyOn(worker.types.testEcho, 'run');

    // Act
    await attempt(worker, job);

    // Assess
    expect(runs).not.toHaveBeenCalled();
    expect(await storedJob(table, job)).toMatchObject({ status: 'dead', attempts: 4, lastError: { message: 'no attempt of 3 ended: the worker died during each' } });
    expect(sqs.sent().map((message) => message.queueUrl)).toEqual([QUEUES.deadLetters.normal]);
    expect(bus.events().map((event) => event.detailType)).toEqual(['JobDead']);
  });

  it('leaves alone a running job whose lease still holds, failing its record so SQS brings it back after the visibility timeout', async () => {
    // Prepare
    const { worker, job } = await prepare({ status: 'running', attempts: 1, startedAt: iso(T0 - 10 * SECOND), leaseUntil: iso(T0 + 60 * SECOND) });
    const runs = vi.spyOn(worker.types.testEcho, 'run');

    // Act
    const outcome = attempt(worker, job);

    // Assess: in progress elsewhere; the message is not made visible early (no visibility change).
    await expect(outcome).rejects.toThrow(IdempotencyAlreadyInProgressError);
    expect(runs).not.toHaveBeenCalled();
    expect(await storedJob(table, job)).toEqual(job);
    expect(bus.events()).toEqual([]);
    expect(visibilityChanges()).toEqual([]);
  });
});

describe('work-job handler: claims', () => {
  it('does not claim a run it has no time left to finish: no attempt charged, its message visible again at once', async () => {
    // Prepare: 30 s left, less than the longest attempt (60 s) and the claim margin.
    const { worker, job } = await prepare();
    const runs = vi.spyOn(worker.types.testEcho, 'run');

    // Act
    const outcome = worker.handler(laneEvent(job), lambdaContext('switchyard-jobs', 30_000));

    // Assess
    await expect(outcome).rejects.toThrow(FullBatchFailureError);
    expect(runs).not.toHaveBeenCalled();
    expect(await storedJob(table, job)).toEqual(job);
    expect(visibilityChanges()).toEqual([{ QueueUrl: QUEUES.lane.normal, ReceiptHandle: receiptOf(job), VisibilityTimeout: 0 }]);
  });

  it('knows its own claim when the write committed but its answer was lost and the SDK sent it again', async () => {
    // Prepare: the first claim write reaches the table twice (a retry after a lost answer); the second fails its condition.
    const jobs = await loadJobs(table);
    const worker = await loadWorker();
    const job = jobItem();
    await putJobs(table, job);
    const send = jobs.documentClient.send.bind(jobs.documentClient) as (command: unknown) => Promise<unknown>;
    let replayed = false;
    vi.spyOn(jobs.documentClient, 'send').mockImplementation((async (command: unknown) => {
      if (!replayed && command instanceof UpdateCommand && command.input.UpdateExpression?.includes('ADD')) {
        replayed = true;
        await send(command);
      }
      return send(command);
    }) as never);

    // Act
    const response = await worker.handler(laneEvent(job), context);

    // Assess: run once, as attempt 1, not taken for another worker's.
    expect(replayed).toBe(true);
    expect(response.batchItemFailures).toEqual([]);
    expect(await storedJob(table, job)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('refuses to start with Powertools idempotency switched off, since its claims are the idempotency records', async () => {
    // Prepare
    await loadJobs(table, { POWERTOOLS_IDEMPOTENCY_DISABLED: 'true' });

    // Act
    const loading = loadWorker();

    // Assess
    await expect(loading).rejects.toThrow('the job worker needs Powertools idempotency');
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

describe('JobRunStore: the job record as the idempotency record of its run', () => {
  /** The store as Powertools configures it for the worker, and the Powertools-side key of a job's run. */
  async function store() {
    await loadJobs(table);
    const { JobRunStore, runKey } = await import('../../../functions/jobs/run-store');
    const { IdempotencyConfig } = await import('@aws-lambda-powertools/idempotency');
    const runs = new JobRunStore();
    runs.configure({ config: new IdempotencyConfig({ eventKeyJmesPath: 'idempotencyKey', throwOnNoIdempotencyKey: true }), keyPrefix: 'consumer.jobs.work' });
    return { runs, keyOf: (job: JobItem, run = job.run) => ({ idempotencyKey: runKey({ ...messageOf(job), run }) }) };
  }

  it.each<[state: string, overrides: JobItemOverrides, run: number, expected: { status: string; inProgressUntil?: number } | 'none']>([
    ['a queued run has none (it is claimable)', { status: 'queued' }, 1, 'none'],
    ['a retrying run has none (its next attempt claims it)', { status: 'retrying', attempts: 1 }, 1, 'none'],
    ['a running run is in progress until its lease ends', { status: 'running', attempts: 1, leaseUntil: iso(T0 + 90 * SECOND) }, 1, { status: 'INPROGRESS', inProgressUntil: T0 + 90 * SECOND }],
    ['a succeeded run is completed', { status: 'succeeded', attempts: 1 }, 1, { status: 'COMPLETED' }],
    ['a dead run is completed', { status: 'dead', attempts: 5 }, 1, { status: 'COMPLETED' }],
    ['a cancelled run is completed', { status: 'cancelled' }, 1, { status: 'COMPLETED' }],
    ['an earlier run of a job retried since is completed', { status: 'queued', run: 2 }, 1, { status: 'COMPLETED' }],
  ])('reads the record of a run: %s', async (_, overrides, run, expected) => {
    // Prepare
    const { runs, keyOf } = await store();
    const job = jobItem(overrides);
    await putJobs(table, job);

    // Act
    const read = runs.getRecord(keyOf(job, run));

    // Assess
    if (expected === 'none') {
      await expect(read).rejects.toThrow(IdempotencyItemNotFoundError);
      return;
    }
    const record = await read;
    expect(record.getStatus()).toBe(expected.status);
    expect(record.inProgressExpiryTimestamp).toBe(expected.inProgressUntil);
    expect(record.idempotencyKey).toBe(`consumer.jobs.work#${job.tenantId}#${job.jobId}#${run}`);
  });

  it('claims a run once: the first save in progress takes it (running, one attempt, a lease), the second finds it in progress', async () => {
    // Prepare
    const { runs, keyOf } = await store();
    const job = jobItem();
    await putJobs(table, job);

    // Act
    await runs.saveInProgress(keyOf(job));
    const again = runs.saveInProgress(keyOf(job));

    // Assess: the lease is the stage's longest attempt (60 s by default) and 30 s more.
    await expect(again).rejects.toMatchObject({ name: 'IdempotencyItemAlreadyExistsError', existingRecord: { status: 'INPROGRESS', inProgressExpiryTimestamp: T0 + 90 * SECOND } });
    expect(await storedJob(table, job)).toMatchObject({ status: 'running', attempts: 1, startedAt: iso(T0), leaseUntil: iso(T0 + 90 * SECOND) });
    expect(runs.take(messageOf(job))).toEqual(expect.objectContaining({ status: 'running' }));
    expect(runs.take(messageOf(job))).toBeUndefined();
  });

  it('refuses a key that is not a job run, naming it', async () => {
    // Prepare
    const { runs } = await store();

    // Act
    const read = runs.getRecord({ idempotencyKey: 'tenant-1#not-a-job#1' });

    // Assess
    await expect(read).rejects.toThrow('JobRunStore: not a job run key: "tenant-1#not-a-job#1"');
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

  it('never puts a retry off longer than 11 h 45 min (42300 s: SQS hides a message at most 12 h from its receipt, and the attempt took up to 15 min of that), nor sooner than 1 s', async () => {
    // Prepare
    await loadJobs(table);
    const { backoffSeconds } = await loadWorker();

    // Act
    const capped = [lowest, highest].map((random) => backoffSeconds({ kind: 'exponential', baseSeconds: 3600 }, 20, random));
    const shortest = backoffSeconds({ kind: 'exponential', baseSeconds: 1 }, 1, lowest);

    // Assess
    expect(capped).toEqual([42300, 42300]);
    expect(shortest).toBe(1);
  });
});
