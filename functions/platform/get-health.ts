import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeEventBusCommand } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import { dynamoDbClient } from '#shared/clients/dynamodb';
import { eventBridgeClient } from '#shared/clients/eventbridge';
import { getHealthRoute } from '#shared/contracts/platform';
import { positiveInt, readEnv } from '#shared/env';
import { checkReadiness, instanceUptimeSeconds, type Probe } from '#shared/health';
import { httpHandler } from '#shared/http/handler';

const env = readEnv({
  APP_VERSION: z.string().min(1),
  IDEMPOTENCY_TABLE_NAME: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  HEALTH_CHECK_TIMEOUT_MS: positiveInt.default(1000),
});

/**
 * The platform's dependencies, each probed with the cheapest call that proves the data
 * path works under this function's own permissions: a point read of a key that never
 * exists, and a describe of the bus.
 */
const probes: Record<string, Probe> = {
  dynamodb: (abortSignal) =>
    dynamoDbClient.send(
      new GetItemCommand({ TableName: env.IDEMPOTENCY_TABLE_NAME, Key: { id: { S: 'health#probe' } }, ProjectionExpression: 'id' }),
      { abortSignal },
    ),
  eventbridge: (abortSignal) => eventBridgeClient.send(new DescribeEventBusCommand({ Name: env.EVENT_BUS_NAME }), { abortSignal }),
};

export const handler = httpHandler(getHealthRoute, async () => {
  const report = await checkReadiness(probes, {
    version: env.APP_VERSION,
    timeoutMs: env.HEALTH_CHECK_TIMEOUT_MS,
    uptimeSeconds: instanceUptimeSeconds(),
  });
  return { status: report.status === 'pass' ? 200 : 503, body: report };
});
