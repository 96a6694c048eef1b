import { z } from 'zod';
import { readEnv } from '#shared/env';
import { PingFrameSchema } from './frames';
import { touchPresence } from './store';
import { chatAction } from './ws';

let windowSeconds: number | undefined;

/** `ping`: a heartbeat. The user counts as online for the presence window; answered with `pong`. */
export const handler = chatAction('ping', PingFrameSchema, async (_frame, { principal }) => {
  windowSeconds ??= readEnv({ PRESENCE_WINDOW_SECONDS: z.coerce.number().int().positive().default(60) }).PRESENCE_WINDOW_SECONDS;
  const now = Date.now();
  await touchPresence(principal.tenantId, principal.userId, now, windowSeconds);
  return { type: 'pong', at: new Date(now).toISOString() };
});
