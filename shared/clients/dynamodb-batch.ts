import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetCommand, BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from './dynamodb';

/** Keys one BatchGetItem may hold; requests one BatchWriteItem may hold. */
const MAX_GET_KEYS = 100;
const MAX_WRITE_REQUESTS = 25;
/** Calls per chunk before unprocessed keys count as a failure. */
const MAX_ATTEMPTS = 6;

type Key = Record<string, unknown>;

/**
 * Thrown when DynamoDB still leaves keys unprocessed after every retry (throttling, usually):
 * the batch's answer would be incomplete, so it is not given at all.
 */
export class BatchIncompleteError extends Error {
  constructor(operation: string, tableName: string, readonly unprocessed: number) {
    super(`${operation} on ${tableName} left ${unprocessed} key(s) unprocessed after ${MAX_ATTEMPTS} attempts`);
    this.name = 'BatchIncompleteError';
  }
}

/**
 * Reads every key, in chunks of 100, retrying unprocessed keys with exponential backoff and
 * jitter (as the DynamoDB docs ask). Items come back in no particular order; missing items are
 * simply absent.
 * @throws BatchIncompleteError when keys stay unprocessed
 */
export async function batchGetAll<T = Record<string, unknown>>(
  tableName: string,
  keys: readonly Key[],
  options: { readonly consistentRead?: boolean; readonly projection?: string; readonly names?: Record<string, string> } = {},
): Promise<T[]> {
  const items: T[] = [];
  for (let i = 0; i < keys.length; i += MAX_GET_KEYS) {
    let pending: Key[] = keys.slice(i, i + MAX_GET_KEYS);
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt === MAX_ATTEMPTS) throw new BatchIncompleteError('BatchGetItem', tableName, pending.length);
      if (attempt) await backoff(attempt);
      const answer = await documentClient.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: pending,
              ...(options.consistentRead ? { ConsistentRead: true } : {}),
              ...(options.projection ? { ProjectionExpression: options.projection } : {}),
              ...(options.names ? { ExpressionAttributeNames: options.names } : {}),
            },
          },
        }),
      );
      items.push(...((answer.Responses?.[tableName] ?? []) as T[]));
      pending = (answer.UnprocessedKeys?.[tableName]?.Keys ?? []) as Key[];
    }
  }
  return items;
}

/**
 * Deletes every key, in chunks of 25, retrying unprocessed ones with backoff.
 * @throws BatchIncompleteError when deletes stay unprocessed
 */
export async function batchDeleteAll(tableName: string, keys: readonly Key[]): Promise<void> {
  for (let i = 0; i < keys.length; i += MAX_WRITE_REQUESTS) {
    let pending = keys.slice(i, i + MAX_WRITE_REQUESTS).map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt === MAX_ATTEMPTS) throw new BatchIncompleteError('BatchWriteItem', tableName, pending.length);
      if (attempt) await backoff(attempt);
      const answer = await documentClient.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (answer.UnprocessedItems?.[tableName] ?? []) as typeof pending;
    }
  }
}

/** Full jitter on 25 ms doubling: 0–50, 0–100, ... 0–800 ms. */
function backoff(attempt: number): Promise<void> {
  return sleep(Math.floor(Math.random() * 25 * 2 ** attempt));
}
