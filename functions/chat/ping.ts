import { PingFrameSchema } from './frames';
import { chatSettings, touchPresence } from './store';
import { chatAction } from './ws';


/** `ping`: a heartbeat. The user counts as online for the presence window; answered with `pong`. */
export const handler = chatAction('ping', PingFrameSchema, async (_frame, { principal }) => {
  const windowSeconds = chatSettings().presenceWindowSeconds;
  const now = Date.now();
  await touchPresence(principal.tenantId, principal.userId, now, windowSeconds);
  return { type: 'pong', at: new Date(now).toISOString() };
});
