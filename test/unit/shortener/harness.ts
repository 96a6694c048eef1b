import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, CloudWatchLogsEvent, Context } from 'aws-lambda';
import { expect, vi } from 'vitest';
import { ClickEventSchema, CLICK_TYPE, type ClickEvent } from '#shared/contracts/shortener-events';
import type { LogsHandler } from '#shared/consumer/logs';
import { bodyOf, problemOf, restApiEvent } from '../../support/api-gateway';
import { useLocalTable, type LocalTable } from '../../support/dynamodb';
import { lambdaContext } from '../../support/lambda-context';

/**
 * What the shortener's handler tests share: the table as lib/shortener/storage.ts declares it
 * (plus the platform's idempotency table) on DynamoDB Local, the handlers loaded as one function
 * instance sees them, and API Gateway and CloudWatch Logs events.
 */

export const LINKS_TABLE = 'links';
export const IDEMPOTENCY_TABLE = 'idempotency';
/** The API's own host, as API Gateway puts it in `requestContext.domainName`. */
export const API_DOMAIN = 'abc123.execute-api.us-east-1.amazonaws.com';
export const STAGE = 'dev';
/** The tests' clock: on a whole hour, a Monday. */
export const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

export const context: Context = lambdaContext('switchyard-shortener');

/** The shortener table (`pk` + `sk`, index `byTenant`) and the idempotency table (`id`), on one DynamoDB Local. */
export function useShortenerTables(): LocalTable {
  return useLocalTable(LINKS_TABLE, {
    sortKey: 'sk',
    indexes: [{ indexName: 'byTenant', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
    moreTables: [{ tableName: IDEMPOTENCY_TABLE, partitionKey: 'id' }],
  });
}

export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface Shortener {
  readonly create: ApiHandler;
  readonly list: ApiHandler;
  readonly get: ApiHandler;
  readonly update: ApiHandler;
  readonly remove: ApiHandler;
  readonly stats: ApiHandler;
  readonly follow: ApiHandler;
  readonly recordClicks: LogsHandler;
  /** The repository, from the same module graph as the handlers. */
  readonly links: typeof import('../../../functions/shortener/links');
  readonly clickStats: typeof import('../../../functions/shortener/stats');
  /** The client every handler of this instance sends through: spy on `send` to count calls. */
  readonly documentClient: DynamoDBDocumentClient;
}

/**
 * The handlers as one function instance (a fresh module graph) sees them: the modules read the
 * environment, build their clients and their redirect cache once, so the environment is set
 * first. Rate limits are off (no `RATE_LIMIT_TABLE_NAME`).
 */
export async function loadShortener(table: LocalTable, env: Record<string, string | undefined> = {}): Promise<Shortener> {
  vi.resetModules();
  const settings: Record<string, string | undefined> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    POWERTOOLS_SERVICE_NAME: 'shortener-test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    RATE_LIMIT_TABLE_NAME: undefined,
    LINKS_TABLE_NAME: table.tableName,
    IDEMPOTENCY_TABLE_NAME: IDEMPOTENCY_TABLE,
    SHORT_BASE_URL: undefined,
    LINK_DENY_DOMAINS: undefined,
    LINK_CACHE_TTL_SECONDS: undefined,
    LINK_NEGATIVE_CACHE_TTL_SECONDS: undefined,
    PERMANENT_REDIRECT_MAX_AGE_SECONDS: undefined,
    ...env,
  };
  for (const [name, value] of Object.entries(settings)) vi.stubEnv(name, value);
  const [create, list, get, update, remove, stats, follow, recordClicks, links, clickStats, clients] = await Promise.all([
    import('../../../functions/shortener/create-link'),
    import('../../../functions/shortener/list-links'),
    import('../../../functions/shortener/get-link'),
    import('../../../functions/shortener/update-link'),
    import('../../../functions/shortener/delete-link'),
    import('../../../functions/shortener/get-link-stats'),
    import('../../../functions/shortener/follow-link'),
    import('../../../functions/shortener/record-clicks'),
    import('../../../functions/shortener/links'),
    import('../../../functions/shortener/stats'),
    import('#shared/clients/dynamodb'),
  ]);
  return {
    create: create.handler as ApiHandler,
    list: list.handler as ApiHandler,
    get: get.handler as ApiHandler,
    update: update.handler as ApiHandler,
    remove: remove.handler as ApiHandler,
    stats: stats.handler as ApiHandler,
    follow: follow.handler as ApiHandler,
    recordClicks: recordClicks.handler,
    links,
    clickStats,
    documentClient: clients.documentClient,
  };
}

let tenants = 0;
/** A tenant of the test's own, so that links and lists never carry over between tests. */
export const newTenant = (): string => `tenant-${++tenants}-${randomUUID().slice(0, 8)}`;

export interface Caller {
  readonly tenantId: string;
  readonly userId?: string;
  /** Space-separated, as the authorizer context carries them. */
  readonly scopes?: string;
}

interface EventParts {
  readonly caller?: Caller;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
}

/** An API Gateway REST (v1, proxy) event as the platform's API hands it to a function; with the caller's authorizer context when there is one. */
export function apiEvent(method: string, resource: string, path: string, { caller, ...parts }: EventParts = {}): APIGatewayProxyEvent {
  const authorizer = caller
    ? { principalId: caller.userId ?? 'alice', userId: caller.userId ?? 'alice', tenantId: caller.tenantId, scopes: caller.scopes ?? 'links:read links:write' }
    : undefined;
  return restApiEvent(method, resource, path, { ...parts, ...(authorizer ? { authorizer } : {}), domainName: API_DOMAIN, stage: STAGE });
}

/** POST /v1/links. */
export const createEvent = (caller: Caller, body: unknown, headers: Record<string, string> = {}) => apiEvent('POST', '/v1/links', '/v1/links', { caller, body, headers });

/** GET /v1/links?query. */
export const listEvent = (caller: Caller, query?: Record<string, string>) => apiEvent('GET', '/v1/links', '/v1/links', { caller, ...(query ? { query } : {}) });

/** GET, PATCH or DELETE /v1/links/{code}. */
export const linkEvent = (method: 'GET' | 'PATCH' | 'DELETE', caller: Caller, code: string, body?: unknown) =>
  apiEvent(method, '/v1/links/{code}', `/v1/links/${code}`, { caller, body, pathParameters: { code } });

/** GET /v1/links/{code}/stats. */
export const statsEvent = (caller: Caller, code: string) =>
  apiEvent('GET', '/v1/links/{code}/stats', `/v1/links/${code}/stats`, { caller, pathParameters: { code } });

/** GET /{code}: public, no authorizer. */
export const redirectEvent = (code: string, headers: Record<string, string> = {}) => apiEvent('GET', '/{code}', `/${code}`, { pathParameters: { code }, headers });

export { bodyOf, problemOf };

/** The fields a 400 names. */
export function violatedFields(result: APIGatewayProxyResult): string[] {
  const problem = problemOf(result, 400);
  return ((problem['errors'] ?? []) as { field: string }[]).map((violation) => violation.field);
}

/** Creates a link and returns its body, failing the test unless it was created. */
export async function createLink(shortener: Shortener, caller: Caller, body: Record<string, unknown>): Promise<{ code: string; createdAt: string } & Record<string, unknown>> {
  const result = await shortener.create(createEvent(caller, body), context);
  expect(result.statusCode, result.body).toBe(201);
  return bodyOf(result);
}

/** Every item in a link's partition (the link, its counters, its click markers), by sort key. */
export async function partitionItems(table: LocalTable, code: string): Promise<Record<string, unknown>[]> {
  const answer = await table.client.send(
    new QueryCommand({ TableName: table.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `L#${code}` }, ConsistentRead: true }),
  );
  return answer.Items ?? [];
}

