import { getPresenceRoute } from '#shared/contracts/chat';
import { httpHandler } from '#shared/http/handler';
import { lastSeen } from './directory';
import { chatSettings } from './store';


/**
 * GET /v1/presence?userIds=a,b: online means a heartbeat within the presence window, judged now:
 * the item's TTL only tidies up, and lags.
 */
export const handler = httpHandler(getPresenceRoute, async ({ query, principal }) => {
  const windowSeconds = chatSettings().presenceWindowSeconds;
  const seen = await lastSeen(principal.tenantId, query.userIds);
  const now = Date.now();
  return {
    status: 200,
    body: {
      users: query.userIds.map((userId) => {
        const lastSeenAt = seen.get(userId) ?? null;
        return { userId, online: lastSeenAt !== null && now - Date.parse(lastSeenAt) <= windowSeconds * 1000, lastSeenAt };
      }),
    },
  };
});
