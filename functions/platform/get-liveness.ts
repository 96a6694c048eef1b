import { z } from 'zod';
import { getLivenessRoute } from '#shared/contracts/platform';
import { readEnv } from '#shared/env';
import { instanceUptimeSeconds } from '#shared/health';
import { httpHandler } from '#shared/http/handler';

const env = readEnv({ APP_VERSION: z.string().min(1) });

/** Liveness touches no dependency: it answers whether the API itself serves requests. */
export const handler = httpHandler(getLivenessRoute, async () => ({
  status: 200,
  body: { status: 'pass', version: env.APP_VERSION, uptimeSeconds: instanceUptimeSeconds(), checks: {} },
}));
