import { getLimitRoute } from '#shared/contracts/rate-limiter';
import { httpHandler } from '#shared/http/handler';
import { bucketFromQuery, serviceLimits } from './buckets';

/** GET /v1/limits/{key}: what the caller's bucket holds now (a strongly consistent read; takes nothing). */
export const handler = httpHandler(getLimitRoute, async ({ params, query, principal }) => {
  const limits = serviceLimits();
  const bucket = bucketFromQuery(query, limits.policies);
  const state = await limits.limiter.state(bucket.itemName, bucket.policy, { tenantId: principal.tenantId, key: params.key });
  return { status: 200, body: { key: params.key, policy: bucket.name, ...state! } };
});
