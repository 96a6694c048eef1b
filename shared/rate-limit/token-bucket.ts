import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { admitted, attemptBounds, refused, type BucketSpec, type RateLimitDecision } from './bucket';
import { conditionalUpdate } from './conditional-update';
import { consumeQuota } from './quota';

/** Where buckets live: a table keyed by `pk` (string), with TTL on `expiresAt`. */
export interface BucketTable {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

export interface ConsumeRequest {
  /** The bucket's key, already scoped (tenant, policy, subject). */
  readonly key: string;
  readonly spec: BucketSpec;
  /** Tokens this request takes: a positive integer, at most the capacity. */
  readonly cost: number;
  /** The caller's clock, epoch ms. */
  readonly now: number;
  /**
   * What the caller last saw of this bucket: `busy` (its `tat` ahead of now) or `idle` (full).
   * It only picks which write goes first; a wrong guess costs one more write, never a wrong decision.
   * @default 'idle'
   */
  readonly hint?: 'idle' | 'busy';
  /** Aborts the DynamoDB call: the limiter's time budget. */
  readonly signal?: AbortSignal;
}

export interface ConsumeResult {
  readonly decision: RateLimitDecision;
  /** The bucket's `tat` after the decision, for the caller's next hint and pre-block (0 for a quota). */
  readonly tat: number;
  /** DynamoDB writes the decision took: 1 when the hint was right. */
  readonly calls: number;
}

/** Seconds an item outlives the moment its bucket is full again; after that it means nothing. */
const EXPIRY_SLACK_SECONDS = 60;

/**
 * Takes `cost` tokens from a token bucket in DynamoDB, atomically across every caller, with
 * conditional writes only, never read-then-write; a bucket that does not refill is a quota
 * (`consumeQuota`, one write). A refilling bucket has two writes, because DynamoDB update
 * expressions have no `max`:
 * - busy: `SET tat = tat + cost*interval` if `now <= tat <= limitTat`;
 * - idle: `SET tat = now + cost*interval` if the bucket is new or `tat < now` (full).
 * The hint picks the first. A failed condition returns the item (`ALL_OLD`), which says
 * exactly what to do next: refuse (`tat > limitTat`, no further write) or take the other write.
 * Concurrent callers are serialized by DynamoDB on the item, and every write re-checks its
 * condition against the latest `tat`, so no two callers can spend the same token.
 */
export async function consumeTokens(table: BucketTable, request: ConsumeRequest): Promise<ConsumeResult> {
  const { spec, cost, now } = request;
  if (spec.refillPerSecond === 0) return consumeQuota(table, request);
  const bounds = attemptBounds(spec, cost, now);
  const expiresAt = (tat: number) => Math.ceil(tat / 1000 + spec.capacity / spec.refillPerSecond) + EXPIRY_SLACK_SECONDS;
  let next: 'idle' | 'busy' = request.hint ?? 'idle';
  // idle -> busy -> idle can happen once when another caller fills the gap between our writes.
  for (let calls = 1; calls <= 3; calls++) {
    const outcome =
      next === 'idle'
        ? await conditionalUpdate(
            table,
            request.key,
            {
              update: 'SET tat = :idleTat, expiresAt = :expiresAt',
              condition: 'attribute_not_exists(tat) OR tat < :now',
              values: { ':idleTat': bounds.idleTat, ':now': now, ':expiresAt': expiresAt(bounds.idleTat) },
            },
            request.signal,
          )
        : await conditionalUpdate(
            table,
            request.key,
            {
              update: 'SET tat = tat + :costMs, expiresAt = :expiresAt',
              condition: 'tat BETWEEN :now AND :limitTat',
              values: { ':costMs': bounds.costMs, ':now': now, ':limitTat': bounds.limitTat, ':expiresAt': expiresAt(bounds.limitTat + bounds.costMs) },
            },
            request.signal,
          );
    if (outcome.written) {
      const tat = Number(outcome.attributes['tat']);
      return { decision: admitted(spec, tat, now), tat, calls };
    }
    const tat = outcome.item?.['tat'] as number | undefined;
    // Expiry is checked here, not left to TTL (which may lag by days): a past `tat` is a full bucket.
    if (tat === undefined || tat < now) next = 'idle';
    else if (tat > bounds.limitTat) return { decision: refused(spec, tat, cost, now), tat, calls };
    else next = 'busy';
  }
  throw new Error(`rate limit bucket ${request.key} kept changing under three consecutive writes`);
}
