import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { tokensAt } from './bucket';
import type { Policy } from './policy';
import { quotaPeriod } from './quota';
import { estimate, windowAt } from './sliding-window';
import type { BucketTable } from './token-bucket';

/** What a bucket holds now, read without taking anything. */
export interface BucketState {
  /** Whole tokens (or window requests) left. */
  readonly remaining: number;
  readonly limit: number;
  /** When the bucket is full again, epoch seconds; null for a quota that never resets. */
  readonly resetAt: number | null;
}

/** The item that holds a bucket's state at `now`: the key itself, or the quota's current period. */
function itemKeyOf(policy: Policy, key: string, now: number): string {
  if (policy.algorithm === 'token-bucket' && policy.refillPerSecond === 0) return quotaPeriod(key, policy, now).itemKey;
  return key;
}

/**
 * Reads one bucket (one shard) with a strongly consistent GetItem: a read for people and
 * dashboards, never part of a decision (those are conditional writes only). Expiry is checked
 * here as in the writes: an item TTL has not deleted yet still reads as full.
 */
export async function readBucket(table: BucketTable, policy: Policy, key: string, now: number, signal?: AbortSignal): Promise<BucketState> {
  const answer = await table.client.send(
    new GetCommand({ TableName: table.tableName, Key: { pk: itemKeyOf(policy, key, now) }, ConsistentRead: true }),
    { abortSignal: signal },
  );
  const item = answer.Item;
  if (policy.algorithm === 'sliding-window') {
    const spec = { limit: policy.limit, windowSeconds: policy.windowSeconds };
    const { window, elapsed, startsAt } = windowAt(spec, now);
    const length = spec.windowSeconds * 1000;
    const w = item?.['w'] as number | undefined;
    const state =
      w === window
        ? { window, current: Number(item?.['c'] ?? 0), previous: Number(item?.['p'] ?? 0) }
        : w === window - 1
          ? { window, current: 0, previous: Number(item?.['c'] ?? 0) }
          : { window, current: 0, previous: 0 };
    const count = estimate(state, elapsed);
    const resetAt = count > 0 ? Math.ceil((startsAt + (state.current > 0 ? 2 : 1) * length) / 1000) : Math.ceil(now / 1000);
    return { remaining: Math.max(0, Math.floor(spec.limit - count + 1e-9)), limit: spec.limit, resetAt };
  }
  if (policy.refillPerSecond === 0) {
    const { endsAt } = quotaPeriod(key, policy, now);
    return { remaining: Math.max(0, policy.capacity - Number(item?.['used'] ?? 0)), limit: policy.capacity, resetAt: endsAt };
  }
  const tat = item?.['tat'] as number | undefined;
  return {
    remaining: Math.floor(tokensAt(policy, tat, now) + 1e-9),
    limit: policy.capacity,
    resetAt: Math.ceil(Math.max(tat ?? now, now) / 1000),
  };
}

/**
 * Empties a bucket's history (one shard): the next request finds it full. A quota loses only its
 * current period's count; earlier periods mean nothing already.
 */
export async function resetBucket(table: BucketTable, policy: Policy, key: string, now: number, signal?: AbortSignal): Promise<void> {
  await table.client.send(new DeleteCommand({ TableName: table.tableName, Key: { pk: itemKeyOf(policy, key, now) } }), { abortSignal: signal });
}
