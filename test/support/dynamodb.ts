import { CreateTableCommand, type AttributeDefinition, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../local/net';
import { startDynamoDb, type DynamoDbLocal } from '../../local/services/dynamodb';

/** A global secondary index with string keys, projecting every attribute. */
export interface LocalIndex {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
}

/** The key schema of a test table; all keys are strings. */
export interface LocalTableOptions {
  /** @default 'pk' */
  readonly partitionKey?: string;
  /** @default none */
  readonly sortKey?: string;
  /** @default none */
  readonly indexes?: readonly LocalIndex[];
  /**
   * More tables on the same DynamoDB Local, for code that writes to several (a handler's own
   * table and the idempotency table).
   * @default none
   */
  readonly moreTables?: readonly (Omit<LocalTableOptions, 'moreTables'> & { readonly tableName: string })[];
}

export interface LocalTable {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** DynamoDB Local's URL (`http://127.0.0.1:<port>`), for code that builds its own client from the environment. */
  readonly endpoint: string;
}

/**
 * A table on Amazon's DynamoDB Local for the file's tests, keyed by `pk` unless `options` say
 * otherwise; started before, stopped after.
 */
export function useLocalTable(tableName: string, options: LocalTableOptions = {}): LocalTable {
  let dynamo: DynamoDbLocal | undefined;
  const table = { client: undefined as unknown as DynamoDBDocumentClient, tableName, endpoint: '' };
  beforeAll(async () => {
    dynamo = await startDynamoDb({ port: await freePort() });
    for (const input of [createTableInput(tableName, options), ...(options.moreTables ?? []).map((more) => createTableInput(more.tableName, more))]) {
      await dynamo.client.send(new CreateTableCommand(input));
    }
    table.client = DynamoDBDocumentClient.from(dynamo.client);
    table.endpoint = dynamo.endpoint;
  }, 60_000);
  afterAll(async () => {
    await dynamo?.stop();
  });
  return table;
}

function createTableInput(tableName: string, options: Omit<LocalTableOptions, 'moreTables'>): CreateTableCommandInput {
  const keySchema = (partitionKey: string, sortKey: string | undefined) => [
    { AttributeName: partitionKey, KeyType: 'HASH' as const },
    ...(sortKey ? [{ AttributeName: sortKey, KeyType: 'RANGE' as const }] : []),
  ];
  const indexes = options.indexes ?? [];
  const names = new Set([options.partitionKey ?? 'pk', options.sortKey, ...indexes.flatMap((index) => [index.partitionKey, index.sortKey])]);
  const attributes: AttributeDefinition[] = [...names].filter((name): name is string => !!name).map((name) => ({ AttributeName: name, AttributeType: 'S' }));
  return {
    TableName: tableName,
    KeySchema: keySchema(options.partitionKey ?? 'pk', options.sortKey),
    AttributeDefinitions: attributes,
    BillingMode: 'PAY_PER_REQUEST',
    ...(indexes.length
      ? {
          GlobalSecondaryIndexes: indexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }
      : {}),
  };
}
