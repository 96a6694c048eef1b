import { z } from 'zod';
import { getPresenceRoute } from '#shared/contracts/chat';
import { readEnv } from '#shared/env';
import { httpHandler } from '#shared/http/handler';
import { lastSeen } from './directory';

let windowSeconds: number | undefined;

/**
 * GET /v1/presence?userIds=a,b: online means a heartbeat within the presence window, judged now:
 * the item's TTL only tidies up, and lags.
 */
export const handler = httpHandler(getPresenceRoute, async ({ query, principal }) => {
  windowSeconds ??= readEnv({ PRESENCE_WINDOW_SECONDS: z.coerce.number().int().positive().default(60) }).PRESENCE_WINDOW_SECONDS;
  const seen = await lastSeen(principal.tenantId, query.userIds);
  const now = Date.now();
  return {
    status: 200,
    body: {
      users: query.userIds.map((userId) => {
        const lastSeenAt = seen.get(userId) ?? null;
        return { userId, online: lastSeenAt !== null && now - Date.parse(lastSeenAt) <= windowSeconds! * 1000, lastSeenAt };
      }),
    },
  };
});
