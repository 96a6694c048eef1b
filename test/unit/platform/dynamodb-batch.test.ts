import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { BatchIncompleteError, batchDeleteAll, batchGetAll } from '#shared/clients/dynamodb-batch';

const dynamo = mockClient(DynamoDBDocumentClient);
const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ pk: `k${i}` }));

beforeEach(() => {
  dynamo.reset();
});

describe('batchGetAll', () => {
  it('reads 250 keys in chunks of 100, 100 and 50, consistently when asked, and returns every item', async () => {
    // Prepare
    dynamo.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: { pk: string }[] }> }) => ({
      Responses: { t: input.RequestItems['t']!.Keys.map((key) => ({ ...key, found: true })) },
    }));

    // Act
    const items = await batchGetAll('t', keys(250), { consistentRead: true });

    // Assess
    const calls = dynamo.commandCalls(BatchGetCommand).map((call) => call.args[0].input.RequestItems!['t']!);
    expect(calls.map((request) => request.Keys!.length)).toEqual([100, 100, 50]);
    expect(calls.every((request) => request.ConsistentRead === true)).toBe(true);
    expect(items.map((item) => item['pk']).sort()).toEqual(keys(250).map((key) => key.pk).sort());
  });

  it('asks again for the keys DynamoDB left unprocessed, and returns them with the rest', async () => {
    // Prepare: the first answer leaves two keys unprocessed.
    dynamo
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { t: [{ pk: 'k0' }] }, UnprocessedKeys: { t: { Keys: [{ pk: 'k1' }, { pk: 'k2' }] } } })
      .resolvesOnce({ Responses: { t: [{ pk: 'k1' }, { pk: 'k2' }] } });

    // Act
    const items = await batchGetAll('t', keys(3));

    // Assess
    expect(dynamo.commandCalls(BatchGetCommand)[1]!.args[0].input.RequestItems!['t']!.Keys).toEqual([{ pk: 'k1' }, { pk: 'k2' }]);
    expect(items).toEqual([{ pk: 'k0' }, { pk: 'k1' }, { pk: 'k2' }]);
  });

  it('fails rather than answer without the keys DynamoDB keeps leaving unprocessed', async () => {
    // Prepare
    dynamo.on(BatchGetCommand).resolves({ Responses: { t: [] }, UnprocessedKeys: { t: { Keys: [{ pk: 'k0' }] } } });

    // Act
    const reading = batchGetAll('t', keys(1));

    // Assess
    await expect(reading).rejects.toThrow(BatchIncompleteError);
    await expect(reading).rejects.toThrow('BatchGetItem on t left 1 key(s) unprocessed after 6 attempts');
    expect(dynamo.commandCalls(BatchGetCommand)).toHaveLength(6);
  }, 10_000);

  it('makes no call for no keys', async () => {
    expect(await batchGetAll('t', [])).toEqual([]);
    expect(dynamo.commandCalls(BatchGetCommand)).toHaveLength(0);
  });
});

describe('batchDeleteAll', () => {
  it('deletes in chunks of 25 and retries unprocessed deletes', async () => {
    // Prepare: the first chunk's answer leaves one delete unprocessed.
    dynamo
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { t: [{ DeleteRequest: { Key: { pk: 'k3' } } }] } })
      .resolves({});

    // Act
    await batchDeleteAll('t', keys(30));

    // Assess
    const requests = dynamo.commandCalls(BatchWriteCommand).map((call) => call.args[0].input.RequestItems!['t']!);
    expect(requests.map((r) => r.length)).toEqual([25, 1, 5]);
    expect(requests[1]).toEqual([{ DeleteRequest: { Key: { pk: 'k3' } } }]);
  });

  it('fails when deletes stay unprocessed', async () => {
    // Prepare
    dynamo.on(BatchWriteCommand).resolves({ UnprocessedItems: { t: [{ DeleteRequest: { Key: { pk: 'k0' } } }] } });

    // Act
    const deleting = batchDeleteAll('t', keys(1));

    // Assess
    await expect(deleting).rejects.toThrow('BatchWriteItem on t left 1 key(s) unprocessed after 6 attempts');
  }, 10_000);
});
