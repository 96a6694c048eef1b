import { createHmac, randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '#shared/errors';
import type { Resolver } from '#shared/net/outbound-url';
import { resilientCall, type ResilienceOptions } from '#shared/resilience';
import { PermanentJobError, type JobContext } from '../../../functions/jobs/types/job-type';
import { makeWebhookDeliver, signingKey, WebhookDeliverPayloadSchema, type WebhookDeliverDeps, type WebhookDeliveryResult } from '../../../functions/jobs/types/webhook-deliver';
import { eventually, startReceiver, type Receiver } from '../../support/receiver';

const KEY = randomBytes(32);
const SECRET = `whsec_${KEY.toString('base64')}`;
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

/** Millisecond timings; breaker and bulkhead loose unless a test is about them. */
const FAST: ResilienceOptions = {
  timeoutMs: 2_000,
  retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 5 },
  breaker: { kind: 'consecutive', failures: 100, halfOpenAfterMs: 60_000 },
  bulkhead: { maxConcurrent: 50, maxQueued: 50 },
};

const logger = new Logger({ logLevel: 'SILENT' });

let receiver: Receiver;

beforeEach(async () => {
  receiver = await startReceiver();
});

afterEach(async () => {
  await receiver.close();
});

function deliverer(overrides: Partial<WebhookDeliverDeps> = {}, resilience: ResilienceOptions = FAST) {
  return makeWebhookDeliver({
    signingSecret: async () => SECRET,
    allowHosts: [`127.0.0.1:${receiver.port}`, `receiver.test:${receiver.port}`],
    calls: resilientCall('webhook.deliver', resilience),
    now: () => NOW,
    ...overrides,
  });
}

function contextOf(overrides: Partial<JobContext> = {}): JobContext {
  return {
    tenantId: 'tenant-1',
    jobId: randomBytes(16).toString('hex'),
    attempt: 1,
    signal: new AbortController().signal,
    reportProgress: async () => undefined,
    logger,
    ...overrides,
  };
}

const hookUrl = (): string => `http://127.0.0.1:${receiver.port}/hooks/in`;

/** Runs one attempt; the payload passes the schema first, as the worker does. */
function deliver(raw: unknown, overrides: Partial<WebhookDeliverDeps> = {}, context = contextOf(), resilience: ResilienceOptions = FAST) {
  const type = deliverer(overrides, resilience);
  return type.run(type.payload.parse(raw), context);
}

/** The signature a receiver computes, written out here rather than taken from the module. */
function expectedSignature(id: string, timestamp: string, body: string): string {
  return `v1,${createHmac('sha256', KEY).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The error an attempt fails with; fails the test when it succeeds. */
async function rejection(outcome: Promise<unknown>): Promise<Error> {
  try {
    await outcome;
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error('the delivery succeeded');
}

/** A resolver from a table, counting calls. */
function resolverOf(table: Record<string, string[]>): Resolver & { calls: () => number } {
  let calls = 0;
  const resolve = async (hostname: string) => {
    calls++;
    return (table[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls: () => calls });
}

describe('webhook.deliver payload', () => {
  it('accepts a URL, any JSON body and safe custom headers', () => {
    // Act
    const parsed = WebhookDeliverPayloadSchema.safeParse({ url: 'https://hooks.example.com/in', body: [1, 'two', { three: null }], headers: { 'X-Tenant-Ref': 'abc 123', 'user-agent': 'mine/1' } });
    const scalar = WebhookDeliverPayloadSchema.safeParse({ url: 'https://hooks.example.com/in', body: 'just a string' });

    // Assess
    expect(parsed.success).toBe(true);
    expect(scalar.success).toBe(true);
  });

  it.each(['Authorization', 'Host', 'content-length', 'Connection', 'Transfer-Encoding', 'Content-Type', 'Cookie', 'Webhook-Id', 'webhook-signature', 'Proxy-Authorization', 'Upgrade'])(
    'refuses the reserved header %s',
    (name) => {
      // Act
      const parsed = WebhookDeliverPayloadSchema.safeParse({ url: 'https://hooks.example.com/in', body: {}, headers: { [name]: 'x' } });

      // Assess
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['headers', name]);
    },
  );

  it.each([
    ['more than 20 headers', Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-h${i}`, 'v']))],
    ['a name with a space', { 'x bad': 'v' }],
    ['a value with a line break', { 'x-injected': 'a\r\nx-evil: 1' }],
    ['a non-ASCII value', { 'x-name': 'café' }],
    ['a name repeated in another case', { 'X-Ref': 'a', 'x-ref': 'b' }],
    ['a value of 1025 characters', { 'x-long': 'v'.repeat(1025) }],
  ])('refuses %s', (_label, headers) => {
    // Act
    const parsed = WebhookDeliverPayloadSchema.safeParse({ url: 'https://hooks.example.com/in', body: {}, headers });

    // Assess
    expect(parsed.success).toBe(false);
  });

  it.each([
    ['a relative URL', { url: '/hooks/in', body: {} }],
    ['a URL of 2049 characters', { url: `https://hooks.example.com/${'a'.repeat(2049 - 26)}`, body: {} }],
    ['no body', { url: 'https://hooks.example.com/in' }],
    ['an unknown field', { url: 'https://hooks.example.com/in', body: {}, method: 'PUT' }],
  ])('refuses %s', (_label, payload) => {
    // Act
    const parsed = WebhookDeliverPayloadSchema.safeParse(payload);

    // Assess
    expect(parsed.success).toBe(false);
  });
});

