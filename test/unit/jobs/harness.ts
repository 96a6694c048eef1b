import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SendMessageBatchCommandInput,
  type SendMessageCommandInput,
} from '@aws-sdk/client-sqs';
import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, ScheduledEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { beforeEach, vi } from 'vitest';
import type { Priority } from '#shared/contracts/jobs';
import type { SqsHandler } from '#shared/consumer/sqs';
import type { JobMessage } from '../../../functions/jobs/lanes';
import { indexKeys, jobKey, type JobItem } from '../../../functions/jobs/store';
import { bodyOf, problemOf, restApiEvent } from '../../support/api-gateway';
import { useLocalTable, type LocalTable } from '../../support/dynamodb';
import { lambdaContext } from '../../support/lambda-context';

/**
 * What the job queue's unit tests share: the jobs table as lib/jobs/storage.ts declares it (and
 * the platform's idempotency table) on DynamoDB Local, the job modules loaded as one function
 * instance sees them, a stand-in for SQS that records every message sent, job records and SQS
 * and schedule events.
 */

export const JOBS_TABLE = 'jobs';
export const IDEMPOTENCY_TABLE = 'idempotency';
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
/** The tests' clock. */
export const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

const queueUrl = (name: string) => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;

/** The queues' URLs: a FIFO lane and dead-letter queue per priority, and the standard timer queue. */
export const QUEUES = {
  lane: { high: queueUrl('jobs-high.fifo'), normal: queueUrl('jobs-normal.fifo'), low: queueUrl('jobs-low.fifo') } satisfies Record<Priority, string>,
  deadLetters: { high: queueUrl('jobs-high-dlq.fifo'), normal: queueUrl('jobs-normal-dlq.fifo'), low: queueUrl('jobs-low-dlq.fifo') } satisfies Record<Priority, string>,
  timer: queueUrl('jobs-timer'),
} as const;

/** The ARN of a queue, from its URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`). */
export function queueArnOf(url: string): string {
  const [, , host, account, name] = url.split('/');
  return `arn:aws:sqs:${host?.split('.')[1] ?? REGION}:${account}:${name}`;
}

/** A Lambda context with a minute left: enough for a sweep, which stops 20 s before the end. */
/** A worker's invocation as it starts: its timeout is `batchSize × maxTimeoutSeconds + 15` (2 × 60 + 15 s with the defaults here). */
export const context: Context = lambdaContext('switchyard-jobs', 135_000);