/** The names of the commands a spied `send` was given, in order (`GetCommand`, `UpdateCommand`, ...). */
export function commandNames(send: { mock: { calls: unknown[][] } }): string[] {
  return send.mock.calls.map(([command]) => (command as object).constructor.name);
}

/**
 * Captures what the redirect writes on stdout, where the click lines go. Other writes are kept
 * out of the test's output; the spy is restored after the test (`restoreMocks`).
 */
export function captureStdout(): { readonly lines: () => string[]; readonly clicks: () => ClickEvent[] } {
  const written: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  const lines = () => written.join('').split('\n').filter(Boolean);
  return {
    lines,
    clicks: () =>
      lines()
        .filter((line) => line.includes(CLICK_TYPE))
        .map((line) => ClickEventSchema.parse(JSON.parse(line))),
  };
}

/** A click line as the redirect writes it, for a link; `overrides` change any field. */
export function clickOf(link: { code: string; createdAt: string }, tenantId: string, overrides: Partial<ClickEvent> = {}): ClickEvent {
  return {
    _type: CLICK_TYPE,
    id: randomUUID(),
    code: link.code,
    tenantId,
    linkCreatedAt: link.createdAt,
    at: new Date(T0).toISOString(),
    referrerHost: null,
    country: null,
    agent: 'desktop',
    bot: false,
    ...overrides,
  };
}

let logEventIds = 0;

/**
 * A CloudWatch Logs subscription delivery, as Lambda receives it: `awslogs.data` is base64 of
 * gzipped JSON. Each line (a string as written, or an object as its JSON) gets a new log event id.
 */
export function logsDelivery(lines: readonly (string | object)[], messageType: 'DATA_MESSAGE' | 'CONTROL_MESSAGE' = 'DATA_MESSAGE'): CloudWatchLogsEvent {
  const control = messageType === 'CONTROL_MESSAGE';
  const data = {
    messageType,
    owner: control ? 'CloudwatchLogs' : '123456789012',
    logGroup: control ? '' : '/aws/lambda/switchyard-dev-FollowLink',
    logStream: control ? '' : '2026/11/23/[$LATEST]0123456789abcdef',
    subscriptionFilters: control ? [] : ['switchyard-dev-Clicks'],
    logEvents: lines.map((line) => ({
      id: String(++logEventIds).padStart(56, '3'),
      timestamp: T0,
      message: typeof line === 'string' ? line : JSON.stringify(line),
    })),
  };
  return { awslogs: { data: gzipSync(Buffer.from(JSON.stringify(data))).toString('base64') } };
}
