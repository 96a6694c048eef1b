import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../support/lambda-context';
import { useFrozenDate } from '../../support/clock';
import {
  groupIdOf,
  context,
  deliveryOf,
  dueJobIds,
  emptyDueIndex,
  jobItem,
  loadJobs,
  messageOf,
  newJobId,
  newTenant,
  putJobs,
  QUEUES,
  queueArnOf,
  scheduledEvent,
  scheduledJob,
  sqsEvent,
  storedJob,
  T0,
  useJobsTable,
  useSqs,
} from './harness';
import type { JobItem } from '../../../functions/jobs/store';

const table = useJobsTable();
const sqs = useSqs();

useFrozenDate(T0);

const MINUTE = 60_000;
const TIMER_ARN = queueArnOf(QUEUES.timer);

/** The timer message of a job, delivered to the release handler as its queue would. */
const timerEvent = (job: JobItem, messageId?: string) => sqsEvent(TIMER_ARN, [{ body: messageOf(job), correlationId: job.correlationId, ...(messageId ? { messageId } : {}) }]);

/** Job id → delay of every timer message sent. */
const timers = () => Object.fromEntries(sqs.sent(QUEUES.timer).map((message) => [String(message.body['jobId']), message.delaySeconds]));

describe('release-job handler (timer queue)', () => {
  it.each([
    { groupKey: 'orders', group: (job: JobItem) => groupIdOf(job.tenantId, 'orders') },
    { groupKey: null, group: (job: JobItem) => job.jobId },
  ])('sends a due scheduled job to its lane (group key $groupKey), then marks it queued', async ({ groupKey, group }) => {
    // Prepare
    const jobs = await loadJobs(table);
    const job = scheduledJob(0, { priority: 'high', groupKey });
    await putJobs(table, job);

    // Act
    const response = await jobs.release(timerEvent(job), context);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sqs.sent()).toEqual([
      { queueUrl: QUEUES.lane.high, body: messageOf(job), groupId: group(job), deduplicationId: `${job.jobId}-1`, correlationId: job.correlationId },
    ]);
    expect(await storedJob(table, job)).toMatchObject({ status: 'queued', gsi2pk: `T#${job.tenantId}#queued`, run: 1 });
  });

  it('releases a job whose timer comes a little early (within a second of runAt)', async () => {
    // Prepare
    const jobs = await loadJobs(table);
    const job = scheduledJob(800);
    await putJobs(table, job);

    // Act
    await jobs.release(timerEvent(job), context);

    // Assess
    expect(sqs.sent().map((message) => message.queueUrl)).toEqual([QUEUES.lane.normal]);
    expect((await storedJob(table, job))?.status).toBe('queued');
  });

  it.each([
    { case: 'a cancelled job', stored: (job: JobItem) => ({ ...job, status: 'cancelled' as const }) },
    { case: 'a job of another run', stored: (job: JobItem) => ({ ...job, run: 2 }) },
    { case: 'a queued job', stored: (job: JobItem) => ({ ...job, status: 'queued' as const }) },
  ])('does nothing for $case', async ({ stored }) => {
    // Prepare
    const jobs = await loadJobs(table);
    const job = scheduledJob(-MINUTE);
    const before = stored(job);
    await putJobs(table, before);

    // Act
    const response = await jobs.release(timerEvent(job), context);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sqs.sent()).toEqual([]);
    expect(await storedJob(table, job)).toEqual(before);
  });

  it('does nothing for a job that is gone', async () => {
    // Prepare
    const jobs = await loadJobs(table);
    const job = scheduledJob(0);

    // Act
    const response = await jobs.release(timerEvent(job), context);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sqs.sent()).toEqual([]);
    expect(await storedJob(table, job)).toBeUndefined();
  });

  it('starts a new timer for the rest when the job is still 10 minutes ahead, and leaves it scheduled', async () => {
    // Prepare
    const jobs = await loadJobs(table);
    const job = scheduledJob(10 * MINUTE);
    await putJobs(table, job);

    // Act
    await jobs.release(timerEvent(job), context);

    // Assess
    expect(sqs.sent()).toEqual([{ queueUrl: QUEUES.timer, body: messageOf(job), delaySeconds: 600, correlationId: job.correlationId }]);
    expect(await storedJob(table, job)).toEqual(job);
  });

  it('starts a timer of 900 s, the most SQS allows, for a job 40 minutes ahead', async () => {
    // Prepare
    const jobs = await loadJobs(table);
    const job = scheduledJob(40 * MINUTE, { awaitsSweep: false });
    await putJobs(table, job);

    // Act
    await jobs.release(timerEvent(job), context);

    // Assess
    expect(timers()).toEqual({ [job.jobId]: 900 });
    expect((await storedJob(table, job))?.status).toBe('scheduled');
  });

  it('releases a far job through a chain of timers of one run, each a new message', async () => {
    // Prepare: a job 40 minutes ahead, whose timers each hold it at most 15 minutes.
    const jobs = await loadJobs(table);
    const job = scheduledJob(40 * MINUTE, { awaitsSweep: false });
    await putJobs(table, job);

    // Act
    await jobs.release(timerEvent(job), context);
    for (const at of [15, 30, 40]) {
      const [timer] = sqs.sent(QUEUES.timer);
      sqs.clear();
      vi.setSystemTime(T0 + at * MINUTE);
      await jobs.release(deliveryOf([timer!]), context);
    }

    // Assess: the timers of minutes 15 and 30 held it 900 s and 600 s more; minute 40 released it.
    expect(sqs.sent()).toEqual([expect.objectContaining({ queueUrl: QUEUES.lane.normal, body: messageOf(job) })]);
    expect((await storedJob(table, job))?.status).toBe('queued');
  });

  it('sends nothing more for a second timer, or the same one again, after the release', async () => {
    // Prepare
    const jobs = await loadJobs(table);
    const job = scheduledJob(0);
    await putJobs(table, job);
    const first = timerEvent(job);
    await jobs.release(first, context);
    sqs.clear();

    // Act
    const again = await jobs.release(first, context);
    const second = await jobs.release(timerEvent(job), context);

    // Assess
    expect([again.batchItemFailures, second.batchItemFailures]).toEqual([[], []]);
    expect(sqs.sent()).toEqual([]);
    expect((await storedJob(table, job))?.status).toBe('queued');
  });

  it('sends the job again under the same deduplication id when it could not be marked queued, and marks it on redelivery', async () => {
    // Prepare: the write after the lane send fails once (a crash between the two writes).
    const jobs = await loadJobs(table);
    const job = scheduledJob(0);
    await putJobs(table, job);
    const send = jobs.documentClient.send.bind(jobs.documentClient);
    let failed = false;
    vi.spyOn(jobs.documentClient, 'send').mockImplementation(((command: unknown) => {
      if (!failed && command instanceof UpdateCommand) {
        failed = true;
        return Promise.reject(Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ThrottlingException' }));
      }
      return send(command as Parameters<typeof send>[0]);
    }) as typeof jobs.documentClient.send);
    const event = timerEvent(job);

    // Act
    const first = jobs.release(event, context);
    await expect(first).rejects.toThrow(FullBatchFailureError);
    const stranded = (await storedJob(table, job))?.status;
    const redelivered = await jobs.release(event, context);

    // Assess: the worker would claim the job still scheduled; the lane drops the second send.
    expect(stranded).toBe('scheduled');
    expect(redelivered.batchItemFailures).toEqual([]);
    expect(sqs.sent().map((message) => [message.queueUrl, message.deduplicationId])).toEqual([
      [QUEUES.lane.normal, `${job.jobId}-1`],
      [QUEUES.lane.normal, `${job.jobId}-1`],
    ]);
    expect((await storedJob(table, job))?.status).toBe('queued');
  });

  it('fails a message that is not a job message, so it reaches the dead-letter queue, and releases the rest of the batch', async () => {
    // Prepare
    const jobs = await loadJobs(table);
    const job = scheduledJob(0);
    await putJobs(table, job);
    const event = sqsEvent(TIMER_ARN, [{ body: { jobId: 'not-a-job' } }, { body: messageOf(job) }]);

    // Act
    const response = await jobs.release(event, context);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }]);
    expect(sqs.sent().map((message) => message.body)).toEqual([messageOf(job)]);
  });
});

