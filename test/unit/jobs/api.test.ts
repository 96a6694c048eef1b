import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message, type ReceiveMessageCommandInput } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { JobPageSchema, JobSchema } from '#shared/contracts/jobs';
import { useFrozenDate } from '../../support/clock';
import {
  groupIdOf,
  API_DOMAIN,
  bodyOf,
  context,
  dueJobIds,
  jobEvent,
  jobItem,
  listEvent,
  loadApi,
  loadJobs,
  messageOf,
  newCaller,
  newJobId,
  problemOf,
  putJobs,
  QUEUES,
  redriveEvent,
  retryEvent,
  scheduledJob,
  STAGE,
  storedJob,
  submitEvent,
  T0,
  tenantJobIds,
  useEvents,
  useJobsTable,
  useSqs,
  violatedFields,
  type Caller,
  type JobItemOverrides,
} from './harness';
import type { JobItem } from '../../../functions/jobs/store';

const table = useJobsTable();
const sqs = useSqs();
const bus = useEvents();

useFrozenDate(T0);

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const iso = (at: number) => new Date(at).toISOString();

/** The API, loaded as one function instance sees it (`env` overrides the harness's environment). */
async function loadAll(env: Record<string, string | undefined> = {}) {
  const jobs = await loadJobs(table, env);
  return { jobs, api: await loadApi() };
}

/** A stored job of the caller's tenant. */
async function storedFor(caller: Caller, overrides: JobItemOverrides = {}): Promise<JobItem> {
  const job = jobItem({ tenantId: caller.tenantId, ...overrides });
  await putJobs(table, job);
  return job;
}

/** A dead job as the worker leaves it: run 1, three attempts, its last error. */
const deadJob = (caller: Caller, overrides: JobItemOverrides = {}) =>
  storedFor(caller, {
    type: 'test.fail',
    status: 'dead',
    attempts: 3,
    maxAttempts: 3,
    startedAt: iso(T0 - MINUTE),
    finishedAt: iso(T0 - MINUTE),
    lastError: { message: 'test.fail: failing on purpose on attempt 3 (attempt 3 of 3)', at: iso(T0 - MINUTE), attempt: 3 },
    ...overrides,
  });

