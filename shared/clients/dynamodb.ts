import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from '../powertools';

/** The low-level client; Powertools idempotency and health checks take this one. */
export const dynamoDbClient = tracer.captureAWSv3Client(new DynamoDBClient({}));

/** The document client domain code uses: plain JS values in and out. */
export const documentClient = DynamoDBDocumentClient.from(dynamoDbClient, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});
