import { describe, expect, it } from 'vitest';
import { e2eTarget, uniqueTenant } from './support';

const target = e2eTarget();
const url = (path: string) => new URL(path, target.restUrl).toString();

/** Headers of a backend calling the service: its token and its usage-plan API key. */
async function caller(tenant: string, scopes: readonly string[] = ['ratelimit:check']): Promise<Record<string, string>> {
  if (!target.apiKey) throw new Error('the target has no API key for the rate-limit service (E2E_API_KEY)');
  return { authorization: `Bearer ${await target.token('backend', tenant, scopes)}`, 'x-api-key': target.apiKey, 'content-type': 'application/json' };
}

const check = (headers: Record<string, string>, body: unknown) => fetch(url('v1/limits/check'), { method: 'POST', headers, body: JSON.stringify(body) });

describe('the rate limiter as a service, end to end', () => {
  it('admits exactly the capacity of 200 concurrent checks against a bucket of 50 that never refills, and refuses the rest with 429', async () => {
    // Prepare
    const headers = await caller(uniqueTenant('rls'));
    const bucket = { key: 'burst-test', policy: { capacity: 50, refillPerSecond: 0 } };

    // Act
    const responses = await Promise.all(Array.from({ length: 200 }, () => check(headers, bucket)));
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<Record<string, unknown>>));

    // Assess
    const admitted = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(admitted).toHaveLength(50);
    expect(refused).toHaveLength(150);
    // Every admission saw a different number of tokens left: 49 down to 0, no token spent twice.
    const remaining = admitted.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const [i, response] of responses.entries()) {
      const body = bodies[i]!;
      expect(response.headers.get('x-ratelimit-limit')).toBe('50');
      expect(response.headers.get('ratelimit-policy')).toBe('"custom";q=50');
      expect(response.headers.get('ratelimit')).toBe(`"custom";r=${body['remaining']}`);
      if (response.status === 200) {
        expect(body).toMatchObject({ key: 'burst-test', policy: 'custom', allowed: true, limit: 50, retryAfterSeconds: 0 });
        expect(String(body['remaining'])).toBe(response.headers.get('x-ratelimit-remaining'));
      } else {
        expect(response.headers.get('content-type')).toContain('application/problem+json');
        // A quota that never resets has no honest Retry-After: none is sent.
        expect(response.headers.get('retry-after')).toBeNull();
        expect(body).toMatchObject({ status: 429, allowed: false, remaining: 0, violatedPolicies: ['custom'] });
        expect(body).not.toHaveProperty('retryAfterSeconds');
      }
    }
  });

  it('refuses an empty bucket with an honest Retry-After, and admits once that time has passed', async () => {
    // Prepare: 2 tokens, refilling one every 2 s.
    const headers = await caller(uniqueTenant('rls'));
    const bucket = { key: 'retry-test', policy: { capacity: 2, refillPerSecond: 0.5 } };
    await check(headers, bucket);
    await check(headers, bucket);

    // Act
    const refused = await check(headers, bucket);
    const retryAfter = Number(refused.headers.get('retry-after'));
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    const retried = await check(headers, bucket);

    // Assess
    expect(refused.status).toBe(429);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(await refused.json()).toMatchObject({ allowed: false, retryAfterSeconds: retryAfter, violatedPolicies: ['custom'] });
    expect(retried.status).toBe(200);
  });

  it('checks named policies from the stage configuration, and keeps tenants apart on the same key', async () => {
    // Prepare: `login` allows 5 per minute per key (sliding window).
    const [first, second] = await Promise.all([caller(uniqueTenant('rls')), caller(uniqueTenant('rls'))]);
    const attempt = { key: 'login:alice@example.com', policy: 'login' };

    // Act
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await check(first!, attempt)).status);
    const otherTenant = await check(second!, attempt);

    // Assess
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(otherTenant.status).toBe(200);
    expect(otherTenant.headers.get('ratelimit-policy')).toBe('"login";q=5;w=60');
  });

  it('reads a bucket without taking from it, and resets it for an administrator', async () => {
    // Prepare
    const tenant = uniqueTenant('rls');
    const headers = await caller(tenant);
    const admin = await caller(tenant, ['ratelimit:check', 'ratelimit:admin']);
    const key = 'user/42: ünïcode';
    for (let i = 0; i < 3; i++) await check(headers, { key, policy: 'calls', cost: 10 });
    const path = url(`v1/limits/${encodeURIComponent(key)}?policy=calls`);

    // Act
    type State = { key: string; policy: string; remaining: number; limit: number };
    const before = (await (await fetch(path, { headers })).json()) as State;
    const again = (await (await fetch(path, { headers })).json()) as State;
    const forbidden = await fetch(path, { method: 'DELETE', headers });
    const reset = await fetch(path, { method: 'DELETE', headers: admin });
    const after = await (await fetch(path, { headers })).json();

    // Assess: `calls` holds 100 and refills 10 a second, so 30 taken leaves 70 to 100 by now.
    expect(before).toMatchObject({ key, policy: 'calls', limit: 100 });
    expect(before.remaining).toBeGreaterThanOrEqual(70);
    expect(before.remaining).toBeLessThan(100);
    expect(again.remaining).toBeGreaterThanOrEqual(before.remaining);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ status: 403, detail: 'missing scope: ratelimit:admin' });
    expect(reset.status).toBe(204);
    expect(after).toMatchObject({ remaining: 100, limit: 100 });
  });

  it('answers bad input with 400 problem+json naming the field and the rule', async () => {
    // Prepare
    const headers = await caller(uniqueTenant('rls'));
    const cases: { body: unknown; field: string; rule: RegExp }[] = [
      { body: { key: 'k', policy: { capacity: 5, refillPerSecond: 1 }, cost: 0 }, field: 'body.cost', rule: /positive/ },
      { body: { key: 'k', policy: { capacity: 5, refillPerSecond: 1 }, cost: 2.5 }, field: 'body.cost', rule: /integer/ },
      { body: { key: 'k', policy: { capacity: 5, refillPerSecond: 1 }, cost: 6 }, field: 'body.cost', rule: /must not exceed 5/ },
      { body: { key: 'k', policy: 'no-such-policy' }, field: 'body.policy', rule: /unknown policy "no-such-policy"/ },
      { body: { key: 'k', policy: 'user' }, field: 'body.policy', rule: /unknown policy "user"/ },
      { body: { key: 'é'.repeat(129), policy: 'calls' }, field: 'body.key', rule: /at most 256 bytes/ },
      { body: { key: 'bad\u0007key', policy: 'calls' }, field: 'body.key', rule: /control characters/ },
    ];

    // Act
    const answers = await Promise.all(cases.map((c) => check(headers, c.body)));

    // Assess
    for (const [i, answer] of answers.entries()) {
      const { field, rule } = cases[i]!;
      expect(answer.status, field).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await answer.json()) as { errors: { field: string; rule: string }[] };
      expect(problem.errors.find((e) => e.field === field)?.rule, JSON.stringify(problem.errors)).toMatch(rule);
    }
  });

  it('requires a usage-plan API key and the ratelimit:check scope', async () => {
    // Prepare
    const tenant = uniqueTenant('rls');
    const { 'x-api-key': _, ...withoutKey } = await caller(tenant);
    const wrongScope = await caller(tenant, ['links:write']);
    const body = { key: 'k', policy: 'calls' };

    // Act
    const noKey = await check(withoutKey, body);
    const badKey = await check({ ...withoutKey, 'x-api-key': 'not-a-key-of-this-api-0123456789abcdef' }, body);
    const noScope = await check(wrongScope, body);

    // Assess
    expect(noKey.status).toBe(403);
    expect(noKey.headers.get('content-type')).toContain('application/problem+json');
    expect(badKey.status).toBe(403);
    expect(noScope.status).toBe(403);
    expect(await noScope.json()).toMatchObject({ detail: 'missing scope: ratelimit:check' });
  });
});