describe('POST /v1/jobs (submit-job handler)', () => {
  it('queues a job on the normal lane, its own group, deduplicated by job and run, and points Location at it', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();

    // Act
    const result = await api.submit(submitEvent(caller, { type: 'test.echo', payload: { value: 42 } }, { 'X-Correlation-Id': 'corr-submit-1' }), context);

    // Assess
    expect(result.statusCode, result.body).toBe(202);
    const { jobId, status } = bodyOf<{ jobId: string; status: string }>(result);
    expect(jobId).toMatch(/^[0-9a-f]{32}$/);
    expect(status).toBe('queued');
    expect(result.headers?.['location']).toBe(`https://${API_DOMAIN}/${STAGE}/v1/jobs/${jobId}`);
    const stored = await storedJob(table, { tenantId: caller.tenantId, jobId });
    expect(stored).toMatchObject({
      tenantId: caller.tenantId,
      type: 'test.echo',
      payload: { value: 42 },
      status: 'queued',
      gsi2pk: `T#${caller.tenantId}#queued`,
      priority: 'normal',
      groupKey: null,
      runAt: iso(T0),
      run: 1,
      attempts: 0,
      maxAttempts: 5,
      backoff: { kind: 'exponential', baseSeconds: 2 },
      timeoutSeconds: 30,
      progress: 0,
      createdAt: iso(T0),
      createdBy: 'alice',
      correlationId: 'corr-submit-1',
    });
    expect(stored).not.toHaveProperty('duePk');
    expect(sqs.sent()).toEqual([
      {
        queueUrl: QUEUES.lane.normal,
        body: { tenantId: caller.tenantId, jobId, run: 1 },
        groupId: jobId,
        deduplicationId: `${jobId}-1`,
        correlationId: 'corr-submit-1',
      },
    ]);
  });

  it('queues a job of priority high on the high lane', async () => {
    // Prepare
    const { api } = await loadAll();

    // Act
    const result = await api.submit(submitEvent(newCaller(), { type: 'test.echo', priority: 'high' }), context);

    // Assess
    expect(result.statusCode).toBe(202);
    expect(sqs.sent().map((message) => message.queueUrl)).toEqual([QUEUES.lane.high]);
  });

  it('puts jobs with a groupKey in the group <tenant>#<groupKey>', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();

    // Act
    const result = await api.submit(submitEvent(caller, { type: 'test.echo', groupKey: 'orders' }), context);

    // Assess
    expect(result.statusCode).toBe(202);
    expect(sqs.sent().map((message) => message.groupId)).toEqual([groupIdOf(caller.tenantId, 'orders')]);
    expect((await storedJob(table, { tenantId: caller.tenantId, jobId: bodyOf(result)['jobId'] as string }))?.groupKey).toBe('orders');
  });

  it('keeps the message group within the 128 characters SQS allows, for the longest tenant id and group key', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = { tenantId: `t${'x'.repeat(63)}` };
    const groupKey = 'k'.repeat(128);

    // Act
    const results = [];
    for (const key of [groupKey, groupKey, `${'k'.repeat(127)}j`]) results.push(await api.submit(submitEvent(caller, { type: 'test.echo', groupKey: key }), context));

    // Assess: one group for one key, another for another, each at most 128 characters.
    expect(results.map((result) => result.statusCode)).toEqual([202, 202, 202]);
    const groups = sqs.sent().map((message) => message.groupId!);
    expect(groups.every((group) => group.length <= 128)).toBe(true);
    expect(groups[0]).toBe(groups[1]);
    expect(groups[2]).not.toBe(groups[0]);
  });

  it('schedules a job 60 s ahead on the timer queue, not on a lane', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();

    // Act
    const result = await api.submit(submitEvent(caller, { type: 'test.echo', delaySeconds: 60 }), context);

    // Assess
    expect(result.statusCode).toBe(202);
    const { jobId, status } = bodyOf<{ jobId: string; status: string }>(result);
    expect(status).toBe('scheduled');
    const stored = await storedJob(table, { tenantId: caller.tenantId, jobId });
    expect(stored).toMatchObject({ status: 'scheduled', runAt: iso(T0 + MINUTE) });
    expect(stored).not.toHaveProperty('duePk');
    expect(sqs.sent()).toEqual([{ queueUrl: QUEUES.timer, body: { tenantId: caller.tenantId, jobId, run: 1 }, delaySeconds: 60, correlationId: expect.any(String) }]);
  });

  it('schedules a job an hour ahead in the due index, and sends nothing yet', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();

    // Act
    const result = await api.submit(submitEvent(caller, { type: 'test.echo', delaySeconds: 3600 }), context);

    // Assess
    expect(result.statusCode).toBe(202);
    const { jobId, status } = bodyOf<{ jobId: string; status: string }>(result);
    expect(status).toBe('scheduled');
    const runAt = iso(T0 + 60 * MINUTE);
    expect(await storedJob(table, { tenantId: caller.tenantId, jobId })).toMatchObject({
      status: 'scheduled',
      runAt,
      duePk: `DUE#${parseInt(jobId.slice(-2), 16) % 4}`,
      dueSk: `${runAt}#${caller.tenantId}#${jobId}`,
    });
    expect(await dueJobIds(table, [caller.tenantId])).toEqual([jobId]);
    expect(sqs.sent()).toEqual([]);
  });

  it('answers a retry with the same Idempotency-Key with the same job, and makes one job and one message', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const body = { type: 'test.echo', payload: { value: 'once' } };
    const first = await api.submit(submitEvent(caller, body, { 'Idempotency-Key': 'order-4711' }), context);

    // Act
    const retry = await api.submit(submitEvent(caller, body, { 'Idempotency-Key': 'order-4711' }), context);

    // Assess
    expect([first.statusCode, retry.statusCode]).toEqual([202, 202]);
    expect(bodyOf(retry)).toEqual(bodyOf(first));
    expect(retry.headers?.['idempotent-replayed']).toBe('true');
    expect(await tenantJobIds(table, caller.tenantId)).toEqual([bodyOf(first)['jobId']]);
    expect(sqs.sent()).toHaveLength(1);
  });

  it.each([
    { case: 'an unknown priority', body: { type: 'test.echo', priority: 'urgent' }, field: 'body.priority' },
    { case: 'a negative delay', body: { type: 'test.echo', delaySeconds: -5 }, field: 'body.delaySeconds' },
    { case: 'a runAt two years ahead', body: { type: 'test.echo', runAt: iso(T0 + 2 * 365 * 24 * 60 * MINUTE) }, field: 'body.runAt' },
    { case: 'both runAt and delaySeconds', body: { type: 'test.echo', runAt: iso(T0 + MINUTE), delaySeconds: 60 }, field: 'body.delaySeconds' },
    { case: 'an unknown type', body: { type: 'test.nope' }, field: 'body.type' },
    { case: "a payload its type's schema refuses", body: { type: 'test.sleep', payload: { ms: -1 } }, field: 'body.payload.ms' },
    { case: 'a payload over 200 KB', body: { type: 'test.echo', payload: { value: 'x'.repeat(201 * 1024) } }, field: 'body.payload' },
    // Raw JSON: the number has lost digits once parsed, and DynamoDB could not keep it anyway.
    {
      case: 'a payload number beyond 2^53',
      body: '{"type":"webhook.deliver","payload":{"url":"https://hooks.example.com/in","body":{"orders":[1,12345678901234567890]}}}',
      field: 'body.payload.body.orders[1]',
    },
    { case: 'a payload number that overflows to Infinity', body: '{"type":"test.echo","payload":{"value":1e400}}', field: 'body.payload.value' },
    { case: 'a payload nested deeper than DynamoDB keeps', body: { type: 'test.echo', payload: { value: nested(40) } }, field: `body.payload.value${'.a'.repeat(30)}` },
    { case: 'a timeout above JOBS_MAX_TIMEOUT_SECONDS', body: { type: 'test.echo', timeoutSeconds: 20 }, field: 'body.timeoutSeconds', env: { JOBS_MAX_TIMEOUT_SECONDS: '10' } },
    { case: 'a webhook to plain http', body: { type: 'webhook.deliver', payload: { url: 'http://hooks.example.com/in', body: {} } }, field: 'body.payload.url' },
    { case: 'a webhook to the metadata address', body: { type: 'webhook.deliver', payload: { url: 'https://169.254.169.254/latest', body: {} } }, field: 'body.payload.url' },
  ])('refuses $case with 400 naming $field, and stores and sends nothing', async ({ body, field, env }) => {
    // Prepare
    const { api } = await loadAll(env);
    const caller = newCaller();

    // Act
    const result = await api.submit(submitEvent(caller, body), context);

    // Assess
    expect(violatedFields(result)).toEqual([field]);
    expect(await tenantJobIds(table, caller.tenantId)).toEqual([]);
    expect(sqs.sent()).toEqual([]);
  });

  it('answers 500 and keeps no job when the lane cannot be reached', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    sqs.failNextSends(1);

    // Act
    const result = await api.submit(submitEvent(caller, { type: 'test.echo' }), context);

    // Assess
    const problem = problemOf(result, 500);
    expect(problem['detail']).not.toContain('Service Unavailable');
    expect(await tenantJobIds(table, caller.tenantId)).toEqual([]);
    expect(sqs.sent()).toEqual([]);
  });
});

