import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { BucketTable } from './token-bucket';

/** A conditional write's result: the updated attributes, or the item as it stood when the condition failed. */
export type UpdateOutcome =
  | { readonly written: true; readonly attributes: Readonly<Record<string, unknown>> }
  | { readonly written: false; readonly item: Readonly<Record<string, unknown>> | undefined };

/**
 * One conditional UpdateItem on the bucket `key`, the only write the limiter makes. A failed
 * condition is an answer, not an error: it returns the item as it was (`ALL_OLD`), which tells
 * the algorithm what to do next without a read. The document client does not unmarshall that
 * item, so it is done here, once.
 */
export async function conditionalUpdate(
  table: BucketTable,
  key: string,
  write: { readonly update: string; readonly condition: string; readonly values: Readonly<Record<string, unknown>> },
  signal?: AbortSignal,
): Promise<UpdateOutcome> {
  try {
    const answer = await table.client.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: key },
        UpdateExpression: write.update,
        ConditionExpression: write.condition,
        ExpressionAttributeValues: { ...write.values },
        ReturnValues: 'UPDATED_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
      { abortSignal: signal },
    );
    return { written: true, attributes: answer.Attributes ?? {} };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return { written: false, item: error.Item ? unmarshall(error.Item) : undefined };
  }
}
