import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod';
import { documentClient } from '#shared/clients/dynamodb';
import type { Job, JobStatus, Priority } from '#shared/contracts/jobs';
import { readEnv } from '#shared/env';
import { ValidationError } from '#shared/errors';

/**
 * The jobs table (lib/jobs/storage.ts):
 * - `J#<tenant>#<job>` / `job`: the job record, spread over partitions by job id;
 * - index `byTenant` (`T#<tenant>`, `<createdAt>#<job>`): a tenant's jobs, newest first;
 * - index `byStatus` (`T#<tenant>#<status>`, `<createdAt>#<job>`): the same, of one status;
 * - index `due` (`DUE#<shard>`, `<runAt>#<tenant>#<job>`), sparse: scheduled jobs not yet handed
 *   to the timer queue, swept every minute.
 */

let tableName: string | undefined;

export function jobsTable(): string {
  tableName ??= readEnv({ JOBS_TABLE_NAME: z.string().min(1) }).JOBS_TABLE_NAME;
  return tableName;
}

/** Shards of the `due` index: the sweeper reads each. */
export const DUE_SHARDS = 4;

export interface JobItem {
  readonly pk: string;
  readonly sk: 'job';
  readonly tenantId: string;
  readonly jobId: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly status: JobStatus;
  readonly priority: Priority;
  readonly groupKey: string | null;
  readonly runAt: string;
  /** Counts the job's sends to a lane: a retry of a dead job is a new run, with attempts afresh. */
  readonly run: number;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly backoff: { readonly kind: 'exponential' | 'fixed'; readonly baseSeconds: number };
  readonly timeoutSeconds: number;
  readonly progress: number;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly nextAttemptAt: string | null;
  readonly lastError: { readonly message: string; readonly at: string; readonly attempt: number } | null;
  /** A small result, inline. */
  readonly result: unknown;
  /** A large result's S3 key (in the results bucket). */
  readonly resultKey: string | null;
  readonly correlationId: string;
  /** While running: when the attempt's timeout (and a margin) is over; a later delivery may take it over. */
  readonly leaseUntil?: string;
  /** The latest claim's id (the worker's idempotency store: `run-store.ts`). */
  readonly claimId?: string;
  readonly gsi1pk: string;
  readonly gsi1sk: string;
  readonly gsi2pk: string;
  readonly gsi2sk: string;
  readonly duePk?: string;
  readonly dueSk?: string;
}

export const jobKey = (tenantId: string, jobId: string) => ({ pk: `J#${tenantId}#${jobId}`, sk: 'job' as const });
const statusPartition = (tenantId: string, status: JobStatus) => `T#${tenantId}#${status}`;
export const dueShardOf = (jobId: string) => `DUE#${parseInt(jobId.slice(-2), 16) % DUE_SHARDS}`;

/** The indexes' keys of a new job record; `awaitsSweep` puts it in the `due` index. */
export function indexKeys(tenantId: string, jobId: string, createdAt: string, status: JobStatus, runAt: string, awaitsSweep: boolean) {
  return {
    gsi1pk: `T#${tenantId}`,
    gsi1sk: `${createdAt}#${jobId}`,
    gsi2pk: statusPartition(tenantId, status),
    gsi2sk: `${createdAt}#${jobId}`,
    ...(awaitsSweep ? { duePk: dueShardOf(jobId), dueSk: `${runAt}#${tenantId}#${jobId}` } : {}),
  };
}

/** What the API shows of a job (the result's URL is the caller's to add). */
export function toJob(item: JobItem, resultUrl: string | null = null): Job {
  return {
    jobId: item.jobId,
    type: item.type,
    status: item.status,
    priority: item.priority,
    groupKey: item.groupKey,
    runAt: item.runAt,
    attempts: item.attempts,
    maxAttempts: item.maxAttempts,
    backoff: item.backoff,
    timeoutSeconds: item.timeoutSeconds,
    progress: item.progress,
    createdAt: item.createdAt,
    startedAt: item.startedAt,
    finishedAt: item.finishedAt,
    nextAttemptAt: item.nextAttemptAt,
    lastError: item.lastError,
    result: item.result ?? null,
    resultUrl,
  };
}

