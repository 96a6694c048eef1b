import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../../local/gateway/rest/api-keys';
import { periodStart, UsagePlans } from '../../../local/gateway/rest/usage-plans';
import type { ApiKeyModel, UsagePlanModel } from '../../../local/model';
import { API_ID, closeGateways, FakeInvoker, fn, ok, policy, proxy, restApi, serve, STAGE, STAGE_ARN, tokenAuthorizer } from './support';

const AUTHORIZER = fn('authorizer');
const KEY: ApiKeyModel = { logicalId: 'Key', stackName: 'fixture-stack', name: 'client', id: 'key0000001', enabled: true, value: 'client-key-0123456789' };

/** A usage plan on the fixture stage, admitting `KEY`. */
function plan(overrides: Partial<UsagePlanModel> = {}): UsagePlanModel {
  return {
    logicalId: 'Plan',
    stackName: 'fixture-stack',
    name: 'plan',
    id: 'plan000001',
    apiStages: [{ apiId: API_ID, stage: STAGE, methodThrottles: {} }],
    ...overrides,
  };
}

/** A clock the test moves by hand. */
function manualClock(startIso: string) {
  let now = Date.parse(startIso);
  return { now: () => now, set: (iso: string) => (now = Date.parse(iso)), advance: (ms: number) => (now += ms) };
}

function usagePlansOf(plans: UsagePlanModel[], now?: () => number): UsagePlans {
  return new UsagePlans({ keys: new ApiKeyStore([KEY]), plans, planKeys: plans.map((p) => ({ keyId: KEY.id, usagePlanId: p.id })), ...(now ? { now } : {}) });
}

const keyedApi = (extra: Partial<Parameters<typeof restApi>[0]> = {}) =>
  restApi({
    resources: [
      { path: '/v1/items', methods: [proxy('GET', 'items', { apiKeyRequired: true })] },
      { path: '/v1/secure', methods: [proxy('GET', 'items', { apiKeyRequired: true, authorizationType: 'CUSTOM', authorizerId: 'TokenAuthorizer' })] },
    ],
    authorizers: [tokenAuthorizer({ resultTtlSeconds: 0 })],
    ...extra,
  });

const withKey = (value: string, headers: Record<string, string> = {}) => ({ headers: { 'x-api-key': value, ...headers } });

let invoker: FakeInvoker;

beforeEach(() => {
  invoker = new FakeInvoker().on(fn('items'), () => ok());
});

afterEach(closeGateways);