/** `{ a: { a: ... { a: 1 } } }`, `levels` maps deep. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe('GET /v1/jobs/{jobId} (get-job handler)', () => {
  it('answers the job as the API shows it', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const job = await storedFor(caller, { status: 'succeeded', attempts: 1, progress: 100, startedAt: iso(T0), finishedAt: iso(T0), result: { echoed: 7 } });

    // Act
    const result = await api.get(jobEvent('GET', caller, job.jobId), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(JobSchema.parse(bodyOf(result))).toEqual({
      jobId: job.jobId,
      type: 'test.echo',
      status: 'succeeded',
      priority: 'normal',
      groupKey: null,
      runAt: job.runAt,
      attempts: 1,
      maxAttempts: 5,
      backoff: { kind: 'exponential', baseSeconds: 2 },
      timeoutSeconds: 30,
      progress: 100,
      createdAt: job.createdAt,
      startedAt: iso(T0),
      finishedAt: iso(T0),
      nextAttemptAt: null,
      lastError: null,
      result: { echoed: 7 },
      resultUrl: null,
    });
    expect(bodyOf(result)).not.toHaveProperty('tenantId');
  });

  it("answers 404 for another tenant's job", async () => {
    // Prepare
    const { api } = await loadAll();
    const job = await storedFor(newCaller());

    // Act
    const result = await api.get(jobEvent('GET', newCaller(), job.jobId), context);

    // Assess
    expect(problemOf(result, 404)['detail']).toBe(`no job ${job.jobId}`);
  });

  it('answers 400 naming path.jobId for an id that is not one', async () => {
    // Prepare
    const { api } = await loadAll();

    // Act
    const result = await api.get(jobEvent('GET', newCaller(), 'not-a-job'), context);

    // Assess
    expect(violatedFields(result)).toEqual(['path.jobId']);
  });

  it('gives a job whose result is in S3 a presigned download link, valid one hour', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const key = `results/${caller.tenantId}/job/1.json`;
    const job = await storedFor(caller, { status: 'succeeded', resultKey: key });

    // Act
    const result = await api.get(jobEvent('GET', caller, job.jobId), context);

    // Assess
    expect(result.statusCode).toBe(200);
    const body = bodyOf<{ result: unknown; resultUrl: string }>(result);
    expect(body.result).toBeNull();
    const url = new URL(body.resultUrl);
    expect(`${url.host}${url.pathname}`).toBe(`jobs-results.s3.us-east-1.amazonaws.com/${key}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('GET /v1/jobs (list-jobs handler)', () => {
  /** Five jobs of the caller a minute apart, oldest first, of several statuses and types. */
  async function fiveJobs(caller: Caller): Promise<JobItem[]> {
    const kinds = [
      ['queued', 'test.echo'],
      ['succeeded', 'test.fail'],
      ['dead', 'test.echo'],
      ['queued', 'test.sleep'],
      ['succeeded', 'test.echo'],
    ] as const;
    const jobs: JobItem[] = [];
    for (const [i, [status, type]] of kinds.entries()) jobs.push(await storedFor(caller, { status, type, createdAt: iso(T0 - (5 - i) * MINUTE) }));
    return jobs;
  }

  const idsOf = (result: { body: string }) => JobPageSchema.parse(JSON.parse(result.body)).items.map((job) => job.jobId);

  it('lists the tenant’s jobs newest first, and only theirs', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const jobs = await fiveJobs(caller);
    await fiveJobs(newCaller());

    // Act
    const result = await api.list(listEvent(caller), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(idsOf(result)).toEqual(jobs.map((job) => job.jobId).reverse());
    expect(bodyOf(result)['nextCursor']).toBeNull();
  });

  it('lists the jobs of one status, and of one type', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const [j1, , j3, j4, j5] = await fiveJobs(caller);

    // Act
    const queued = await api.list(listEvent(caller, { status: 'queued' }), context);
    const echoes = await api.list(listEvent(caller, { type: 'test.echo' }), context);

    // Assess
    expect(idsOf(queued)).toEqual([j4!.jobId, j1!.jobId]);
    expect(idsOf(echoes)).toEqual([j5!.jobId, j3!.jobId, j1!.jobId]);
  });

  it('pages with the cursor, two at a time, to the end', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const jobs = await fiveJobs(caller);

    // Act
    const pages: string[][] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | null = null;
    do {
      const result = await api.list(listEvent(caller, { limit: '2', ...(cursor ? { cursor } : {}) }), context);
      expect(result.statusCode, result.body).toBe(200);
      pages.push(idsOf(result));
      cursor = bodyOf<{ nextCursor: string | null }>(result).nextCursor;
      cursors.push(cursor);
    } while (cursor && pages.length < 5);

    // Assess
    const [j1, j2, j3, j4, j5] = jobs.map((job) => job.jobId);
    expect(pages).toEqual([[j5, j4], [j3, j2], [j1]]);
    expect(cursors.at(-1)).toBeNull();
  });

  it("refuses a cursor of another tenant's listing with 400 naming query.cursor", async () => {
    // Prepare
    const { api } = await loadAll();
    const owner = newCaller();
    await fiveJobs(owner);
    const page = await api.list(listEvent(owner, { limit: '2' }), context);
    const cursor = bodyOf<{ nextCursor: string }>(page).nextCursor;

    // Act
    const result = await api.list(listEvent(newCaller(), { limit: '2', cursor }), context);

    // Assess
    expect(cursor).toEqual(expect.any(String));
    expect(violatedFields(result)).toEqual(['query.cursor']);
  });
});