/** The jobs table (`pk` + `sk`; indexes `byTenant`, `byStatus` and the sparse `due`) and the idempotency table (`id`), on one DynamoDB Local. */
export function useJobsTable(): LocalTable {
  return useLocalTable(JOBS_TABLE, {
    sortKey: 'sk',
    indexes: [
      { indexName: 'byTenant', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
      { indexName: 'byStatus', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
      { indexName: 'due', partitionKey: 'duePk', sortKey: 'dueSk' },
    ],
    moreTables: [{ tableName: IDEMPOTENCY_TABLE, partitionKey: 'id' }],
  });
}

/** The handler of the every-minute sweep. */
export type ScheduledHandler<R = unknown> = (event: ScheduledEvent, context: Context) => Promise<R>;

export interface Jobs {
  /** The timer queue's consumer. */
  readonly release: SqsHandler;
  /** The schedule rule's target. */
  readonly sweep: ScheduledHandler<import('../../../functions/jobs/sweep-due-jobs').SweepOutcome>;
  readonly releaser: typeof import('../../../functions/jobs/release-job');
  readonly sweeper: typeof import('../../../functions/jobs/sweep-due-jobs');
  readonly store: typeof import('../../../functions/jobs/store');
  readonly lanes: typeof import('../../../functions/jobs/lanes');
  /** This instance's Metrics: spy on `addMetric` to see what a handler counted. */
  readonly metrics: typeof import('#shared/powertools').metrics;
  /** The client every module of this instance sends through: spy on `send` to count or fail calls. */
  readonly documentClient: DynamoDBDocumentClient;
}

/**
 * The job modules as one function instance (a fresh module graph) sees them: modules read the
 * environment once, so it is set first. Other handlers of the same instance (the worker, the API)
 * are `await import(...)`ed by their tests after `loadJobs`: until the next `loadJobs`, imports
 * share its module graph. `env` overrides or removes (`undefined`) any variable.
 */
export async function loadJobs(table: LocalTable, env: Record<string, string | undefined> = {}): Promise<Jobs> {
  vi.resetModules();
  const settings: Record<string, string | undefined> = {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    POWERTOOLS_SERVICE_NAME: 'jobs-test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_METRICS_NAMESPACE: 'SwitchyardTest',
    JOBS_TABLE_NAME: table.tableName,
    IDEMPOTENCY_TABLE_NAME: IDEMPOTENCY_TABLE,
    JOBS_LANE_HIGH_URL: QUEUES.lane.high,
    JOBS_LANE_NORMAL_URL: QUEUES.lane.normal,
    JOBS_LANE_LOW_URL: QUEUES.lane.low,
    JOBS_DLQ_HIGH_URL: QUEUES.deadLetters.high,
    JOBS_DLQ_NORMAL_URL: QUEUES.deadLetters.normal,
    JOBS_DLQ_LOW_URL: QUEUES.deadLetters.low,
    JOBS_TIMER_URL: QUEUES.timer,
    JOBS_TEST_TYPES: 'true',
    // A worker's lane, and what the worker and the API use besides.
    JOBS_LANE: 'normal',
    JOBS_RESULTS_BUCKET: 'jobs-results',
    JOBS_MAX_TIMEOUT_SECONDS: undefined,
    EVENT_BUS_NAME: 'switchyard-test',
    RATE_LIMIT_TABLE_NAME: undefined,
    ...env,
  };
  for (const [name, value] of Object.entries(settings)) vi.stubEnv(name, value);
  const [releaser, sweeper, store, lanes, powertools, clients] = await Promise.all([
    import('../../../functions/jobs/release-job'),
    import('../../../functions/jobs/sweep-due-jobs'),
    import('../../../functions/jobs/store'),
    import('../../../functions/jobs/lanes'),
    import('#shared/powertools'),
    import('#shared/clients/dynamodb'),
  ]);
  return {
    release: releaser.handler,
    sweep: sweeper.handler,
    releaser,
    sweeper,
    store,
    lanes,
    metrics: powertools.metrics,
    documentClient: clients.documentClient,
  };
}

/** One message sent to SQS, as the mock recorded it. */
export interface SentMessage {
  readonly queueUrl: string;
  /** The body, parsed from JSON. */
  readonly body: Record<string, unknown>;
  readonly delaySeconds?: number;
  readonly groupId?: string;
  readonly deduplicationId?: string;
  /** The `correlationId` message attribute. */
  readonly correlationId?: string;
}

/** SQS as the tests see it. */
export interface SqsRecorder {
  /** Every message sent (one per batch entry), in order; only those to `queueUrl` when given. */
  readonly sent: (queueUrl?: string) => SentMessage[];
  /** Forgets what was sent so far (the mock's behaviour stays). */
  readonly clear: () => void;
  /** Fails the next `times` sends (to `queueUrl` only, when given) as SQS would when unavailable; they are not recorded. */
  readonly failNextSends: (times: number, queueUrl?: string) => void;
  /** The mocked client, for other commands (ChangeMessageVisibility, ReceiveMessage...) and call assertions. */
  readonly mock: AwsClientStub<SQSClient>;
}

/**
 * Mocks `SQSClient` for the file's tests, reset before each: SendMessage and SendMessageBatch
 * succeed and are recorded, unless set to fail. Other commands answer `undefined` unless a test
 * sets them on `mock`.
 */
export function useSqs(): SqsRecorder {
  const mock = mockClient(SQSClient);
  let sent: SentMessage[] = [];
  let failing: { times: number; queueUrl: string | undefined } = { times: 0, queueUrl: undefined };
  const failsNow = (url: string) => {
    if (failing.times <= 0 || (failing.queueUrl !== undefined && failing.queueUrl !== url)) return false;
    failing.times--;
    return true;
  };
  const unavailable = () => Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
  beforeEach(() => {
    sent = [];
    failing = { times: 0, queueUrl: undefined };
    mock.reset();
    mock.on(SendMessageCommand).callsFake((input: SendMessageCommandInput) => {
      const url = String(input.QueueUrl);
      if (failsNow(url)) throw unavailable();
      sent.push(recorded(url, input));
      return { MessageId: randomUUID() };
    });
    mock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      const url = String(input.QueueUrl);
      if (failsNow(url)) throw unavailable();
      const entries = input.Entries ?? [];
      for (const entry of entries) sent.push(recorded(url, entry));
      return { Successful: entries.map((entry) => ({ Id: entry.Id, MessageId: randomUUID(), MD5OfMessageBody: '' })), Failed: [] };
    });
  });
  return {
    sent: (url) => sent.filter((message) => url === undefined || message.queueUrl === url),
    clear: () => {
      sent = [];
    },
    failNextSends: (times, url) => {
      failing = { times, queueUrl: url };
    },
    mock,
  };
}

