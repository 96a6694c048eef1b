import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '#shared/errors';
import { EXCERPT_CHARS, requestPinned } from '#shared/net/outbound-http';
import {
  checkOutboundUrl,
  OutboundUrlRefusedError,
  parseAllowHosts,
  RULE_ABSOLUTE_HTTPS,
  RULE_MAX_LENGTH,
  RULE_NO_USER_INFO,
  RULE_PUBLIC_HOST,
  RULE_RESOLVES,
  RULE_RESOLVES_PUBLIC,
  vetDestination,
  type OutboundPolicy,
  type Resolver,
} from '#shared/net/outbound-url';
import { startReceiver, type Receiver } from '../../support/receiver';

const NO_ALLOW_LIST: OutboundPolicy = { allowHosts: [] };

/** The rule `checkOutboundUrl` refuses `raw` with; fails the test when it accepts it. */
function refusal(raw: string, policy: OutboundPolicy = NO_ALLOW_LIST): string {
  try {
    const accepted = checkOutboundUrl(raw, policy);
    throw new Error(`accepted ${raw} as ${accepted.href}`);
  } catch (error) {
    if (!(error instanceof OutboundUrlRefusedError)) throw error;
    return error.rule;
  }
}

/** A resolver answering from a table, counting its calls. */
function resolverOf(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

describe('parseAllowHosts', () => {
  it('reads host and host:port entries, comma-separated or as an array, normalized', () => {
    // Act
    const fromCsv = parseAllowHosts(' 127.0.0.1:4010, Receiver.Local. ,[::1]:8080,');
    const fromArray = parseAllowHosts(['localhost']);
    const none = parseAllowHosts(undefined);

    // Assess
    expect(fromCsv).toEqual([{ hostname: '127.0.0.1', port: '4010' }, { hostname: 'receiver.local' }, { hostname: '[::1]', port: '8080' }]);
    expect(fromArray).toEqual([{ hostname: 'localhost' }]);
    expect(none).toEqual([]);
  });

  it.each(['http://127.0.0.1:4010', 'host:port', 'host:99999', 'a b', '127.0.0.1:4010/path', 'user@host'])('refuses the malformed entry %j', (entry) => {
    // Act
    const parse = () => parseAllowHosts(entry);

    // Assess
    expect(parse).toThrow(ConfigurationError);
  });
});

describe('checkOutboundUrl', () => {
  it('accepts a public https URL and returns it parsed and normalized', () => {
    // Act
    const url = checkOutboundUrl('HTTPS://Hooks.Example.com:8443/in?x=1', NO_ALLOW_LIST);

    // Assess
    expect(url.href).toBe('https://hooks.example.com:8443/in?x=1');
  });

  it.each(['http://hooks.example.com/in', 'ftp://hooks.example.com/', 'javascript:alert(1)', '/relative', 'hooks.example.com', ''])('refuses %j: https only', (raw) => {
    // Act
    const rule = refusal(raw);

    // Assess
    expect(rule).toBe(RULE_ABSOLUTE_HTTPS);
  });

  it('refuses a URL longer than 2048 characters before parsing it', () => {
    // Act
    const rule = refusal(`https://hooks.example.com/${'a'.repeat(2048)}`);

    // Assess
    expect(rule).toBe(RULE_MAX_LENGTH);
  });

  it.each(['https://user@hooks.example.com/', 'https://user:pass@hooks.example.com/', 'https://trusted.example@evil.example/'])('refuses user information in %s', (raw) => {
    // Act
    const rule = refusal(raw);

    // Assess
    expect(rule).toBe(RULE_NO_USER_INFO);
  });

  it.each([
    'https://127.0.0.1/',
    'https://10.0.0.1/',
    'https://172.16.5.4/',
    'https://192.168.1.1/',
    'https://169.254.169.254/latest/meta-data/',
    'https://[::1]/',
    'https://[fd00:ec2::254]/',
    'https://[::ffff:127.0.0.1]/',
    'https://2130706433/',
    'https://0x7f.1/',
    'https://0.0.0.0/',
    'https://100.100.100.200/',
    'https://localhost/',
    'https://api.localhost./',
    'https://metadata.google.internal/',
  ])('refuses the internal host of %s', (raw) => {
    // Act
    const rule = refusal(raw);

    // Assess
    expect(rule).toBe(RULE_PUBLIC_HOST);
  });

  it('lets an allow-listed host use plain http and a private address, on its port only when the entry names one', () => {
    // Prepare
    const policy: OutboundPolicy = { allowHosts: parseAllowHosts('127.0.0.1:4010,localhost') };

    // Act
    const listed = checkOutboundUrl('http://127.0.0.1:4010/hook', policy);
    const anyPort = checkOutboundUrl('http://localhost:9999/hook', policy);
    const otherPort = refusal('http://127.0.0.1:4011/hook', policy);
    const otherPortHttps = refusal('https://127.0.0.1:4011/hook', policy);

    // Assess
    expect(listed.href).toBe('http://127.0.0.1:4010/hook');
    expect(anyPort.href).toBe('http://localhost:9999/hook');
    expect(otherPort).toBe(RULE_ABSOLUTE_HTTPS);
    expect(otherPortHttps).toBe(RULE_PUBLIC_HOST);
  });

  it('still refuses user information on an allow-listed host', () => {
    // Act
    const rule = refusal('http://user@127.0.0.1:4010/', { allowHosts: parseAllowHosts('127.0.0.1:4010') });

    // Assess
    expect(rule).toBe(RULE_NO_USER_INFO);
  });
});

describe('vetDestination', () => {
  it('resolves the host and pins its first address when every address is public', async () => {
    // Prepare
    const resolve = resolverOf({ 'hooks.example.com': ['2606:4700:4700::1111', '93.184.216.34'] });

    // Act
    const vetted = await vetDestination(new URL('https://hooks.example.com/in'), NO_ALLOW_LIST, { resolve });

    // Assess
    expect(vetted).toMatchObject({ address: '2606:4700:4700::1111', family: 6 });
    expect(resolve.calls).toEqual(['hooks.example.com']);
  });

  it.each([
    ['a private address', ['10.1.2.3']],
    ['one private address among public ones', ['93.184.216.34', '127.0.0.1']],
    ['the metadata endpoint', ['169.254.169.254']],
    ['an IPv4-mapped loopback', ['::ffff:127.0.0.1']],
    ['a unique-local IPv6 address', ['fd12:3456::1']],
    ['an answer that is no address', ['not-an-address']],
  ])('refuses a host that resolves to %s, without naming the address', async (_label, addresses) => {
    // Prepare
    const resolve = resolverOf({ 'internal.example.com': addresses });

    // Act
    const outcome = vetDestination(new URL('https://internal.example.com/'), NO_ALLOW_LIST, { resolve });

    // Assess
    await expect(outcome).rejects.toMatchObject({ name: 'OutboundUrlRefusedError', rule: RULE_RESOLVES_PUBLIC });
    await expect(outcome).rejects.not.toThrow(addresses[0]);
  });

  it('refuses a host without addresses and lets the resolver error through', async () => {
    // Prepare
    const resolve = resolverOf({ 'empty.example.com': [] });

    // Act
    const empty = vetDestination(new URL('https://empty.example.com/'), NO_ALLOW_LIST, { resolve });
    const missing = vetDestination(new URL('https://missing.example.com/'), NO_ALLOW_LIST, { resolve });

    // Assess
    await expect(empty).rejects.toMatchObject({ rule: RULE_RESOLVES });
    await expect(missing).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('vets anew on every call: a record that changes to a private address is refused', async () => {
    // Prepare
    const answers = [['93.184.216.34'], ['10.0.0.7']];
    const resolve: Resolver = async () => (answers.shift() ?? []).map((address) => ({ address, family: 4 }));
    const url = new URL('https://rebinding.example.com/');

    // Act
    const first = await vetDestination(url, NO_ALLOW_LIST, { resolve });
    const second = vetDestination(url, NO_ALLOW_LIST, { resolve });

    // Assess
    expect(first.address).toBe('93.184.216.34');
    await expect(second).rejects.toMatchObject({ rule: RULE_RESOLVES_PUBLIC });
  });

  it('takes a literal address as its own answer, without resolving', async () => {
    // Prepare
    const resolve = resolverOf({});

    // Act
    const vetted = await vetDestination(new URL('https://[2606:4700:4700::1111]/'), NO_ALLOW_LIST, { resolve });

    // Assess
    expect(vetted).toMatchObject({ address: '2606:4700:4700::1111', family: 6 });
    expect(resolve.calls).toEqual([]);
  });

  it('lets an allow-listed host resolve to a private address', async () => {
    // Prepare
    const resolve = resolverOf({ 'receiver.test': ['127.0.0.1'] });
    const policy = { allowHosts: parseAllowHosts('receiver.test') };

    // Act
    const vetted = await vetDestination(new URL('http://receiver.test:4010/'), policy, { resolve });

    // Assess
    expect(vetted).toMatchObject({ address: '127.0.0.1', family: 4 });
  });

  it('stops waiting for a slow resolver when the signal aborts', async () => {
    // Prepare
    const resolve: Resolver = () => new Promise(() => undefined);
    const controller = new AbortController();

    // Act
    const outcome = vetDestination(new URL('https://slow.example.com/'), NO_ALLOW_LIST, { resolve, signal: controller.signal });
    controller.abort(new Error('try timed out'));

    // Assess
    await expect(outcome).rejects.toThrow('try timed out');
  });
});

describe('requestPinned', () => {
  let receiver: Receiver;
  const never = new AbortController().signal;

  beforeEach(async () => {
    receiver = await startReceiver();
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await receiver.close();
  });

  it('connects to the pinned address while sending the URL host, whatever the name would resolve to', async () => {
    // Prepare: `receiver.test` resolves nowhere; only the pin makes the request arrive.
    const url = new URL(`http://receiver.test:${receiver.port}/hook?q=1`);

    // Act
    const response = await requestPinned({ url, address: '127.0.0.1', family: 4 }, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}', signal: never });

    // Assess
    expect(response.status).toBe(200);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]).toMatchObject({ method: 'POST', path: '/hook?q=1', body: '{"a":1}' });
    expect(receiver.received[0]?.headers).toMatchObject({ host: `receiver.test:${receiver.port}`, 'content-length': '7' });
  });

  it('returns a 3xx as it is, without following it', async () => {
    // Prepare
    receiver.script({ status: 302, headers: { location: `http://127.0.0.1:${receiver.port}/elsewhere` } });
    const url = new URL(`http://127.0.0.1:${receiver.port}/hook`);

    // Act
    const response = await requestPinned({ url, address: '127.0.0.1', family: 4 }, { method: 'POST', headers: {}, body: '{}', signal: never });

    // Assess
    expect(response.status).toBe(302);
    expect(receiver.received.map((request) => request.path)).toEqual(['/hook']);
  });

  it('reads at most maxResponseBytes of the body and keeps a short excerpt', async () => {
    // Prepare
    receiver.script({ status: 500, body: `oops\r\n${'x'.repeat(1024 * 1024)}` });
    const url = new URL(`http://127.0.0.1:${receiver.port}/hook`);

    // Act
    const response = await requestPinned({ url, address: '127.0.0.1', family: 4 }, { method: 'POST', headers: {}, body: '{}', signal: never, maxResponseBytes: 64 * 1024 });

    // Assess
    expect(response).toMatchObject({ status: 500, truncated: true, bytesRead: 64 * 1024 });
    expect(response.excerpt.startsWith('oops x')).toBe(true);
    expect(response.excerpt.length).toBeLessThanOrEqual(EXCERPT_CHARS + 1);
  });

  it('rejects with the signal reason when it aborts while waiting for the answer', async () => {
    // Prepare
    receiver.script({ hang: true });
    const url = new URL(`http://127.0.0.1:${receiver.port}/hook`);
    const controller = new AbortController();

    // Act
    const outcome = requestPinned({ url, address: '127.0.0.1', family: 4 }, { method: 'POST', headers: {}, body: '{}', signal: controller.signal });
    setTimeout(() => controller.abort(new Error('try timed out')), 20);

    // Assess
    await expect(outcome).rejects.toThrow('try timed out');
  });

  it('fails with the socket error when nothing listens at the pinned address', async () => {
    // Prepare
    const port = receiver.port;
    await receiver.close();
    receiver = await startReceiver();
    const url = new URL(`http://127.0.0.1:${port}/hook`);

    // Act
    const outcome = requestPinned({ url, address: '127.0.0.1', family: 4 }, { method: 'POST', headers: {}, body: '{}', signal: never });

    // Assess
    await expect(outcome).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
