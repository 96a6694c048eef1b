import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { redirectRoute } from '#shared/contracts/shortener';
import { GoneError, NotFoundError } from '#shared/errors';
import { httpHandler } from '#shared/http/handler';
import { metrics } from '#shared/powertools';
import { LinkCache } from './cache';
import { clickFacts } from './click';
import { emitClick } from './click-event';
import { linkState, readLink, shortenerEnv, takeClick, type LinkItem } from './links';

let cache: LinkCache | undefined;

/** The link of a code: from this instance's cache, else one GetItem, remembered either way. */
async function lookup(code: string): Promise<LinkItem | undefined> {
  const env = shortenerEnv();
  cache ??= new LinkCache(env.cacheTtlSeconds * 1000, env.negativeCacheTtlSeconds * 1000);
  const cached = cache.get(code);
  metrics.addMetric(cached.hit ? 'LinkCacheHit' : 'LinkCacheMiss', MetricUnit.Count, 1);
  if (cached.hit) return cached.item;
  const item = await readLink(code);
  cache.set(code, item);
  return item;
}

const GONE: Record<string, string> = {
  expired: 'this link has expired',
  disabled: 'this link was disabled by its owner',
  exhausted: 'this link has reached its click limit',
};

/**
 * How long a browser may keep the redirect. A 301 is meant to be kept (that is its point, and
 * its cost: repeat clicks never reach us), but never past the link's expiry, and not at all when
 * every click must be counted against a limit; 302 and 307 are not kept.
 */
function cacheControl(item: LinkItem, now: number, permanentMaxAge: number): string {
  if (item.redirectType !== 301 || item.maxClicks !== undefined) return 'private, max-age=0';
  const untilExpiry = item.expiresAt ? Math.floor((Date.parse(item.expiresAt) - now) / 1000) : permanentMaxAge;
  return `public, max-age=${Math.max(0, Math.min(permanentMaxAge, untilExpiry))}`;
}

/**
 * GET /{code}: the redirect. Public and hot: a cache hit costs no DynamoDB call for the link, a
 * miss one GetItem; a link with a click limit also takes one conditional write, since its count
 * must be exact. The click leaves as a log line (see click-event.ts), never waited on.
 */
export const handler = httpHandler(redirectRoute, async ({ params, headers, correlationId }) => {
  const now = Date.now();
  const item = await lookup(params.code);
  const state = item ? linkState(item, now) : 'deleted';
  if (!item || state === 'deleted') throw new NotFoundError(`no link ${params.code}`);
  if (state !== 'active') throw new GoneError(GONE[state]!);
  if (item.maxClicks !== undefined && !(await takeClick(item.code))) throw new GoneError(GONE['exhausted']!);

  if (shortenerEnv().clickAnalytics) emitClick({
    _type: 'switchyard.click',
    id: randomUUID(),
    code: item.code,
    tenantId: item.tenantId,
    linkCreatedAt: item.createdAt,
    at: new Date(now).toISOString(),
    ...clickFacts(headers),
    correlationId,
  });
  return {
    status: item.redirectType,
    headers: { location: item.url, 'cache-control': cacheControl(item, now, shortenerEnv().permanentRedirectMaxAgeSeconds) },
  };
});
