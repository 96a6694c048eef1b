import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { documentClient } from '#shared/clients/dynamodb';
import { batchDeleteAll } from '#shared/clients/dynamodb-batch';
import type { Link } from '#shared/contracts/shortener';
import { csv, readEnv } from '#shared/env';
import { NotFoundError, ValidationError } from '#shared/errors';

/**
 * The shortener's storage: one DynamoDB partition per code (see lib/shortener/storage.ts), the
 * link item at `sk = link`, its click counters and click markers beside it.
 */

export interface ShortenerEnv {
  readonly tableName: string;
  /** Short links are built on it; undefined: the API's own URL, from the request. */
  readonly baseUrl: string | undefined;
  readonly denyDomains: readonly string[];
  readonly cacheTtlSeconds: number;
  readonly negativeCacheTtlSeconds: number;
  readonly permanentRedirectMaxAgeSeconds: number;
  /** Whether the redirect writes click lines. */
  readonly clickAnalytics: boolean;
}

let env: ShortenerEnv | undefined;

/** The settings the platform gives every shortener function, read once per container. */
export function shortenerEnv(source: NodeJS.ProcessEnv = process.env): ShortenerEnv {
  if (env && source === process.env) return env;
  const read = readEnv(
    {
      LINKS_TABLE_NAME: z.string().min(1),
      SHORT_BASE_URL: z.url().optional(),
      LINK_DENY_DOMAINS: csv.default([]),
      LINK_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).default(10),
      LINK_NEGATIVE_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).default(5),
      PERMANENT_REDIRECT_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(86_400),
      CLICK_ANALYTICS: z.enum(['on', 'off']).default('on'),
    },
    source,
  );
  const parsed: ShortenerEnv = {
    tableName: read.LINKS_TABLE_NAME,
    baseUrl: read.SHORT_BASE_URL?.replace(/\/+$/, ''),
    denyDomains: read.LINK_DENY_DOMAINS,
    cacheTtlSeconds: read.LINK_CACHE_TTL_SECONDS,
    negativeCacheTtlSeconds: read.LINK_NEGATIVE_CACHE_TTL_SECONDS,
    permanentRedirectMaxAgeSeconds: read.PERMANENT_REDIRECT_MAX_AGE_SECONDS,
    clickAnalytics: read.CLICK_ANALYTICS === 'on',
  };
  if (source === process.env) env = parsed;
  return parsed;
}

/** A link as stored. */
export interface LinkItem {
  readonly pk: string;
  readonly sk: 'link';
  readonly code: string;
  readonly tenantId: string;
  readonly url: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly expiresAt?: string;
  readonly maxClicks?: number;
  /** Redirects counted against `maxClicks`, by one conditional write each. */
  readonly clicksUsed?: number;
  readonly redirectType: 301 | 302 | 307;
  readonly tags: readonly string[];
  readonly disabled: boolean;
  /**
   * Set when the link was deleted. The item stays as a tombstone, out of the tenant's list, so
   * that the code is never given out again: a printed or shared short link must never start
   * pointing somewhere its creator did not choose.
   */
  readonly deletedAt?: string;
  readonly gsi1pk?: string;
  readonly gsi1sk?: string;
}

export const partitionOf = (code: string) => `L#${code}`;
export const linkKey = (code: string) => ({ pk: partitionOf(code), sk: 'link' as const });
export const tenantPartition = (tenantId: string) => `T#${tenantId}`;

/** What a redirect of this link does now. */
export type LinkState = 'active' | 'expired' | 'disabled' | 'exhausted' | 'deleted';

export function linkState(item: LinkItem, now: number): LinkState {
  if (item.deletedAt) return 'deleted';
  if (item.disabled) return 'disabled';
  if (item.expiresAt && Date.parse(item.expiresAt) <= now) return 'expired';
  if (item.maxClicks !== undefined && (item.clicksUsed ?? 0) >= item.maxClicks) return 'exhausted';
  return 'active';
}

/** The link as clients see it. */
export function toLink(item: LinkItem, baseUrl: string): Link {
  return {
    code: item.code,
    shortUrl: `${baseUrl}/${item.code}`,
    url: item.url,
    createdAt: item.createdAt,
    expiresAt: item.expiresAt ?? null,
    maxClicks: item.maxClicks ?? null,
    clicksUsed: item.maxClicks === undefined ? null : (item.clicksUsed ?? 0),
    redirectType: item.redirectType,
    tags: [...item.tags],
    disabled: item.disabled,
  };
}