describe('webhook.deliver run', () => {
  it('POSTs the exact body with the Standard Webhooks headers, signed with the secret', async () => {
    // Prepare
    const context = contextOf();
    const body = { event: 'order.paid', amount: 12.5, tags: ['a', 'ü'], nested: { ok: true } };

    // Act
    const result = await deliver({ url: hookUrl(), body, headers: { 'X-Tenant-Ref': 'r-42' } }, {}, context);

    // Assess
    expect(result).toMatchObject({ status: 200, attempts: 1 });
    expect(receiver.received).toHaveLength(1);
    const request = receiver.received[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/hooks/in');
    expect(request.body).toBe(JSON.stringify(body));
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': context.jobId,
      'webhook-timestamp': String(NOW / 1000),
      'x-tenant-ref': 'r-42',
    });
    expect(request.headers['webhook-signature']).toBe(expectedSignature(context.jobId, String(NOW / 1000), request.body));
  });

  it('signs with the UTF-8 bytes of a secret that is not in whsec_ form', async () => {
    // Prepare
    const plain = 'a-plain-secret-of-at-least-24-bytes';
    const context = contextOf();

    // Act
    await deliver({ url: hookUrl(), body: { n: 1 } }, { signingSecret: async () => plain }, context);

    // Assess
    const request = receiver.received[0]!;
    const expected = `v1,${createHmac('sha256', plain).update(`${context.jobId}.${NOW / 1000}.${request.body}`).digest('base64')}`;
    expect(request.headers['webhook-signature']).toBe(expected);
  });

  it('refuses a signing secret shorter than 24 bytes, as a configuration fault to retry', async () => {
    // Act
    const outcome = deliver({ url: hookUrl(), body: {} }, { signingSecret: async () => 'short' });

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(ConfigurationError);
    expect(() => signingKey(`whsec_${randomBytes(23).toString('base64')}`)).toThrow(ConfigurationError);
    expect(receiver.received).toHaveLength(0);
  });

  it('retries a 500 within the attempt, with the same webhook-id and a valid signature each time', async () => {
    // Prepare
    receiver.script({ status: 500, body: 'temporarily broken' }, { status: 204 });
    const context = contextOf();

    // Act
    const result = await deliver({ url: hookUrl(), body: { n: 1 } }, {}, context);

    // Assess
    expect(result).toMatchObject({ status: 204, attempts: 2 });
    expect(receiver.received).toHaveLength(2);
    for (const request of receiver.received) {
      expect(request.headers['webhook-id']).toBe(context.jobId);
      expect(request.headers['webhook-signature']).toBe(expectedSignature(context.jobId, String(request.headers['webhook-timestamp']), request.body));
    }
  });

  it('fails a 400 permanently, after one request, quoting the start of the answer', async () => {
    // Prepare
    receiver.script({ status: 400, body: 'unknown event type' });

    // Act
    const outcome = deliver({ url: hookUrl(), body: {} });

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(PermanentJobError);
    await expect(outcome).rejects.toThrow(/400.*unknown event type/);
    expect(receiver.received).toHaveLength(1);
  });

  it('never reaches the Lambda Runtime API, even when the allow-list names its host', async () => {
    // Prepare: a development allow-list of the bare loopback host, and the runtime API on the receiver's port.
    const runtimeApi = `127.0.0.1:${receiver.port}`;

    // Act
    const outcome = deliver({ url: hookUrl(), body: {} }, { allowHosts: ['127.0.0.1'], runtimeApi });
    const otherPort = deliver({ url: hookUrl(), body: {} }, { allowHosts: ['127.0.0.1'], runtimeApi: '127.0.0.1:9001' });

    // Assess: refused for good; the same host on another port is still allowed.
    await expect(outcome).rejects.toBeInstanceOf(PermanentJobError);
    await expect(outcome).rejects.toThrow(/target URL refused/);
    await expect(otherPort).resolves.toMatchObject({ status: 200 });
    expect(receiver.received).toHaveLength(1);
  });

  it('fails a 3xx permanently and does not follow it', async () => {
    // Prepare
    receiver.script({ status: 307, headers: { location: `http://127.0.0.1:${receiver.port}/elsewhere` } });

    // Act
    const outcome = deliver({ url: hookUrl(), body: {} });

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(PermanentJobError);
    await expect(outcome).rejects.toThrow(/307 \(redirects are not followed\)/);
    expect(receiver.received.map((request) => request.path)).toEqual(['/hooks/in']);
  });

  it.each([
    ['503', { status: 503 }],
    ['429', { status: 429 }],
    ['408', { status: 408 }],
  ])('retries a %s within the attempt, then fails it for the queue to retry later', async (_label, answer) => {
    // Prepare
    receiver.script(answer, answer, answer);

    // Act
    const outcome = deliver({ url: hookUrl(), body: {} });

    // Assess
    const error = await rejection(outcome);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PermanentJobError);
    expect(error.message).toMatch(new RegExp(`${answer.status}.*after 3 tries`));
    expect(receiver.received).toHaveLength(3);
  });

  it('keeps a huge error answer out of the message: a short excerpt only', async () => {
    // Prepare
    receiver.script({ status: 422, body: `bad field\n${'z'.repeat(2 * 1024 * 1024)}` });

    // Act
    const error = await rejection(deliver({ url: hookUrl(), body: {} }));

    // Assess
    expect(error).toBeInstanceOf(PermanentJobError);
    expect(error.message).toContain('bad field zzz');
    expect(error.message.length).toBeLessThan(400);
  });

  it('gives each try its timeout and fails the attempt, for a later retry, when every try runs out', async () => {
    // Prepare
    receiver.script({ hang: true }, { hang: true });
    const started = performance.now();

    // Act
    const outcome = deliver({ url: hookUrl(), body: {} }, {}, contextOf(), { ...FAST, timeoutMs: 100, retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 1 } });

    // Assess
    const error = await rejection(outcome);
    expect(error).not.toBeInstanceOf(PermanentJobError);
    expect(error.message).toMatch(/timed out after 100 ms/);
    expect(receiver.received).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("stops when the job's own signal aborts, without another try", async () => {
    // Prepare
    receiver.script({ hang: true });
    const job = new AbortController();

    // Act
    const outcome = deliver({ url: hookUrl(), body: {} }, {}, contextOf({ signal: job.signal }), { ...FAST, timeoutMs: 10_000 });
    await eventually(() => receiver.received.length === 1);
    job.abort(new Error('job timeout'));

    // Assess
    const error = await rejection(outcome);
    expect(error).not.toBeInstanceOf(PermanentJobError);
    expect(error.message).toMatch(/ran out of time/);
    expect(receiver.received).toHaveLength(1);
  });

  it('opens the circuit after repeated failures and then refuses fast, without a request', async () => {
    // Prepare
    const resilience: ResilienceOptions = { ...FAST, retry: { maxRetries: 0 }, breaker: { kind: 'consecutive', failures: 2, halfOpenAfterMs: 60_000 } };
    const type = deliverer({}, resilience);
    const payload = type.payload.parse({ url: hookUrl(), body: {} });
    receiver.script({ status: 500 }, { status: 502 });
    await type.run(payload, contextOf()).catch(() => undefined);
    await type.run(payload, contextOf()).catch(() => undefined);

    // Act
    const error = await rejection(type.run(payload, contextOf()));

    // Assess
    expect(error).not.toBeInstanceOf(PermanentJobError);
    expect(error.message).toMatch(/circuit is open/);
    expect(receiver.received).toHaveLength(2);
  });

  it('runs at most maxConcurrent deliveries at once in an instance', async () => {
    // Prepare: the resolver runs inside a bulkhead slot, so its calls count the deliveries let in.
    const resolve = resolverOf({ 'receiver.test': ['127.0.0.1'] });
    const type = deliverer({ resolve }, { ...FAST, bulkhead: { maxConcurrent: 2, maxQueued: 10 } });
    const payload = type.payload.parse({ url: `http://receiver.test:${receiver.port}/hooks/in`, body: {} });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    receiver.script(...Array.from({ length: 5 }, () => ({ holdUntil: held })));

    // Act
    const runs = Array.from({ length: 5 }, () => type.run(payload, contextOf()));
    await eventually(() => receiver.inFlight() === 2);
    const letInWhileHeld = resolve.calls();
    release();
    const results = (await Promise.all(runs)) as WebhookDeliveryResult[];

    // Assess
    expect(letInWhileHeld).toBe(2);
    expect(receiver.peak()).toBe(2);
    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200, 200]);
  });

  it('connects to the address the resolver vetted, sending the URL host', async () => {
    // Prepare: `receiver.test` exists only in the injected resolver.
    const resolve = resolverOf({ 'receiver.test': ['127.0.0.1'] });

    // Act
    const result = await deliver({ url: `http://receiver.test:${receiver.port}/hooks/in`, body: {} }, { resolve });

    // Assess
    expect(result).toMatchObject({ status: 200 });
    expect(receiver.received[0]?.headers.host).toBe(`receiver.test:${receiver.port}`);
  });

  describe('SSRF guard', () => {
    it.each([
      ['plain http to a host off the allow-list', 'http://hooks.example.com/in'],
      ['plain http to an allow-listed host on another port', 'http://127.0.0.1:1/in'],
      ['a loopback literal', 'https://127.0.0.1/in'],
      ['a private literal', 'https://10.0.0.1/in'],
      ['the metadata endpoint', 'https://169.254.169.254/latest/meta-data/'],
      ['an IPv6 loopback literal', 'https://[::1]/in'],
      ['user information', 'https://user:pass@hooks.example.com/in'],
      ['user information hiding the host', `http://trusted@127.0.0.1:${0}/in`],
    ])('refuses %s permanently, before resolving or sending', async (_label, url) => {
      // Prepare
      const resolve = resolverOf({ 'hooks.example.com': ['93.184.216.34'] });
      const target = url.replace(':0/', `:${receiver.port}/`);

      // Act
      const outcome = deliver({ url: target, body: {} }, { resolve });

      // Assess
      await expect(outcome).rejects.toBeInstanceOf(PermanentJobError);
      await expect(outcome).rejects.toThrow(/target URL refused/);
      expect(resolve.calls()).toBe(0);
      expect(receiver.received).toHaveLength(0);
    });

    it.each([
      ['a private address', ['10.1.2.3']],
      ['a public and a loopback address', ['93.184.216.34', '127.0.0.1']],
      ['the metadata endpoint', ['169.254.169.254']],
    ])('refuses a host that resolves to %s permanently, without retrying', async (_label, addresses) => {
      // Prepare
      const resolve = resolverOf({ 'internal.example.com': addresses });

      // Act
      const outcome = deliver({ url: 'https://internal.example.com/in', body: {} }, { resolve });

      // Assess
      await expect(outcome).rejects.toBeInstanceOf(PermanentJobError);
      await expect(outcome).rejects.toThrow(/resolves to a private/);
      expect(resolve.calls()).toBe(1);
    });
  });
});