function recorded(queueUrl: string, input: Omit<SendMessageCommandInput, 'QueueUrl'>): SentMessage {
  const correlationId = input.MessageAttributes?.['correlationId']?.StringValue;
  return {
    queueUrl,
    body: JSON.parse(String(input.MessageBody)) as Record<string, unknown>,
    ...(input.DelaySeconds !== undefined ? { delaySeconds: input.DelaySeconds } : {}),
    ...(input.MessageGroupId !== undefined ? { groupId: input.MessageGroupId } : {}),
    ...(input.MessageDeduplicationId !== undefined ? { deduplicationId: input.MessageDeduplicationId } : {}),
    ...(correlationId !== undefined ? { correlationId } : {}),
  };
}

let tenants = 0;
/** A tenant of the test's own, so that jobs never carry over between tests. */
export const newTenant = (): string => `tenant-${++tenants}-${randomUUID().slice(0, 8)}`;

/** A job id (32 hex digits) as submission makes them; in the given `due` shard when asked. */
export function newJobId(shard?: number): string {
  const id = randomBytes(16).toString('hex');
  return shard === undefined ? id : `${id.slice(0, 30)}${shard.toString(16).padStart(2, '0')}`;
}

/** What a test may set of a job: any attribute, and whether it waits in the `due` index. */
export type JobItemOverrides = Partial<JobItem> & {
  /** Gives it `duePk` and `dueSk` (from its id, tenant and `runAt`). @default false */
  readonly awaitsSweep?: boolean;
};

/**
 * A valid job record: a `test.echo` job of a new tenant, queued now, first run, keys and index
 * keys made as submission makes them (from the overridden id, tenant, status and times). Any
 * attribute given wins, keys included.
 */
export function jobItem(overrides: JobItemOverrides = {}): JobItem {
  const { awaitsSweep = false, ...attributes } = overrides;
  const now = new Date().toISOString();
  const tenantId = attributes.tenantId ?? newTenant();
  const jobId = attributes.jobId ?? newJobId();
  const status = attributes.status ?? 'queued';
  const createdAt = attributes.createdAt ?? now;
  const runAt = attributes.runAt ?? createdAt;
  return {
    ...jobKey(tenantId, jobId),
    tenantId,
    jobId,
    type: 'test.echo',
    payload: {},
    status,
    priority: 'normal',
    groupKey: null,
    runAt,
    run: 1,
    attempts: 0,
    maxAttempts: 5,
    backoff: { kind: 'exponential', baseSeconds: 2 },
    timeoutSeconds: 30,
    progress: 0,
    createdAt,
    createdBy: 'user-1',
    startedAt: null,
    finishedAt: null,
    nextAttemptAt: null,
    lastError: null,
    result: null,
    resultKey: null,
    correlationId: `corr-${jobId.slice(0, 8)}`,
    ...indexKeys(tenantId, jobId, createdAt, status, runAt, awaitsSweep),
    ...attributes,
  };
}

/**
 * A job scheduled `aheadMs` from now, as submission stores it: in the `due` index when that is
 * beyond the timer queue's 15 minutes.
 */
export function scheduledJob(aheadMs: number, overrides: JobItemOverrides = {}): JobItem {
  return jobItem({
    status: 'scheduled',
    runAt: new Date(Date.now() + aheadMs).toISOString(),
    awaitsSweep: aheadMs > 900_000,
    ...overrides,
  });
}

/** The message every queue carries for a job's run. */
export const messageOf = (job: Pick<JobItem, 'tenantId' | 'jobId' | 'run'>): JobMessage => ({ tenantId: job.tenantId, jobId: job.jobId, run: job.run });

/** Stores job records as they are. */
export async function putJobs(table: LocalTable, ...items: readonly JobItem[]): Promise<void> {
  for (const item of items) await table.client.send(new PutCommand({ TableName: table.tableName, Item: item }));
}