describe('sweep-due-jobs handler (schedule rule)', () => {
  beforeEach(async () => {
    await emptyDueIndex(table);
  });

  /** In each shard: a job overdue, one due in 5 minutes, one at the horizon (14), one beyond it (20). */
  async function dueJobsInEveryShard(tenantId: string) {
    const jobs = { due: new Map<string, number>(), later: [] as string[] };
    for (let shard = 0; shard < 4; shard++) {
      for (const [minutes, delay] of [
        [-3, 0],
        [5, 300],
        [14, 840],
      ] as const) {
        const job = scheduledJob(minutes * MINUTE, { tenantId, jobId: newJobId(shard), awaitsSweep: true });
        await putJobs(table, job);
        jobs.due.set(job.jobId, delay);
      }
      const later = scheduledJob(20 * MINUTE, { tenantId, jobId: newJobId(shard) });
      await putJobs(table, later);
      jobs.later.push(later.jobId);
    }
    return jobs;
  }

  it('moves the jobs due within 14 minutes of every shard to the timer queue with their delay, and out of the due index', async () => {
    // Prepare
    const jobs = await loadJobs(table);
    const tenantId = newTenant();
    const { due, later } = await dueJobsInEveryShard(tenantId);
    const addMetric = vi.spyOn(jobs.metrics, 'addMetric');

    // Act
    const outcome = await jobs.sweep(scheduledEvent(), context);

    // Assess
    expect(outcome).toEqual({ moved: 12, stale: 0, failed: 0, complete: true });
    expect(timers()).toEqual(Object.fromEntries(due));
    expect(sqs.sent(QUEUES.timer).every((message) => message.body['tenantId'] === tenantId)).toBe(true);
    expect(await dueJobIds(table, [tenantId])).toEqual([...later].sort());
    const statuses = await Promise.all([...due.keys()].map(async (jobId) => (await storedJob(table, { tenantId, jobId }))?.status));
    expect(new Set(statuses)).toEqual(new Set(['scheduled']));
    expect(addMetric).toHaveBeenCalledWith('JobsReleasedFromDue', 'Count', 12);
  });

  it('sends nothing more on a second sweep', async () => {
    // Prepare
    const jobs = await loadJobs(table);
    const tenantId = newTenant();
    await dueJobsInEveryShard(tenantId);
    await jobs.sweep(scheduledEvent(), context);
    sqs.clear();

    // Act
    const outcome = await jobs.sweep(scheduledEvent(), context);

    // Assess
    expect(outcome.moved).toBe(0);
    expect(sqs.sent()).toEqual([]);
  });

  it('sends no timer for a cancelled job still in the due index, and takes it out', async () => {
    // Prepare
    const jobs = await loadJobs(table);
    const job = jobItem({ status: 'cancelled', runAt: new Date(T0 + 5 * MINUTE).toISOString(), awaitsSweep: true });
    await putJobs(table, job);

    // Act
    const outcome = await jobs.sweep(scheduledEvent(), context);

    // Assess
    expect(outcome).toMatchObject({ moved: 0, stale: 1 });
    expect(sqs.sent()).toEqual([]);
    expect(await dueJobIds(table, [job.tenantId])).toEqual([]);
    expect((await storedJob(table, job))?.status).toBe('cancelled');
  });

  it('hands a swept job to the release, which queues it when its timer comes', async () => {
    // Prepare: submitted 20 minutes ahead, so it waits in the due index.
    const jobs = await loadJobs(table);
    const job = scheduledJob(20 * MINUTE);
    await putJobs(table, job);

    // Act: the sweep of minute 6 starts its timer; the timer comes at minute 20.
    vi.setSystemTime(T0 + 6 * MINUTE);
    await jobs.sweep(scheduledEvent(), context);
    const timer = sqs.sent(QUEUES.timer);
    vi.setSystemTime(T0 + 20 * MINUTE);
    await jobs.release(deliveryOf(timer), context);

    // Assess
    expect(timer.map((message) => message.delaySeconds)).toEqual([14 * 60]);
    expect(sqs.sent(QUEUES.lane.normal).map((message) => message.body)).toEqual([messageOf(job)]);
    expect(await storedJob(table, job)).toMatchObject({ status: 'queued' });
    expect((await storedJob(table, job))?.duePk).toBeUndefined();
  });

  it('leaves a job whose timer could not be sent in the due index, moves the others, and fails the invocation', async () => {
    // Prepare
    const jobs = await loadJobs(table);
    const tenantId = newTenant();
    const due = [0, 1, 2].map((shard) => scheduledJob(2 * MINUTE, { tenantId, jobId: newJobId(shard), awaitsSweep: true }));
    await putJobs(table, ...due);
    sqs.failNextSends(1);

    // Act
    const sweep = jobs.sweep(scheduledEvent(), context);

    // Assess
    await expect(sweep).rejects.toThrow('1 due jobs could not be moved');
    expect(sqs.sent(QUEUES.timer)).toHaveLength(2);
    const left = await dueJobIds(table, [tenantId]);
    expect(left).toHaveLength(1);
    expect(sqs.sent().map((message) => message.body['jobId'])).not.toContain(left[0]);
  });

  it('shares its job limit among the shards, earliest first, and says the sweep is incomplete', async () => {
    // Prepare: three jobs due in shard 0, one in shard 1; a limit of one per shard.
    const jobs = await loadJobs(table);
    const tenantId = newTenant();
    const inShard0 = [3, 1, 2].map((minutes) => scheduledJob(minutes * MINUTE, { tenantId, jobId: newJobId(0), awaitsSweep: true }));
    const inShard1 = scheduledJob(4 * MINUTE, { tenantId, jobId: newJobId(1), awaitsSweep: true });
    await putJobs(table, ...inShard0, inShard1);

    // Act
    const outcome = await jobs.sweeper.sweepDueJobs({ maxJobs: 4, hasTime: () => true });

    // Assess
    expect(outcome).toEqual({ moved: 2, stale: 0, failed: 0, complete: false });
    expect(Object.keys(timers()).sort()).toEqual([inShard0[1]!.jobId, inShard1.jobId].sort());
    expect(await dueJobIds(table, [tenantId])).toEqual([inShard0[0]!.jobId, inShard0[2]!.jobId].sort());
  });

  it('moves nothing when the invocation has less than 20 s left', async () => {
    // Prepare
    const jobs = await loadJobs(table);
    const job = scheduledJob(MINUTE, { awaitsSweep: true });
    await putJobs(table, job);

    // Act
    const outcome = await jobs.sweep(scheduledEvent(), lambdaContext('switchyard-jobs', 15_000));

    // Assess
    expect(outcome).toMatchObject({ moved: 0, complete: false });
    expect(sqs.sent()).toEqual([]);
    expect(await dueJobIds(table, [job.tenantId])).toEqual([job.jobId]);
  });
});
