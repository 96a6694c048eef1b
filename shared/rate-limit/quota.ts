import type { BucketSpec, RateLimitDecision } from './bucket';
import { conditionalUpdate } from './conditional-update';
import type { BucketTable, ConsumeRequest, ConsumeResult } from './token-bucket';

const EXPIRY_SLACK_SECONDS = 60;

/**
 * The period a quota counts in at `now`: its item key and its end, epoch seconds. Periods are
 * aligned to the epoch, so a daily quota starts again at midnight UTC, for everyone at once.
 */
export function quotaPeriod(key: string, spec: BucketSpec, now: number): { itemKey: string; endsAt: number | null } {
  if (!spec.periodSeconds) return { itemKey: key, endsAt: null };
  const index = Math.floor(now / 1000 / spec.periodSeconds);
  return { itemKey: `${key}#p${index}`, endsAt: (index + 1) * spec.periodSeconds };
}

/**
 * Takes `cost` from a quota: a bucket that does not refill (`refillPerSecond: 0`), optionally
 * starting again every `periodSeconds`. One conditional write, always: the count only grows
 * within a period, and a new period is a new item, so there is no state to reset and no race.
 */
export async function consumeQuota(table: BucketTable, request: ConsumeRequest): Promise<ConsumeResult> {
  const { spec, cost, now } = request;
  const { itemKey, endsAt } = quotaPeriod(request.key, spec, now);
  const decision = (allowed: boolean, used: number): RateLimitDecision => ({
    allowed,
    remaining: Math.max(0, spec.capacity - used),
    limit: spec.capacity,
    resetAt: endsAt,
    retryAfterSeconds: allowed ? 0 : endsAt === null ? null : Math.max(1, Math.ceil(endsAt - now / 1000)),
  });
  const outcome = await conditionalUpdate(
    table,
    itemKey,
    {
      update: 'SET used = if_not_exists(used, :zero) + :cost' + (endsAt === null ? '' : ', expiresAt = :expiresAt'),
      condition: 'attribute_not_exists(used) OR used <= :maxUsed',
      values: {
        ':zero': 0,
        ':cost': cost,
        ':maxUsed': spec.capacity - cost,
        ...(endsAt === null ? {} : { ':expiresAt': endsAt + EXPIRY_SLACK_SECONDS }),
      },
    },
    request.signal,
  );
  if (outcome.written) return { decision: decision(true, Number(outcome.attributes['used'])), tat: 0, calls: 1 };
  return { decision: decision(false, Number(outcome.item?.['used'] ?? spec.capacity)), tat: 0, calls: 1 };
}