/** A job record as stored now. */
export async function storedJob(table: LocalTable, job: Pick<JobItem, 'tenantId' | 'jobId'>): Promise<JobItem | undefined> {
  const answer = await table.client.send(new GetCommand({ TableName: table.tableName, Key: jobKey(job.tenantId, job.jobId), ConsistentRead: true }));
  return answer.Item as JobItem | undefined;
}

async function dueEntries(table: LocalTable): Promise<JobItem[]> {
  const items: JobItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await table.client.send(new ScanCommand({ TableName: table.tableName, IndexName: 'due', ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...((page.Items ?? []) as JobItem[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The job ids in the `due` index (of the given tenants only, when given), sorted. */
export async function dueJobIds(table: LocalTable, tenantIds?: readonly string[]): Promise<string[]> {
  return (await dueEntries(table))
    .filter((item) => !tenantIds || tenantIds.includes(item.tenantId))
    .map((item) => item.jobId)
    .sort();
}

/**
 * Empties the `due` index (the jobs stay, without their index keys). A sweep reads every tenant's
 * jobs, so tests of the sweep start from an empty index, not from what earlier tests left.
 */
export async function emptyDueIndex(table: LocalTable): Promise<void> {
  for (const item of await dueEntries(table)) {
    await table.client.send(new UpdateCommand({ TableName: table.tableName, Key: jobKey(item.tenantId, item.jobId), UpdateExpression: 'REMOVE duePk, dueSk' }));
  }
}

/** One SQS message to deliver; the FIFO attributes are made up from a job message's body when not given. */
export interface SqsMessageSpec {
  /** Sent as it is when a string, else as its JSON. */
  readonly body: unknown;
  /** @default a new UUID */
  readonly messageId?: string;
  readonly groupId?: string;
  readonly deduplicationId?: string;
  /** @default 1 */
  readonly receiveCount?: number;
  readonly correlationId?: string;
  /** @default `receipt-<messageId>` */
  readonly receiptHandle?: string;
}

/**
 * An SQS event as the event source mapping hands it to a function, one record per message. For a
 * FIFO queue (its ARN ends in `.fifo`) each record carries a group (given, else the body's job id)
 * and a deduplication id (given, else `<jobId>-<run>` as the lanes send, else the message id).
 */
export function sqsEvent(queueArn: string, messages: readonly SqsMessageSpec[]): SQSEvent {
  const fifo = queueArn.endsWith('.fifo');
  return {
    Records: messages.map((message, i): SQSRecord => {
      const messageId = message.messageId ?? randomUUID();
      const body = typeof message.body === 'string' ? message.body : JSON.stringify(message.body);
      const job = typeof message.body === 'object' && message.body !== null ? (message.body as Partial<JobMessage>) : {};
      const sentAt = String(Date.now());
      return {
        messageId,
        receiptHandle: message.receiptHandle ?? `receipt-${messageId}`,
        body,
        attributes: {
          ApproximateReceiveCount: String(message.receiveCount ?? 1),
          SentTimestamp: sentAt,
          SenderId: `AROAEXAMPLEID:switchyard-jobs`,
          ApproximateFirstReceiveTimestamp: sentAt,
          ...(fifo
            ? {
                MessageGroupId: message.groupId ?? job.jobId ?? 'group',
                MessageDeduplicationId: message.deduplicationId ?? (job.jobId && job.run !== undefined ? `${job.jobId}-${job.run}` : messageId),
                SequenceNumber: String(18849496460467696128n + BigInt(i)),
              }
            : {}),
        },
        messageAttributes: message.correlationId
          ? { correlationId: { stringValue: message.correlationId, stringListValues: [], binaryListValues: [], dataType: 'String' } }
          : {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: REGION,
      };
    }),
  };
}

/** The messages recorded as sent, delivered as one event of their queue (they must share one). */
export function deliveryOf(messages: readonly SentMessage[]): SQSEvent {
  const urls = new Set(messages.map((message) => message.queueUrl));
  if (urls.size !== 1) throw new Error(`deliveryOf takes messages of one queue, not ${urls.size}`);
  return sqsEvent(
    queueArnOf([...urls][0] ?? ''),
    messages.map((message) => ({
      body: message.body,
      ...(message.groupId !== undefined ? { groupId: message.groupId } : {}),
      ...(message.deduplicationId !== undefined ? { deduplicationId: message.deduplicationId } : {}),
      ...(message.correlationId !== undefined ? { correlationId: message.correlationId } : {}),
    })),
  );
}

/** An EventBridge schedule rule's event, as it invokes its target at `at`. */
export function scheduledEvent(at: number = Date.now()): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/switchyard-jobs-sweep`],
    detail: {},
  };
}

/** One event put on the bus, as the mock recorded it. */
export interface PutEvent {
  readonly busName?: string;
  readonly source?: string;
  readonly detailType?: string;
  /** The Switchyard envelope, parsed from JSON. */
  readonly detail: { readonly metadata: Record<string, unknown>; readonly data: Record<string, unknown> };
}

/** The bus as the tests see it. */
export interface EventRecorder {
  /** Every event put, in order; only those of `detailType` when given. */
  readonly events: (detailType?: string) => PutEvent[];
  /** Fails the next `times` PutEvents calls as EventBridge would when unavailable. */
  readonly failNextPuts: (times: number) => void;
  readonly mock: AwsClientStub<EventBridgeClient>;
}

/** Mocks `EventBridgeClient` for the file's tests, reset before each: PutEvents accepts every entry, unless set to fail. */
export function useEvents(): EventRecorder {
  const mock = mockClient(EventBridgeClient);
  let failing = 0;
  beforeEach(() => {
    failing = 0;
    mock.reset();
    mock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
      if (failing > 0) {
        failing--;
        throw Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
      }
      return { FailedEntryCount: 0, Entries: (input.Entries ?? []).map(() => ({ EventId: randomUUID() })) };
    });
  });
  return {
    events: (detailType) =>
      mock
        .commandCalls(PutEventsCommand)
        .flatMap((call) => call.args[0].input.Entries ?? [])
        .filter((entry) => detailType === undefined || entry.DetailType === detailType)
        .map((entry) => ({
          ...(entry.EventBusName !== undefined ? { busName: entry.EventBusName } : {}),
          ...(entry.Source !== undefined ? { source: entry.Source } : {}),
          ...(entry.DetailType !== undefined ? { detailType: entry.DetailType } : {}),
          detail: JSON.parse(String(entry.Detail)) as PutEvent['detail'],
        })),
    failNextPuts: (times) => {
      failing = times;
    },
    mock,
  };
}

/** One object written to S3, as the mock recorded it. */
export interface PutObject {
  readonly bucket?: string;
  readonly key?: string;
  readonly contentType?: string;
  /** Recorded only when the put set one. */
  readonly contentDisposition?: string;
  readonly body: string;
}

/** Mocks `S3Client` for the file's tests, reset before each: PutObject succeeds and is recorded. */
export function useS3(): { readonly puts: () => PutObject[]; readonly mock: AwsClientStub<S3Client> } {
  const mock = mockClient(S3Client);
  beforeEach(() => {
    mock.reset();
    mock.on(PutObjectCommand).resolves({ ETag: '"etag"' });
  });
  return {
    puts: () =>
      mock.commandCalls(PutObjectCommand).map((call) => {
        const input = call.args[0].input;
        return {
          ...(input.Bucket !== undefined ? { bucket: input.Bucket } : {}),
          ...(input.Key !== undefined ? { key: input.Key } : {}),
          ...(input.ContentType !== undefined ? { contentType: input.ContentType } : {}),
          ...(input.ContentDisposition !== undefined ? { contentDisposition: input.ContentDisposition } : {}),
          body: String(input.Body),
        };
      }),
    mock,
  };
}

/** The FIFO group of a tenant's jobs with one group key: the key's SHA-256 in base64url (SQS caps group ids at 128 characters). */
export const groupIdOf = (tenantId: string, groupKey: string): string => `${tenantId}#${createHash('sha256').update(groupKey).digest('base64url')}`;

/** The worker of a lane, from the module graph of the last `loadJobs`. */
export interface Worker {
  readonly handler: SqsHandler;
  readonly backoffSeconds: typeof import('../../../functions/jobs/work-job').backoffSeconds;
  /** The registered test types of the same graph: spy on their `run` to see whether a job ran. */
  readonly types: typeof import('../../../functions/jobs/types/test-types');
}

/** Loads the worker into the module graph of the last `loadJobs` (call that first). */
export async function loadWorker(): Promise<Worker> {
  const [worker, types] = await Promise.all([import('../../../functions/jobs/work-job'), import('../../../functions/jobs/types/test-types')]);
  return { handler: worker.handler, backoffSeconds: worker.backoffSeconds, types };
}

export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** The API's handlers, from the module graph of the last `loadJobs`. */
export interface JobsApi {
  readonly submit: ApiHandler;
  readonly get: ApiHandler;
  readonly list: ApiHandler;
  readonly cancel: ApiHandler;
  readonly retry: ApiHandler;
  readonly redrive: ApiHandler;
}

/** Loads the API's handlers into the module graph of the last `loadJobs` (call that first). */
export async function loadApi(): Promise<JobsApi> {
  const [submit, get, list, cancel, retry, redrive] = await Promise.all([
    import('../../../functions/jobs/submit-job'),
    import('../../../functions/jobs/get-job'),
    import('../../../functions/jobs/list-jobs'),
    import('../../../functions/jobs/cancel-job'),
    import('../../../functions/jobs/retry-job'),
    import('../../../functions/jobs/redrive-jobs'),
  ]);
  return {
    submit: submit.handler as ApiHandler,
    get: get.handler as ApiHandler,
    list: list.handler as ApiHandler,
    cancel: cancel.handler as ApiHandler,
    retry: retry.handler as ApiHandler,
    redrive: redrive.handler as ApiHandler,
  };
}

/** The API's own host, as API Gateway puts it in `requestContext.domainName`. */
export const API_DOMAIN = 'abc123.execute-api.us-east-1.amazonaws.com';
export const STAGE = 'dev';

/** Who calls the API, as the authorizer's context says. */
export interface Caller {
  readonly tenantId: string;
  /** @default 'alice' */
  readonly userId?: string;
  /** Space-separated. @default 'jobs:read jobs:write jobs:admin' */
  readonly scopes?: string;
}

/** A caller of a new tenant with every jobs scope. */
export const newCaller = (): Caller => ({ tenantId: newTenant() });

interface EventParts {
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
}

/** An API Gateway REST (v1, proxy) event of an authorized caller, as the platform's API hands it to a function. */
export function apiEvent(method: string, resource: string, path: string, caller: Caller, parts: EventParts = {}): APIGatewayProxyEvent {
  const userId = caller.userId ?? 'alice';
  const authorizer = { principalId: userId, userId, tenantId: caller.tenantId, scopes: caller.scopes ?? 'jobs:read jobs:write jobs:admin' };
  return restApiEvent(method, resource, path, { ...parts, authorizer, domainName: API_DOMAIN, stage: STAGE });
}

/** POST /v1/jobs. */
export const submitEvent = (caller: Caller, body: unknown, headers: Record<string, string> = {}) => apiEvent('POST', '/v1/jobs', '/v1/jobs', caller, { body, headers });

/** GET /v1/jobs?query. */
export const listEvent = (caller: Caller, query?: Record<string, string>) => apiEvent('GET', '/v1/jobs', '/v1/jobs', caller, query ? { query } : {});

/** GET or DELETE /v1/jobs/{jobId}. */
export const jobEvent = (method: 'GET' | 'DELETE', caller: Caller, jobId: string) =>
  apiEvent(method, '/v1/jobs/{jobId}', `/v1/jobs/${jobId}`, caller, { pathParameters: { jobId } });

/** POST /v1/jobs/{jobId}/retry. */
export const retryEvent = (caller: Caller, jobId: string) => apiEvent('POST', '/v1/jobs/{jobId}/retry', `/v1/jobs/${jobId}/retry`, caller, { pathParameters: { jobId } });

/** POST /v1/jobs/dlq/redrive. */
export const redriveEvent = (caller: Caller, body: unknown = {}) => apiEvent('POST', '/v1/jobs/dlq/redrive', '/v1/jobs/dlq/redrive', caller, { body });

export { bodyOf, problemOf };

/** The fields a 400 names. */
export function violatedFields(result: APIGatewayProxyResult): string[] {
  const problem = problemOf(result, 400);
  return ((problem['errors'] ?? []) as { field: string }[]).map((violation) => violation.field);
}

/** The ids of a tenant's stored jobs, from the tenant index (as a listing sees them), sorted. */
export async function tenantJobIds(table: LocalTable, tenantId: string): Promise<string[]> {
  const answer = await table.client.send(
    new QueryCommand({ TableName: table.tableName, IndexName: 'byTenant', KeyConditionExpression: 'gsi1pk = :t', ExpressionAttributeValues: { ':t': `T#${tenantId}` } }),
  );
  return ((answer.Items ?? []) as JobItem[]).map((item) => item.jobId).sort();
}