/** Writes a new link; false when its code exists already (taken, or retired by a deletion). */
export async function insertLink(item: LinkItem, tableName = shortenerEnv().tableName): Promise<boolean> {
  try {
    await documentClient.send(new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** The link item of a code, tombstones included; undefined when the code was never used. */
export async function readLink(code: string, options: { consistent?: boolean; tableName?: string } = {}): Promise<LinkItem | undefined> {
  const answer = await documentClient.send(
    new GetCommand({ TableName: options.tableName ?? shortenerEnv().tableName, Key: linkKey(code), ConsistentRead: options.consistent ?? false }),
  );
  return answer.Item as LinkItem | undefined;
}

/**
 * A tenant's live link. Another tenant's link, a deleted one and an unknown code all read the
 * same: 404, so codes leak nothing across tenants.
 * @throws NotFoundError
 */
export async function tenantLink(code: string, tenantId: string): Promise<LinkItem> {
  const item = await readLink(code, { consistent: true });
  if (!item || item.tenantId !== tenantId || item.deletedAt) throw new NotFoundError(`no link ${code}`);
  return item;
}

export interface LinkChanges {
  readonly disabled?: boolean;
  /** null removes the expiry. */
  readonly expiresAt?: string | null;
  /** null removes the limit (and its count). */
  readonly maxClicks?: number | null;
}

/**
 * Changes a tenant's live link in one conditional write.
 * @throws NotFoundError when it is not theirs, deleted or unknown
 */
export async function updateLink(code: string, tenantId: string, changes: LinkChanges): Promise<LinkItem> {
  const sets: string[] = [];
  const removes: string[] = [];
  const values: Record<string, unknown> = { ':tenant': tenantId };
  if (changes.disabled !== undefined) {
    sets.push('disabled = :disabled');
    values[':disabled'] = changes.disabled;
  }
  if (changes.expiresAt === null) removes.push('expiresAt');
  else if (changes.expiresAt !== undefined) {
    sets.push('expiresAt = :expiresAt');
    values[':expiresAt'] = changes.expiresAt;
  }
  if (changes.maxClicks === null) removes.push('maxClicks', 'clicksUsed');
  else if (changes.maxClicks !== undefined) {
    // A new limit counts from what was used already: raising it reopens an exhausted link.
    sets.push('maxClicks = :maxClicks', 'clicksUsed = if_not_exists(clicksUsed, :zero)');
    values[':maxClicks'] = changes.maxClicks;
    values[':zero'] = 0;
  }
  const update = [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : ''].filter(Boolean).join(' ');
  try {
    const answer = await documentClient.send(
      new UpdateCommand({
        TableName: shortenerEnv().tableName,
        Key: linkKey(code),
        UpdateExpression: update,
        ConditionExpression: 'tenantId = :tenant AND attribute_not_exists(deletedAt)',
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return answer.Attributes as LinkItem;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new NotFoundError(`no link ${code}`);
    throw error;
  }
}

/**
 * Deletes a tenant's link: a tombstone first (the redirect stops, the list forgets it, the code
 * is retired), then its counters and click markers, best effort: what a crash leaves behind is
 * unreachable, since the code is never reused.
 * @throws NotFoundError when it is not theirs, deleted already or unknown
 */
export async function deleteLink(code: string, tenantId: string, now: Date): Promise<void> {
  const { tableName } = shortenerEnv();
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName,
        Key: linkKey(code),
        UpdateExpression: 'SET deletedAt = :now REMOVE gsi1pk, gsi1sk, #url',
        ConditionExpression: 'tenantId = :tenant AND attribute_not_exists(deletedAt)',
        ExpressionAttributeNames: { '#url': 'url' },
        ExpressionAttributeValues: { ':tenant': tenantId, ':now': now.toISOString() },
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new NotFoundError(`no link ${code}`);
    throw error;
  }
  // The whole partition but the tombstone: click markers (`click#`) sort before `link`, counters (`stat#`) after.
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': partitionOf(code) },
        ProjectionExpression: 'pk, sk',
        ExclusiveStartKey: cursor,
      }),
    );
    await batchDeleteAll(tableName, ((page.Items ?? []) as { pk: string; sk: string }[]).filter((key) => key.sk !== 'link'));
    cursor = page.LastEvaluatedKey;
  } while (cursor);
}


const CursorSchema = z.object({ pk: z.string(), sk: z.literal('link'), gsi1pk: z.string(), gsi1sk: z.string() }).strict();

/**
 * A page of a tenant's links, newest first. The cursor is the index position, base64url JSON;
 * one that names another tenant's partition, or is not ours at all, is refused.
 * @throws ValidationError naming `query.cursor`
 */
export async function listLinks(tenantId: string, limit: number, cursor: string | undefined): Promise<{ items: LinkItem[]; nextCursor: string | null }> {
  let start: z.infer<typeof CursorSchema> | undefined;
  if (cursor !== undefined) {
    const parsed = CursorSchema.safeParse(decodeCursor(cursor));
    if (!parsed.success || parsed.data.gsi1pk !== tenantPartition(tenantId)) {
      throw new ValidationError([{ field: 'query.cursor', rule: 'is not a cursor this endpoint gave out' }]);
    }
    start = parsed.data;
  }
  const answer = await documentClient.send(
    new QueryCommand({
      TableName: shortenerEnv().tableName,
      IndexName: 'byTenant',
      KeyConditionExpression: 'gsi1pk = :tenant',
      ExpressionAttributeValues: { ':tenant': tenantPartition(tenantId) },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  const next = answer.LastEvaluatedKey;
  return {
    items: (answer.Items ?? []) as LinkItem[],
    nextCursor: next ? Buffer.from(JSON.stringify(next)).toString('base64url') : null,
  };
}

function decodeCursor(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Counts one redirect of a link with a click limit, in one conditional write: true when it was
 * within the limit. Exact across every instance, which is why such links always cost a write.
 */
export async function takeClick(code: string): Promise<boolean> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: shortenerEnv().tableName,
        Key: linkKey(code),
        UpdateExpression: 'ADD clicksUsed :one',
        ConditionExpression: 'clicksUsed < maxClicks AND attribute_not_exists(deletedAt) AND disabled = :false',
        ExpressionAttributeValues: { ':one': 1, ':false': false },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
