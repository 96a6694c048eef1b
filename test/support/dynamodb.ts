import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../local/net';
import { startDynamoDb, type DynamoDbLocal } from '../../local/services/dynamodb';

/** A table on Amazon's DynamoDB Local, keyed by `pk`, for the file's tests; started before, stopped after. */
export function useLocalTable(tableName: string): { readonly client: DynamoDBDocumentClient; readonly tableName: string } {
  let dynamo: DynamoDbLocal | undefined;
  const table = { client: undefined as unknown as DynamoDBDocumentClient, tableName };
  beforeAll(async () => {
    dynamo = await startDynamoDb({ port: await freePort() });
    await dynamo.client.send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    table.client = DynamoDBDocumentClient.from(dynamo.client);
  }, 60_000);
  afterAll(async () => {
    await dynamo?.stop();
  });
  return table;
}
