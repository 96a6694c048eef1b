import { resetLimitRoute } from '#shared/contracts/rate-limiter';
import { httpHandler } from '#shared/http/handler';
import { logger } from '#shared/powertools';
import { bucketFromQuery, serviceLimits } from './buckets';

/** DELETE /v1/limits/{key}: empties the caller's bucket (every shard); the next request finds it full. */
export const handler = httpHandler(resetLimitRoute, async ({ params, query, principal }) => {
  const limits = serviceLimits();
  const bucket = bucketFromQuery(query, limits.policies);
  await limits.limiter.reset(bucket.itemName, bucket.policy, { tenantId: principal.tenantId, key: params.key });
  // An administrative act: who reset what is worth a log line of its own.
  logger.info('rate limit bucket reset', { policy: bucket.name, key: params.key });
  return { status: 204 };
});