describe('DELETE /v1/jobs/{jobId} (cancel-job handler)', () => {
  it.each([
    { case: 'queued', job: (caller: Caller) => storedFor(caller) },
    { case: 'scheduled (out of the due index too)', job: (caller: Caller) => putScheduled(caller) },
    { case: 'retrying', job: (caller: Caller) => storedFor(caller, { status: 'retrying', attempts: 1, nextAttemptAt: iso(T0 + 4 * SECOND) }) },
  ])('cancels a $case job and says JobCancelled', async ({ job: made }) => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const job = await made(caller);

    // Act
    const result = await api.cancel(jobEvent('DELETE', caller, job.jobId), context);

    // Assess
    expect(result.statusCode, result.body).toBe(200);
    expect(JobSchema.parse(bodyOf(result))).toMatchObject({ jobId: job.jobId, status: 'cancelled', finishedAt: iso(T0), nextAttemptAt: null });
    expect(await storedJob(table, job)).toMatchObject({ status: 'cancelled', gsi2pk: `T#${caller.tenantId}#cancelled` });
    expect(await dueJobIds(table, [caller.tenantId])).toEqual([]);
    expect(bus.events()).toEqual([
      expect.objectContaining({
        source: 'switchyard.jobs',
        detailType: 'JobCancelled',
        detail: {
          metadata: expect.objectContaining({ tenantId: caller.tenantId, eventId: `${job.jobId}-1-JobCancelled` }),
          data: { jobId: job.jobId, type: job.type, run: 1, attempts: job.attempts },
        },
      }),
    ]);
  });

  async function putScheduled(caller: Caller): Promise<JobItem> {
    const job = scheduledJob(60 * MINUTE, { tenantId: caller.tenantId });
    await putJobs(table, job);
    expect(await dueJobIds(table, [caller.tenantId])).toEqual([job.jobId]);
    return job;
  }

  it('refuses a job that already ended with 409, and changes nothing', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const job = await storedFor(caller, { status: 'succeeded', finishedAt: iso(T0 - MINUTE) });

    // Act
    const result = await api.cancel(jobEvent('DELETE', caller, job.jobId), context);

    // Assess
    expect(problemOf(result, 409)['detail']).toBe(`job ${job.jobId} is already succeeded`);
    expect(await storedJob(table, job)).toEqual(job);
    expect(bus.events()).toEqual([]);
  });

  it('answers a repeated cancel as the first, saying JobCancelled again under the same event id when the first could not say it', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const job = await storedFor(caller, { status: 'queued' });
    bus.failNextPuts(1);

    // Act
    const first = await api.cancel(jobEvent('DELETE', caller, job.jobId), context);
    const again = await api.cancel(jobEvent('DELETE', caller, job.jobId), context);

    // Assess
    problemOf(first, 500);
    expect(again.statusCode, again.body).toBe(200);
    expect(bodyOf(again)).toMatchObject({ jobId: job.jobId, status: 'cancelled', finishedAt: iso(T0) });
    const ids = bus.events('JobCancelled').map((event) => event.detail.metadata['eventId']);
    expect(ids.at(-1)).toBe(`${job.jobId}-1-JobCancelled`);
    expect(new Set(ids)).toEqual(new Set([`${job.jobId}-1-JobCancelled`]));
  });

  it('answers 404 for a job that does not exist', async () => {
    // Prepare
    const { api } = await loadAll();
    const jobId = newJobId();

    // Act
    const result = await api.cancel(jobEvent('DELETE', newCaller(), jobId), context);

    // Assess
    expect(problemOf(result, 404)['detail']).toBe(`no job ${jobId}`);
    expect(bus.events()).toEqual([]);
  });
});

