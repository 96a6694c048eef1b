import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCloud } from '../../local/cloud';
import { KEY_VALUES, LIMITS, usagePlanApp } from './fixtures/apps/usage-plan-app';

/**
 * API keys and usage plans end to end: a fixture CDK app with keys, plans, a per-method
 * throttle, a quota and an API whose key source is AUTHORIZER, served by a LocalCloud with a
 * state dir, exercised over HTTP. Each limit is reached by a key of its own, so the tests do
 * not share budgets; rates are near zero, so nothing refills while they run.
 */

let cloud: LocalCloud;
let assemblyDir: string;
let stateDir: string;

beforeAll(async () => {
  assemblyDir = mkdtempSync(join(tmpdir(), 'local-api-keys-'));
  stateDir = mkdtempSync(join(tmpdir(), 'local-api-keys-state-'));
  usagePlanApp(assemblyDir).synth();
  cloud = await LocalCloud.start({ assemblyDir, stateDir });
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  for (const dir of [assemblyDir, stateDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The key the fixture names `name`, as the cloud exposes it. */
function key(name: string) {
  const found = cloud.apiKeys.find((k) => k.name === name);
  if (!found) throw new Error(`no API key ${name}`);
  return found;
}

/** The base URL of the fixture API named `name`. */
function apiUrl(name: 'Api' | 'PartnerApi'): string {
  const found = cloud.restApis.find((a) => a.name === name);
  if (!found) throw new Error(`no REST API ${name}`);
  return found.url;
}

async function call(api: 'Api' | 'PartnerApi', path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${apiUrl(api)}${path}`, { headers });
  const text = await response.text();
  return { status: response.status, errorType: response.headers.get('x-amzn-errortype'), body: JSON.parse(text) as any };
}

describe('API keys read from the template', () => {
  it('keeps the values the template gives and generates the others as API Gateway does', () => {
    expect(key('standard')).toEqual({ id: expect.stringMatching(/^[a-z0-9]{10}$/), name: 'standard', value: KEY_VALUES.standard, enabled: true });
    expect(key('disabled')).toMatchObject({ value: KEY_VALUES.disabled, enabled: false });
    expect(key('generated').value).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  it('reads usage plans with their throttle, quota, API stages and per-method throttles, and the API key source', () => {
    const api = cloud.model.restApis.find((a) => a.name === 'Api')!;
    const plans = Object.fromEntries(cloud.model.usagePlans.map((p) => [p.name, p]));
    expect(plans['standard']!.apiStages).toEqual([
      { apiId: api.apiId, stage: 'test', methodThrottles: { '/limited/GET': { rateLimit: 0.001, burstLimit: LIMITS.limitedBurst } } },
    ]);
    expect(plans['throttled']!.throttle).toEqual({ rateLimit: 0.001, burstLimit: LIMITS.throttledBurst });
    expect(plans['metered']!.quota).toEqual({ limit: LIMITS.meteredQuota, period: 'DAY', offset: 0 });
    expect(cloud.model.usagePlanKeys).toContainEqual({ keyId: key('partner').id, usagePlanId: plans['partner']!.id });
    expect(cloud.model.restApis.map((a) => [a.name, a.apiKeySource])).toEqual([
      ['Api', 'HEADER'],
      ['PartnerApi', 'AUTHORIZER'],
    ]);
  });
});

describe('a method that requires an API key (x-api-key)', () => {
  it.each([
    ['no key', {}],
    ['a key no API key has', { 'x-api-key': 'not-a-key-0123456789' }],
    ['a disabled key', { 'x-api-key': KEY_VALUES.disabled }],
    ["a key in another API stage's plan only", { 'x-api-key': KEY_VALUES.partner }],
  ])('answers 403 Forbidden (INVALID_API_KEY) to %s', async (_case, headers) => {
    const response = await call('Api', 'items', headers);

    expect(response.status).toBe(403);
    expect(response.errorType).toBe('ForbiddenException');
    expect(response.body).toEqual({ message: 'Forbidden' });
  });

  it('lets a valid key through, naming it and its id in requestContext.identity', async () => {
    // Act
    const response = await call('Api', 'items', { 'x-api-key': KEY_VALUES.standard });
    const generated = await call('Api', 'items', { 'x-api-key': key('generated').value });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.event.requestContext.identity).toMatchObject({ apiKey: KEY_VALUES.standard, apiKeyId: key('standard').id });
    expect(generated.status).toBe(200);
    expect(generated.body.event.requestContext.identity.apiKeyId).toBe(key('generated').id);
  });

  it('leaves identity.apiKey and apiKeyId null on a method that requires no key, whatever is sent', async () => {
    const response = await call('Api', 'open', { 'x-api-key': KEY_VALUES.standard });

    expect(response.status).toBe(200);
    expect(response.body.event.requestContext.identity).toMatchObject({ apiKey: null, apiKeyId: null });
  });

  it("throttles a key over its plan's burst with 429 THROTTLED", async () => {
    // Act
    const statuses: number[] = [];
    for (let i = 0; i <= LIMITS.throttledBurst; i++) statuses.push((await call('Api', 'items', { 'x-api-key': KEY_VALUES.throttled })).status);
    const over = await call('Api', 'items', { 'x-api-key': KEY_VALUES.throttled });

    // Assess
    expect(statuses).toEqual([...Array(LIMITS.throttledBurst).fill(200), 429]);
    expect(over).toMatchObject({ status: 429, errorType: 'TooManyRequestsException', body: { message: 'Too Many Requests' } });
  });

  it("applies the plan's per-method throttle to that method only", async () => {
    // Act
    const first = await call('Api', 'limited', { 'x-api-key': KEY_VALUES.standard });
    const second = await call('Api', 'limited', { 'x-api-key': KEY_VALUES.standard });
    const otherMethod = await call('Api', 'items', { 'x-api-key': KEY_VALUES.standard });

    // Assess
    expect([first.status, second.status]).toEqual([200, 429]);
    expect(otherMethod.status).toBe(200);
  });

  it("refuses a key over its plan's quota with 429 QUOTA_EXCEEDED, Limit Exceeded", async () => {
    // Act
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.meteredQuota; i++) statuses.push((await call('Api', 'items', { 'x-api-key': KEY_VALUES.metered })).status);
    const over = await call('Api', 'items', { 'x-api-key': KEY_VALUES.metered });

    // Assess
    expect(statuses).toEqual(Array(LIMITS.meteredQuota).fill(200));
    expect(over).toMatchObject({ status: 429, body: { message: 'Limit Exceeded' } });
  });
});

describe('an API whose key source is AUTHORIZER', () => {
  it("meters the caller by the authorizer's usageIdentifierKey, and ignores x-api-key", async () => {
    // Act
    const metered = await call('PartnerApi', 'reports', { Authorization: `Bearer ${KEY_VALUES.partner}` });
    const headerOnly = await call('PartnerApi', 'reports', { Authorization: 'Bearer', 'x-api-key': KEY_VALUES.partner });
    const otherPlansKey = await call('PartnerApi', 'reports', { Authorization: `Bearer ${KEY_VALUES.standard}` });

    // Assess
    expect(metered.status).toBe(200);
    expect(metered.body.event.requestContext.identity).toMatchObject({ apiKey: KEY_VALUES.partner, apiKeyId: key('partner').id });
    expect(headerOnly.status).toBe(403);
    expect(otherPlansKey.status).toBe(403);
  });

  it('runs the authorizer first: no token is 401 Unauthorized even with a valid key in the header', async () => {
    const response = await call('PartnerApi', 'reports', { 'x-api-key': KEY_VALUES.partner });

    expect(response.status).toBe(401);
    expect(response.body).toEqual({ message: 'Unauthorized' });
  });
});

describe('generated key values', () => {
  it('stay the same when the cloud restarts on the same state dir', async () => {
    // Prepare
    const before = key('generated').value;
    await cloud.stop();

    // Act
    cloud = await LocalCloud.start({ assemblyDir, stateDir });

    // Assess
    expect(key('generated').value).toBe(before);
    expect((await call('Api', 'items', { 'x-api-key': before })).status).toBe(200);
  }, 120_000);
});
