import { describe, expect, it, vi } from 'vitest';
import type { RouteRateLimit } from '#shared/rate-limit/from-env';
import { RateLimiter, RateLimitUnavailableError } from '#shared/rate-limit/limiter';
import type { PolicySet } from '#shared/rate-limit/policy';
import { limitMessage } from '#shared/websocket/limits';
import { useLocalTable } from '../../support/dynamodb';

vi.hoisted(() => vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true'));

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const policies: PolicySet = {
  'ws-connection': { subject: 'connection', algorithm: 'token-bucket', capacity: 3, refillPerSecond: 1, onFailure: 'open' },
  'ws-user': { subject: 'user', algorithm: 'token-bucket', capacity: 100, refillPerSecond: 10, onFailure: 'closed' },
};
const table = useLocalTable('message-limits');
const message = (connectionId: string) => ({
  requestContext: { connectionId, requestId: `req-${connectionId}`, authorizer: { userId: 'alice', tenantId: 'acme', scopes: '' } },
});

describe('limitMessage', () => {
  it('lets messages through up to the connection bucket, then answers with a rate-limited error frame', async () => {
    // Prepare
    const limit: RouteRateLimit = { limiter: new RateLimiter({ table, policies, timeoutMs: 2000, now: () => NOW }), policies, names: ['ws-connection', 'ws-user'], cost: 1, now: () => NOW };

    // Act
    const frames = [];
    for (let i = 0; i < 4; i++) frames.push(await limitMessage(message('conn-1'), limit));
    const otherConnection = await limitMessage(message('conn-2'), limit);

    // Assess
    expect(frames.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(frames[3]).toEqual({
      type: 'error',
      code: 'rate-limited',
      message: 'too many messages: ws-connection',
      requestId: 'req-conn-1',
      violatedPolicies: ['ws-connection'],
      retryAfterSeconds: 1,
    });
    expect(otherConnection).toBeUndefined();
  });

  it('answers an unavailable error frame when a fail-closed policy cannot be checked', async () => {
    const limiter = { check: vi.fn(async () => Promise.reject(new RateLimitUnavailableError('ws-user'))) };
    const frame = await limitMessage(message('conn-3'), { limiter, policies, names: ['ws-user'], cost: 1, now: () => NOW });
    expect(frame).toMatchObject({ type: 'error', code: 'unavailable', retryAfterSeconds: 5 });
  });

  it('limits nothing without configured limits', async () => {
    expect(await limitMessage(message('conn-4'), undefined)).toBeUndefined();
  });
});