describe('POST /v1/jobs/{jobId}/retry (retry-job handler)', () => {
  it('sends a dead job back to its lane as run 2, attempts counted afresh', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const job = await deadJob(caller);

    // Act
    const result = await api.retry(retryEvent(caller, job.jobId), context);

    // Assess
    expect(result.statusCode, result.body).toBe(202);
    expect(bodyOf(result)).toEqual({ jobId: job.jobId, status: 'queued' });
    expect(await storedJob(table, job)).toMatchObject({ status: 'queued', gsi2pk: `T#${caller.tenantId}#queued`, run: 2, attempts: 0, finishedAt: null, runAt: iso(T0) });
    expect(sqs.sent()).toEqual([
      {
        queueUrl: QUEUES.lane.normal,
        body: { tenantId: caller.tenantId, jobId: job.jobId, run: 2 },
        groupId: job.jobId,
        deduplicationId: `${job.jobId}-2`,
        correlationId: job.correlationId,
      },
    ]);
  });

  it('leaves a job whose retry could not be sent dead under a run no message has, so the next retry is not taken for a repeat of that send', async () => {
    // Prepare: the first send fails (it may still have reached SQS: its deduplication id is spent).
    const { api } = await loadAll();
    const caller = newCaller();
    const job = await deadJob(caller);
    sqs.failNextSends(1);

    // Act
    const failed = await api.retry(retryEvent(caller, job.jobId), context);
    const afterFailure = await storedJob(table, job);
    const retried = await api.retry(retryEvent(caller, job.jobId), context);

    // Assess
    problemOf(failed, 500);
    expect(afterFailure).toMatchObject({ status: 'dead', run: 3, attempts: job.attempts, finishedAt: job.finishedAt });
    expect(retried.statusCode, retried.body).toBe(202);
    expect(sqs.sent().map((message) => message.deduplicationId)).toEqual([`${job.jobId}-4`]);
    expect(await storedJob(table, job)).toMatchObject({ status: 'queued', run: 4 });
  });

  it('refuses a job that is not dead with 409', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const job = await storedFor(caller, { status: 'retrying', attempts: 1 });

    // Act
    const result = await api.retry(retryEvent(caller, job.jobId), context);

    // Assess
    expect(problemOf(result, 409)['detail']).toBe(`job ${job.jobId} is retrying, not dead`);
    expect(await storedJob(table, job)).toEqual(job);
    expect(sqs.sent()).toEqual([]);
  });
});