// Faults can be injected only into the local cloud; against LocalStack or AWS this block does not run.
describe.runIf(target.name === 'local')('the rate limiter when DynamoDB is unreachable (local cloud fault injection)', () => {
  const aws = (path: string, init?: RequestInit) => fetch(new URL(path, target.awsEndpoint).toString(), init);

  async function failedOpenCount(): Promise<number> {
    const series = (await (await aws('_local/metrics?name=RateLimitFailedOpen')).json()) as { count: number }[];
    return series.reduce((sum, s) => sum + s.count, 0);
  }

  it('admits through a fail-open policy and counts it, refuses through a fail-closed one with 503', async () => {
    // Prepare: every DynamoDB call that carries this tenant's keys fails as if the network were down.
    const tenant = uniqueTenant('down');
    const headers = await caller(tenant);
    const before = await failedOpenCount();
    const fault = await aws('_local/faults', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'dynamodb', match: tenant, mode: 'unavailable', ttlSeconds: 60 }),
    });
    const { id } = (await fault.json()) as { id: string };

    try {
      // Act
      const open = await check(headers, { key: 'k', policy: 'calls' });
      const closed = await check(headers, { key: 'k', policy: 'login' });

      // Assess
      expect(open.status).toBe(200);
      expect(await open.json()).toMatchObject({ allowed: true, policy: 'calls', remaining: 99 });
      expect(closed.status).toBe(503);
      expect(closed.headers.get('retry-after')).toBe('5');
      expect(await closed.json()).toMatchObject({ status: 503, type: 'urn:switchyard:problem:service-unavailable' });
      // EMF metrics reach the local cloud as the function's log lines are read: give them a moment.
      let after = await failedOpenCount();
      for (let i = 0; i < 20 && after <= before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = await failedOpenCount();
      }
      expect(after).toBeGreaterThan(before);
    } finally {
      await aws(`_local/faults/${id}`, { method: 'DELETE' });
    }
  });
});
