import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { bucketKey, RateLimiter, RateLimitUnavailableError } from '#shared/rate-limit/limiter';
import type { PolicySet } from '#shared/rate-limit/policy';
import { useLocalTable } from '../../support/dynamodb';

const table = useLocalTable('limits');
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
let tenants = 0;
const tenant = () => `t${++tenants}`;

const policies: PolicySet = {
  burst: { subject: 'user', algorithm: 'token-bucket', capacity: 2, refillPerSecond: 0.5, onFailure: 'open' },
  'tenant-daily': { subject: 'tenant', algorithm: 'token-bucket', capacity: 100, refillPerSecond: 0, periodSeconds: 86_400, onFailure: 'closed' },
  'per-ip': { subject: 'ip', algorithm: 'sliding-window', limit: 3, windowSeconds: 60, onFailure: 'open' },
};

/** A client that never answers unless its call is aborted: DynamoDB past its time budget. */
const hangingClient = { send: (_command: unknown, options?: { abortSignal?: AbortSignal }) => new Promise((_, reject) => options?.abortSignal?.addEventListener('abort', () => reject(new Error('aborted')))) } as unknown as DynamoDBDocumentClient;

describe('RateLimiter', () => {
  it('applies every policy in order, lets the most restrictive decide, and stops charging at the first refusal', async () => {
    // Prepare
    const limiter = new RateLimiter({ table, policies, timeoutMs: 2000, now: () => T0 });
    const subjects = { tenantId: tenant(), userId: 'alice', ip: '203.0.113.9' };

    // Act
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await limiter.check(['burst', 'tenant-daily'], subjects));
    const afterwards = await new RateLimiter({ table, policies, timeoutMs: 2000, now: () => T0 }).check(['tenant-daily'], subjects);

    // Assess
    expect(outcomes.map((o) => o.allowed)).toEqual([true, true, false]);
    expect(outcomes[1]!.deciding).toMatchObject({ policy: 'burst', remaining: 0 });
    expect(outcomes[2]!.decisions.map((d) => d.policy)).toEqual(['burst']);
    expect(outcomes[2]!.deciding).toMatchObject({ policy: 'burst', allowed: false, retryAfterSeconds: 2 });
    // Two admitted requests cost the tenant's quota two: the refused one cost nothing there.
    expect(afterwards.deciding).toMatchObject({ policy: 'tenant-daily', remaining: 97 });
  });

  it('skips a policy whose subject the request does not have', async () => {
    const limiter = new RateLimiter({ table, policies, timeoutMs: 2000, now: () => T0 });
    const outcome = await limiter.check(['burst', 'per-ip'], { ip: '198.51.100.7' });
    expect(outcome.decisions.map((d) => d.policy)).toEqual(['per-ip']);
  });

  it('answers a key it knows to be refused without asking DynamoDB again', async () => {
    // Prepare
    const limiter = new RateLimiter({ table, policies, timeoutMs: 2000, now: () => T0 });
    const subjects = { ip: '192.0.2.44' };
    for (let i = 0; i < 4; i++) await limiter.check(['per-ip'], subjects);

    // Act
    const again = await limiter.check(['per-ip'], subjects);

    // Assess
    expect(again.deciding).toMatchObject({ allowed: false, source: 'pre-block' });
  });

  it('fails open past its time budget: admits from memory, still limits, and says so', async () => {
    // Prepare
    const degraded = vi.fn();
    const limiter = new RateLimiter({ table: { client: hangingClient, tableName: 'limits' }, policies, timeoutMs: 30, now: () => T0, onDegraded: degraded });
    const subjects = { tenantId: tenant(), userId: 'bob' };

    // Act
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await limiter.check(['burst'], subjects));

    // Assess
    expect(outcomes.map((o) => [o.allowed, o.deciding?.source])).toEqual([[true, 'memory'], [true, 'memory'], [false, 'memory']]);
    expect(degraded).toHaveBeenCalledTimes(3);
    expect(degraded.mock.calls[0]![0]).toMatchObject({ policy: 'burst', mode: 'open' });
  });

  it('fails closed when the policy says so', async () => {
    // Prepare
    const limiter = new RateLimiter({ table: { client: hangingClient, tableName: 'limits' }, policies, timeoutMs: 30, now: () => T0 });

    // Act
    const checking = limiter.check(['tenant-daily'], { tenantId: tenant() });

    // Assess
    await expect(checking).rejects.toBeInstanceOf(RateLimitUnavailableError);
    await expect(checking).rejects.toMatchObject({ policy: 'tenant-daily' });
  });
});

describe('bucketKey', () => {
  it('puts the tenant first, and never stores an API key in the clear', () => {
    const apiKeyPolicy = { ...policies['per-ip']!, subject: 'apiKey' as const };
    expect(bucketKey('burst', policies['burst']!, { tenantId: 'acme', userId: 'alice' })).toBe('burst#acme#user:alice');
    const key = bucketKey('keys', apiKeyPolicy, { apiKey: 'sk_live_secret' })!;
    expect(key).toMatch(/^keys#key:[0-9a-f]{32}$/);
    expect(key).not.toContain('sk_live_secret');
  });
});