/** Stores a new job; false when the id is taken (never, for random ids, but checked). */
export async function insertJob(item: JobItem): Promise<boolean> {
  try {
    await documentClient.send(new PutCommand({ TableName: jobsTable(), Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** Removes a job that never reached a queue. */
export async function deleteJob(tenantId: string, jobId: string): Promise<void> {
  await documentClient.send(new DeleteCommand({ TableName: jobsTable(), Key: jobKey(tenantId, jobId) }));
}

export async function readJob(tenantId: string, jobId: string): Promise<JobItem | undefined> {
  const answer = await documentClient.send(new GetCommand({ TableName: jobsTable(), Key: jobKey(tenantId, jobId), ConsistentRead: true }));
  return answer.Item as JobItem | undefined;
}

/**
 * Moves a job from one of `from` to `to`, setting more attributes in the same write, and keeps
 * the status index in step. Returns the job as it is after the write, or, when the condition
 * failed, undefined and the job as it was (undefined too if there is none).
 */
export async function transition(
  tenantId: string,
  jobId: string,
  change: {
    readonly from: readonly JobStatus[];
    readonly to: JobStatus;
    /** Also required: the job's run is this one (a worker's message of an earlier run changes nothing). */
    readonly run?: number;
    /**
     * Also allowed: a `running` job whose `leaseUntil` is before this instant (ISO), i.e. whose
     * worker died or timed out: its message came back after the visibility timeout.
     */
    readonly leaseExpiredBefore?: string;
    readonly set?: Readonly<Record<string, unknown>>;
    readonly add?: Readonly<Record<string, number>>;
    readonly remove?: readonly string[];
  },
): Promise<{ readonly after?: JobItem; readonly before?: JobItem }> {
  const names: Record<string, string> = { '#status': 'status', '#gsi2pk': 'gsi2pk' };
  const values: Record<string, unknown> = { ':to': change.to, ':gsi2pk': statusPartition(tenantId, change.to) };
  const sets = ['#status = :to', '#gsi2pk = :gsi2pk'];
  for (const [i, [name, value]] of Object.entries(change.set ?? {}).entries()) {
    names[`#s${i}`] = name;
    values[`:s${i}`] = value;
    sets.push(`#s${i} = :s${i}`);
  }
  const adds = Object.entries(change.add ?? {}).map(([name, value], i) => {
    names[`#a${i}`] = name;
    values[`:a${i}`] = value;
    return `#a${i} :a${i}`;
  });
  const removes = (change.remove ?? []).map((name, i) => {
    names[`#r${i}`] = name;
    return `#r${i}`;
  });
  const from = change.from.map((status, i) => {
    values[`:from${i}`] = status;
    return `:from${i}`;
  });
  let statusCondition = `#status IN (${from.join(', ')})`;
  if (change.leaseExpiredBefore !== undefined) {
    names['#lease'] = 'leaseUntil';
    values[':running'] = 'running';
    values[':leaseNow'] = change.leaseExpiredBefore;
    statusCondition = `(${statusCondition} OR (#status = :running AND #lease < :leaseNow))`;
  }
  const conditions = ['attribute_exists(pk)', statusCondition];
  if (change.run !== undefined) {
    names['#run'] = 'run';
    values[':run'] = change.run;
    conditions.push('#run = :run');
  }
  const update = [`SET ${sets.join(', ')}`, adds.length ? `ADD ${adds.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : ''].filter(Boolean).join(' ');
  try {
    const answer = await documentClient.send(
      new UpdateCommand({
        TableName: jobsTable(),
        Key: jobKey(tenantId, jobId),
        UpdateExpression: update,
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { after: answer.Attributes as JobItem };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return error.Item ? { before: unmarshallItem(error.Item) } : {};
    throw error;
  }
}

/** Records progress (0–100) of a running job; false when it is no longer running. */
export async function recordProgress(tenantId: string, jobId: string, run: number, percent: number): Promise<boolean> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: jobsTable(),
        Key: jobKey(tenantId, jobId),
        UpdateExpression: 'SET progress = :p',
        ConditionExpression: '#status = :running AND #run = :run',
        ExpressionAttributeNames: { '#status': 'status', '#run': 'run' },
        ExpressionAttributeValues: { ':p': Math.max(0, Math.min(100, Math.round(percent))), ':running': 'running', ':run': run },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

const CursorSchema = z.object({ pk: z.string(), sk: z.literal('job'), ik: z.string(), is: z.string() }).strict();

/**
 * A page of a tenant's jobs, newest first, of one status when given (its index) and one type
 * when given (a filter: a page may hold fewer than `limit` and still have more).
 * @throws ValidationError naming `query.cursor` for a cursor this listing did not give out
 */
export async function listJobs(
  tenantId: string,
  query: { readonly status?: JobStatus | undefined; readonly type?: string | undefined; readonly limit: number; readonly cursor?: string | undefined },
): Promise<{ items: JobItem[]; nextCursor: string | null }> {
  const [index, indexPk, pkAttr, skAttr] = query.status
    ? (['byStatus', statusPartition(tenantId, query.status), 'gsi2pk', 'gsi2sk'] as const)
    : (['byTenant', `T#${tenantId}`, 'gsi1pk', 'gsi1sk'] as const);
  let start: Record<string, string> | undefined;
  if (query.cursor !== undefined) {
    const parsed = CursorSchema.safeParse(decodeCursor(query.cursor));
    if (!parsed.success || parsed.data.ik !== indexPk || !parsed.data.pk.startsWith(`J#${tenantId}#`)) {
      throw new ValidationError([{ field: 'query.cursor', rule: 'is not a cursor this listing gave out' }]);
    }
    start = { pk: parsed.data.pk, sk: 'job', [pkAttr]: parsed.data.ik, [skAttr]: parsed.data.is };
  }
  const input: QueryCommandInput = {
    TableName: jobsTable(),
    IndexName: index,
    KeyConditionExpression: '#ik = :ik',
    ExpressionAttributeNames: { '#ik': pkAttr, ...(query.type ? { '#type': 'type' } : {}) },
    ExpressionAttributeValues: { ':ik': indexPk, ...(query.type ? { ':type': query.type } : {}) },
    ...(query.type ? { FilterExpression: '#type = :type' } : {}),
    ScanIndexForward: false,
    Limit: query.limit,
    ...(start ? { ExclusiveStartKey: start } : {}),
  };
  const page = await documentClient.send(new QueryCommand(input));
  const last = page.LastEvaluatedKey;
  return {
    items: (page.Items ?? []) as JobItem[],
    nextCursor: last ? encodeCursor({ pk: String(last['pk']), sk: 'job', ik: String(last[pkAttr]), is: String(last[skAttr]) }) : null,
  };
}

function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeCursor(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function unmarshallItem(item: Record<string, unknown>): JobItem {
  return unmarshall(item as Parameters<typeof unmarshall>[0]) as JobItem;
}
