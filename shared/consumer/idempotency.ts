import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import { z } from 'zod';
import { dynamoDbClient } from '../clients/dynamodb';
import { readEnv } from '../env';

/**
 * The idempotency store of one consumer: the shared idempotency table (`IDEMPOTENCY_TABLE_NAME`,
 * partition key `id`, TTL attribute `expiration`) through Powertools' DynamoDB layer.
 *
 * A new instance per consumer, never a module singleton: a Powertools persistence layer keeps
 * the configuration of the first idempotent function that used it, so two functions sharing
 * one instance would silently share key prefix and expiry too.
 *
 * @throws ConfigurationError when `IDEMPOTENCY_TABLE_NAME` is not set
 */
export function idempotencyTableStore(env: NodeJS.ProcessEnv = process.env): BasePersistenceLayer {
  const { IDEMPOTENCY_TABLE_NAME } = readEnv({ IDEMPOTENCY_TABLE_NAME: z.string().min(1) }, env);
  return new DynamoDBPersistenceLayer({ tableName: IDEMPOTENCY_TABLE_NAME, awsSdkV3Client: dynamoDbClient });
}
