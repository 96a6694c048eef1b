import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '#shared/clients/dynamodb';
import type { z } from 'zod';
import type { LinkStatsSchema } from '#shared/contracts/shortener';
import type { ClickEvent } from '#shared/contracts/shortener-events';
import { linkKey, partitionOf, shortenerEnv } from './links';

/** How long a click marker outlives its click: longer than any redelivery (async retries end within 6 h). */
const MARKER_TTL_SECONDS = 7 * 24 * 60 * 60;

/** Entries per breakdown in a stats answer: the busiest, so a link with many referrers stays one small response. */
export const TOP_ENTRIES = 50;

export type ClickOutcome = 'counted' | 'duplicate' | 'link-gone';

/** The counters one click adds to: the total, its day, referrer host, country and agent class. */
export function counterKeys(click: ClickEvent): string[] {
  return [
    'stat#total',
    `stat#day#${click.at.slice(0, 10)}`,
    `stat#referrer#${click.referrerHost ?? '(direct)'}`,
    `stat#country#${click.country ?? '(unknown)'}`,
    `stat#agent#${click.agent}`,
  ];
}

/**
 * Counts one click, exactly once, in one transaction: the link must still be the one clicked
 * (same tenant, same creation, not deleted), a marker for the click id must not exist yet, and
 * every counter is incremented: human clicks and bot clicks apart. A duplicate (the marker exists)
 * and a click for a link deleted since are answered, not thrown: retrying would not change them.
 */
export async function recordClick(click: ClickEvent, now = Date.now()): Promise<ClickOutcome> {
  const { tableName } = shortenerEnv();
  const pk = partitionOf(click.code);
  const human = click.bot ? 0 : 1;
  try {
    await documentClient.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: tableName,
              Key: linkKey(click.code),
              ConditionExpression: 'tenantId = :tenant AND createdAt = :created AND attribute_not_exists(deletedAt)',
              ExpressionAttributeValues: { ':tenant': click.tenantId, ':created': click.linkCreatedAt },
            },
          },
          {
            Put: {
              TableName: tableName,
              Item: { pk, sk: `click#${click.id}`, at: click.at, ttl: Math.floor(now / 1000) + MARKER_TTL_SECONDS },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          ...counterKeys(click).map((sk) => ({
            Update: {
              TableName: tableName,
              Key: { pk, sk },
              UpdateExpression: 'ADD clicks :human, bots :bot',
              ExpressionAttributeValues: { ':human': human, ':bot': 1 - human },
            },
          })),
        ],
      }),
    );
    return 'counted';
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const reasons = error.CancellationReasons ?? [];
    if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'link-gone';
    if (reasons[1]?.Code === 'ConditionalCheckFailed') return 'duplicate';
    throw error;
  }
}

type LinkStats = z.infer<typeof LinkStatsSchema>;
interface Count {
  clicks: number;
  bots: number;
}

/** A link's counters, read in one query (paged), shaped for clients: days in order, the rest busiest first. */
export async function readStats(code: string): Promise<LinkStats> {
  const { tableName } = shortenerEnv();
  const rows: { sk: string; clicks?: number; bots?: number }[] = [];
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :stat)',
        ExpressionAttributeValues: { ':pk': partitionOf(code), ':stat': 'stat#' },
        ExclusiveStartKey: cursor,
      }),
    );
    rows.push(...((page.Items ?? []) as typeof rows));
    cursor = page.LastEvaluatedKey;
  } while (cursor);

  const count = (row: (typeof rows)[number]): Count => ({ clicks: row.clicks ?? 0, bots: row.bots ?? 0 });
  const breakdown = <K extends string>(kind: string, name: K) =>
    rows
      .filter((row) => row.sk.startsWith(`stat#${kind}#`))
      .map((row) => ({ [name]: row.sk.slice(`stat#${kind}#`.length), ...count(row) }) as Record<K, string> & Count);
  const busiest = <T extends Count>(entries: T[]) => entries.sort((a, b) => b.clicks + b.bots - (a.clicks + a.bots)).slice(0, TOP_ENTRIES);
  const total = rows.find((row) => row.sk === 'stat#total');
  return {
    code,
    total: total ? count(total) : { clicks: 0, bots: 0 },
    byDay: breakdown('day', 'day').sort((a, b) => a.day.localeCompare(b.day)),
    byReferrer: busiest(breakdown('referrer', 'referrer')),
    byCountry: busiest(breakdown('country', 'country')),
    byAgent: busiest(breakdown('agent', 'agent')),
  };
}
