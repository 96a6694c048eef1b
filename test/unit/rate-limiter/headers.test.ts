import { describe, expect, it } from 'vitest';
import { rateLimitHeaders } from '#shared/rate-limit/headers';
import type { LimitOutcome, PolicyDecision } from '#shared/rate-limit/limiter';
import type { PolicySet } from '#shared/rate-limit/policy';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const nowSeconds = NOW / 1000;
const policies: PolicySet = {
  burst: { subject: 'user', algorithm: 'token-bucket', capacity: 60, refillPerSecond: 1, onFailure: 'open' },
  daily: { subject: 'tenant', algorithm: 'token-bucket', capacity: 1000, refillPerSecond: 0, periodSeconds: 86_400, onFailure: 'closed' },
  forever: { subject: 'tenant', algorithm: 'token-bucket', capacity: 50, refillPerSecond: 0, onFailure: 'open' },
};
const decision = (overrides: Partial<PolicyDecision>): PolicyDecision => ({
  policy: 'burst',
  allowed: true,
  remaining: 10,
  limit: 60,
  resetAt: nowSeconds + 50,
  retryAfterSeconds: 0,
  source: 'dynamodb',
  ...overrides,
});

describe('rateLimitHeaders', () => {
  it('names every evaluated policy in the draft syntax, and the deciding one in the X- headers', () => {
    // Prepare
    const burst = decision({ remaining: 10, resetAt: nowSeconds + 50 });
    const daily = decision({ policy: 'daily', remaining: 640, limit: 1000, resetAt: nowSeconds + 3600 });
    const outcome: LimitOutcome = { allowed: true, decisions: [burst, daily], deciding: burst };

    // Act
    const headers = rateLimitHeaders(outcome, policies, NOW);

    // Assess
    expect(headers).toEqual({
      'ratelimit-policy': '"burst";q=60;w=60, "daily";q=1000;w=86400',
      ratelimit: '"burst";r=10;t=50, "daily";r=640;t=3600',
      'x-ratelimit-limit': '60',
      'x-ratelimit-remaining': '10',
      'x-ratelimit-reset': String(nowSeconds + 50),
    });
  });

  it('adds an honest Retry-After to a refusal, and the refusal time as the RateLimit reset', () => {
    const refusal = decision({ allowed: false, remaining: 0, retryAfterSeconds: 7 });
    const headers = rateLimitHeaders({ allowed: false, decisions: [refusal], deciding: refusal }, policies, NOW);
    expect(headers['retry-after']).toBe('7');
    expect(headers['ratelimit']).toBe('"burst";r=0;t=7');
  });

  it('sends no Retry-After, reset or window for a spent quota that never resets', () => {
    // Prepare
    const spent = decision({ policy: 'forever', allowed: false, remaining: 0, limit: 50, resetAt: null, retryAfterSeconds: null });

    // Act
    const headers = rateLimitHeaders({ allowed: false, decisions: [spent], deciding: spent }, policies, NOW);

    // Assess
    expect(headers).toEqual({ 'ratelimit-policy': '"forever";q=50', ratelimit: '"forever";r=0', 'x-ratelimit-limit': '50', 'x-ratelimit-remaining': '0' });
  });

  it('sends nothing when no policy applied', () => {
    expect(rateLimitHeaders({ allowed: true, decisions: [], deciding: undefined }, policies, NOW)).toEqual({});
  });
});