/** A dead-letter message of a job's run, as ReceiveMessage answers it. */
const deadLetter = (job: Pick<JobItem, 'tenantId' | 'jobId' | 'run'>, run = job.run): Message => ({
  MessageId: `dlq-${job.jobId}-${run}`,
  ReceiptHandle: `dlq-receipt-${job.jobId}-${run}`,
  Body: JSON.stringify({ ...messageOf(job), run }),
});

/** Every dead-letter queue answers empty receives unless a test says otherwise. */
function emptyDeadLetterQueues(): void {
  sqs.mock.on(ReceiveMessageCommand).resolves({ Messages: [] });
}

describe('POST /v1/jobs/dlq/redrive (redrive-jobs handler)', () => {
  it("requeues the caller's dead jobs, leaves other tenants' messages, and deletes stale ones", async () => {
    // Prepare: the caller's dead job; another tenant's dead job; a job of the caller retried since.
    const { api } = await loadAll();
    const caller = newCaller();
    const dead = await deadJob(caller);
    const foreign = await deadJob(newCaller());
    const retriedSince = await storedFor(caller, { status: 'queued', run: 2 });
    emptyDeadLetterQueues();
    sqs.mock
      .on(ReceiveMessageCommand, { QueueUrl: QUEUES.deadLetters.normal })
      .resolvesOnce({ Messages: [deadLetter(dead), deadLetter(foreign), deadLetter(retriedSince, 1)] })
      .resolves({ Messages: [] });

    // Act
    const result = await api.redrive(redriveEvent(caller), context);

    // Assess
    expect(result.statusCode, result.body).toBe(200);
    expect(bodyOf(result)).toEqual({ redriven: 1, skipped: 1 });
    expect(await storedJob(table, dead)).toMatchObject({ status: 'queued', run: 2, attempts: 0 });
    expect(sqs.sent()).toEqual([expect.objectContaining({ queueUrl: QUEUES.lane.normal, body: { ...messageOf(dead), run: 2 }, deduplicationId: `${dead.jobId}-2` })]);
    expect(sqs.mock.commandCalls(DeleteMessageCommand).map((call) => call.args[0].input)).toEqual([
      { QueueUrl: QUEUES.deadLetters.normal, ReceiptHandle: deadLetter(dead).ReceiptHandle },
      { QueueUrl: QUEUES.deadLetters.normal, ReceiptHandle: deadLetter(retriedSince, 1).ReceiptHandle },
    ]);
    expect(sqs.mock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input)).toEqual([
      { QueueUrl: QUEUES.deadLetters.normal, ReceiptHandle: deadLetter(foreign).ReceiptHandle, VisibilityTimeout: 0 },
    ]);
    expect(await storedJob(table, foreign)).toEqual(foreign);
    expect(await storedJob(table, retriedSince)).toEqual(retriedSince);
  });

  // A retry whose send fails leaves the job dead (under a run of its own); its dead-letter
  // message of the earlier run still finds it.
  it('still redrives a dead job whose retry through the API could not be sent', async () => {
    // Prepare
    const { api } = await loadAll();
    const caller = newCaller();
    const job = await deadJob(caller);
    sqs.failNextSends(1);
    const retry = await api.retry(retryEvent(caller, job.jobId), context);
    emptyDeadLetterQueues();
    sqs.mock.on(ReceiveMessageCommand, { QueueUrl: QUEUES.deadLetters.normal }).resolvesOnce({ Messages: [deadLetter(job)] }).resolves({ Messages: [] });

    // Act
    const result = await api.redrive(redriveEvent(caller), context);

    // Assess
    problemOf(retry, 500);
    expect(bodyOf(result)).toEqual({ redriven: 1, skipped: 0 });
    expect(await storedJob(table, job)).toMatchObject({ status: 'queued' });
  });

  it('sends back, under a deduplication id of its own, the message of a job that has not ended (SQS moved it after maxReceiveCount)', async () => {
    // Prepare: a queued job of run 1 whose only message is in the dead-letter queue.
    const { api } = await loadAll();
    const caller = newCaller();
    const waiting = await storedFor(caller, { status: 'queued' });
    emptyDeadLetterQueues();
    sqs.mock.on(ReceiveMessageCommand, { QueueUrl: QUEUES.deadLetters.normal }).resolvesOnce({ Messages: [deadLetter(waiting)] }).resolves({ Messages: [] });

    // Act
    const result = await api.redrive(redriveEvent(caller), context);

    // Assess
    expect(bodyOf(result)).toEqual({ redriven: 1, skipped: 0 });
    expect(await storedJob(table, waiting)).toEqual(waiting);
    expect(sqs.sent()).toEqual([
      expect.objectContaining({ queueUrl: QUEUES.lane.normal, body: messageOf(waiting), deduplicationId: `${waiting.jobId}-1-redrive-${deadLetter(waiting).MessageId}` }),
    ]);
    expect(sqs.mock.commandCalls(DeleteMessageCommand).map((call) => call.args[0].input.ReceiptHandle)).toEqual([deadLetter(waiting).ReceiptHandle]);
  });

  // Other tenants' messages stay hidden while the call goes on, so later receives reach past them.
  it("reaches the caller's dead job behind ten messages of other tenants", async () => {
    // Prepare: a FIFO dead-letter queue that hands out its oldest visible messages first.
    const { api } = await loadAll();
    const caller = newCaller();
    const others = await Promise.all(Array.from({ length: 10 }, () => deadJob(newCaller())));
    const mine = await deadJob(caller);
    const queue = fakeDeadLetterQueue(QUEUES.deadLetters.normal, [...others, mine].map((job) => deadLetter(job)));

    // Act
    const result = await api.redrive(redriveEvent(caller, { priority: 'normal' }), context);

    // Assess
    expect(bodyOf(result)).toEqual({ redriven: 1, skipped: 0 });
    expect(await storedJob(table, mine)).toMatchObject({ status: 'queued', run: 2 });
    expect(queue.held()).toHaveLength(10);
  });
});