describe('REST gateway API keys', () => {
  it('runs the authorizer before the usage plan check, as API Gateway does', async () => {
    // Prepare
    invoker.on(AUTHORIZER, (event) => policy(event.authorizationToken === 'Bearer deny' ? 'Deny' : 'Allow', `${STAGE_ARN}/*`));
    const { gateway, log } = await serve(keyedApi(), invoker, { usagePlans: usagePlansOf([plan()]) });

    // Act
    const wrongKey = await fetch(`${gateway.url}/v1/secure`, withKey('wrong-key-0123456789', { Authorization: 'Bearer allow' }));
    const deniedWithWrongKey = await fetch(`${gateway.url}/v1/secure`, withKey('wrong-key-0123456789', { Authorization: 'Bearer deny' }));

    // Assess
    expect(wrongKey.status).toBe(403);
    expect(deniedWithWrongKey.status).toBe(403);
    expect(await deniedWithWrongKey.json()).toEqual({ message: 'User is not authorized to access this resource with an explicit deny' });
    expect(invoker.eventsOf(AUTHORIZER)).toHaveLength(2);
    expect(log.map((entry) => entry.responseType)).toEqual(['INVALID_API_KEY', 'ACCESS_DENIED']);
  });

  it('admits a key only on the API stages its plan names', async () => {
    // Prepare
    const elsewhere = plan({ apiStages: [{ apiId: API_ID, stage: 'other-stage', methodThrottles: {} }] });
    const { gateway } = await serve(keyedApi(), invoker, { usagePlans: usagePlansOf([elsewhere]) });

    // Act
    const response = await fetch(`${gateway.url}/v1/items`, withKey(KEY.value!));

    // Assess
    expect(response.status).toBe(403);
    expect(invoker.eventsOf(fn('items'))).toHaveLength(0);
  });

  it("answers a refused key with the API's own INVALID_API_KEY gateway response", async () => {
    // Prepare
    const api = keyedApi({
      gatewayResponses: [{ responseType: 'INVALID_API_KEY', statusCode: 401, headers: { 'Access-Control-Allow-Origin': '*' }, template: '{"problem":"$context.error.responseType"}' }],
    });
    const { gateway } = await serve(api, invoker, { usagePlans: usagePlansOf([plan()]) });

    // Act
    const response = await fetch(`${gateway.url}/v1/items`);

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(await response.json()).toEqual({ problem: 'INVALID_API_KEY' });
  });

  it("takes the key from the authorizer's usageIdentifierKey when the key source is AUTHORIZER", async () => {
    // Prepare
    invoker.on(AUTHORIZER, (event) => {
      const answer = policy('Allow', `${STAGE_ARN}/*`);
      const usageIdentifierKey = event.authorizationToken.replace(/^Bearer /, '');
      return { result: { ...(answer.result as object), usageIdentifierKey } };
    });
    const { gateway } = await serve(keyedApi({ apiKeySource: 'AUTHORIZER' }), invoker, { usagePlans: usagePlansOf([plan()]) });

    // Act
    const admitted = await fetch(`${gateway.url}/v1/secure`, { headers: { Authorization: `Bearer ${KEY.value}` } });
    const headerIgnored = await fetch(`${gateway.url}/v1/secure`, withKey(KEY.value!, { Authorization: 'Bearer unknown-key-0123456789' }));

    // Assess
    expect(admitted.status).toBe(200);
    expect(headerIgnored.status).toBe(403);
    const [event] = invoker.eventsOf(fn('items'));
    expect(event.requestContext.identity).toMatchObject({ apiKey: KEY.value, apiKeyId: KEY.id });
    expect(event.requestContext.authorizer).not.toHaveProperty('usageIdentifierKey');
  });

  it("refills a key's bucket at the plan's rate", async () => {
    // Prepare
    const clock = manualClock('2026-03-10T12:00:00Z');
    const usagePlans = usagePlansOf([plan({ throttle: { rateLimit: 1, burstLimit: 1 } })], clock.now);
    const { gateway } = await serve(keyedApi(), invoker, { usagePlans });

    // Act
    const first = await fetch(`${gateway.url}/v1/items`, withKey(KEY.value!));
    const second = await fetch(`${gateway.url}/v1/items`, withKey(KEY.value!));
    clock.advance(1_000);
    const afterRefill = await fetch(`${gateway.url}/v1/items`, withKey(KEY.value!));

    // Assess
    expect([first.status, second.status, afterRefill.status]).toEqual([200, 429, 200]);
  });

  it('counts the quota per UTC period, less the offset in the first one', async () => {
    // Prepare: a quota of 2 a day, 1 of it taken off the day the plan starts in.
    const clock = manualClock('2026-03-10T23:59:00Z');
    const usagePlans = usagePlansOf([plan({ quota: { limit: 2, period: 'DAY', offset: 1 } })], clock.now);
    const { gateway, log } = await serve(keyedApi(), invoker, { usagePlans });
    const send = async () => (await fetch(`${gateway.url}/v1/items`, withKey(KEY.value!))).status;

    // Act
    const firstDay = [await send(), await send()];
    clock.set('2026-03-11T00:00:00Z');
    const nextDay = [await send(), await send(), await send()];

    // Assess
    expect(firstDay).toEqual([200, 429]);
    expect(nextDay).toEqual([200, 200, 429]);
    expect(log.at(-1)).toMatchObject({ responseType: 'QUOTA_EXCEEDED' });
  });

  it("shares a plan's limits between every API stage it covers", async () => {
    // Prepare: two stages in one plan with a quota of 1.
    const other = { ...keyedApi(), apiId: 'zyxwvutsrq', logicalId: 'Other' };
    const usagePlans = usagePlansOf([plan({ quota: { limit: 1, period: 'MONTH', offset: 0 }, apiStages: [{ apiId: API_ID, stage: STAGE, methodThrottles: {} }, { apiId: other.apiId, stage: STAGE, methodThrottles: {} }] })]);
    const first = await serve(keyedApi(), invoker, { usagePlans });
    const second = await serve(other, invoker, { usagePlans });

    // Act
    const one = await fetch(`${first.gateway.url}/v1/items`, withKey(KEY.value!));
    const two = await fetch(`${second.gateway.url}/v1/items`, withKey(KEY.value!));

    // Assess
    expect(one.status).toBe(200);
    expect(two.status).toBe(429);
  });
});

describe('quota periods', () => {
  it.each([
    ['DAY', '2026-03-12T17:30:00Z', '2026-03-12T00:00:00.000Z'],
    ['WEEK', '2026-03-12T17:30:00Z', '2026-03-09T00:00:00.000Z'],
    ['WEEK', '2026-03-15T23:59:00Z', '2026-03-09T00:00:00.000Z'],
    ['MONTH', '2026-03-12T17:30:00Z', '2026-03-01T00:00:00.000Z'],
  ] as const)('a %s starting %s began at %s (UTC)', (period, at, start) => {
    expect(new Date(periodStart(period, Date.parse(at))).toISOString()).toBe(start);
  });
});

describe('ApiKeyStore', () => {
  const generatedKey: ApiKeyModel = { logicalId: 'Generated', stackName: 'fixture-stack', name: 'generated', id: 'key0000002', enabled: true };
  let stateDir: string;

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'api-keys-'));
  });

  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('generates 40 letters and digits for a key without a value, and keeps it in the state file for the next start', () => {
    // Prepare
    const stateFile = join(stateDir, 'api-keys.json');

    // Act
    const first = new ApiKeyStore([KEY, generatedKey], stateFile);
    const second = new ApiKeyStore([KEY, generatedKey], stateFile);

    // Assess
    const value = first.list()[1]!.value;
    expect(value).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(second.list()[1]!.value).toBe(value);
    expect(second.find(value)?.id).toBe(generatedKey.id);
    expect(first.list()[0]!.value).toBe(KEY.value);
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({ [generatedKey.id]: value });
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
  });

  it('makes new values each time without a state file', () => {
    const first = new ApiKeyStore([generatedKey]).list()[0]!.value;
    const second = new ApiKeyStore([generatedKey]).list()[0]!.value;

    expect(first).not.toBe(second);
  });
});