/**
 * A stand-in for one dead-letter queue that keeps state as SQS does: a receive hands out the
 * oldest visible messages (at most `MaxNumberOfMessages`) and hides them; a visibility of 0 shows
 * a message again at once; a delete removes it.
 */
function fakeDeadLetterQueue(queueUrl: string, messages: readonly Message[]): { readonly held: () => Message[] } {
  const held = messages.map((message) => ({ message, visible: true }));
  sqs.mock.on(ReceiveMessageCommand, { QueueUrl: queueUrl }).callsFake((input: ReceiveMessageCommandInput) => {
    const batch = held.filter((entry) => entry.visible).slice(0, input.MaxNumberOfMessages ?? 1);
    for (const entry of batch) entry.visible = (input.VisibilityTimeout ?? 30) === 0;
    return { Messages: batch.map((entry) => entry.message) };
  });
  sqs.mock.on(ChangeMessageVisibilityCommand, { QueueUrl: queueUrl }).callsFake((input: { ReceiptHandle: string; VisibilityTimeout: number }) => {
    const entry = held.find((candidate) => candidate.message.ReceiptHandle === input.ReceiptHandle);
    if (entry) entry.visible = input.VisibilityTimeout === 0;
    return {};
  });
  sqs.mock.on(DeleteMessageCommand, { QueueUrl: queueUrl }).callsFake((input: { ReceiptHandle: string }) => {
    const at = held.findIndex((candidate) => candidate.message.ReceiptHandle === input.ReceiptHandle);
    if (at >= 0) held.splice(at, 1);
    return {};
  });
  return { held: () => held.map((entry) => entry.message) };
}
