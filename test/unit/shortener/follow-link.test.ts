import { describe, expect, it, vi } from 'vitest';
import {
  bodyOf,
  captureStdout,
  commandNames,
  context,
  createLink,
  linkEvent,
  loadShortener,
  newTenant,
  problemOf,
  redirectEvent,
  T0,
  useShortenerTables,
} from './harness';
import { useFrozenDate } from '../../support/clock';

const table = useShortenerTables();

const CHROME_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
/** Cache TTLs no test outlasts, so asserts that count reads never depend on how fast the machine is. */
const LONG_CACHE = { LINK_CACHE_TTL_SECONDS: '3600', LINK_NEGATIVE_CACHE_TTL_SECONDS: '3600' };

useFrozenDate(T0);

describe('GET /{code} (follow-link handler)', () => {
  it('redirects with 302 to the target, uncached by browsers', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const link = await createLink(shortener, { tenantId: newTenant() }, { url: 'https://example.com/a?b=1' });
    captureStdout();

    // Act
    const result = await shortener.follow(redirectEvent(link.code), context);

    // Assess
    expect(result.statusCode).toBe(302);
    expect(result.headers).toMatchObject({ location: 'https://example.com/a?b=1', 'cache-control': 'private, max-age=0' });
    expect(result.body).toBe('');
  });

  it('redirects with the link redirect type', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const link = await createLink(shortener, { tenantId: newTenant() }, { url: 'https://example.com/form', redirectType: 307 });
    captureStdout();

    // Act
    const result = await shortener.follow(redirectEvent(link.code), context);

    // Assess
    expect(result.statusCode).toBe(307);
    expect(result.headers?.['cache-control']).toBe('private, max-age=0');
  });

  it('lets browsers keep a 301 for PERMANENT_REDIRECT_MAX_AGE_SECONDS, never past the expiry, and not at all with a click limit', async () => {
    // Prepare
    const shortener = await loadShortener(table, { PERMANENT_REDIRECT_MAX_AGE_SECONDS: '7200' });
    const caller = { tenantId: newTenant() };
    const forever = await createLink(shortener, caller, { url: 'https://example.com/forever', redirectType: 301 });
    const expiring = await createLink(shortener, caller, { url: 'https://example.com/soon', redirectType: 301, expiresAt: new Date(T0 + 1_800_000).toISOString() });
    const late = await createLink(shortener, caller, { url: 'https://example.com/late', redirectType: 301, expiresAt: new Date(T0 + 86_400_000).toISOString() });
    const limited = await createLink(shortener, caller, { url: 'https://example.com/limited', redirectType: 301, maxClicks: 10 });
    captureStdout();

    // Act
    const results = await Promise.all([forever, expiring, late, limited].map((link) => shortener.follow(redirectEvent(link.code), context)));

    // Assess
    expect(results.map((r) => r.statusCode)).toEqual([301, 301, 301, 301]);
    expect(results.map((r) => r.headers?.['cache-control'])).toEqual(['public, max-age=7200', 'public, max-age=1800', 'public, max-age=7200', 'private, max-age=0']);
  });

  it('answers an unknown code with 404 problem+json', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    captureStdout();

    // Act
    const result = await shortener.follow(redirectEvent('NoSuchCode'), context);

    // Assess
    expect(problemOf(result, 404)).toMatchObject({ type: 'urn:switchyard:problem:not-found', detail: 'no link NoSuchCode', instance: '/NoSuchCode' });
    expect(result.headers?.['cache-control']).toBe('no-store');
  });

  it('answers a code outside the code alphabet with 400 naming path.code', async () => {
    // Prepare
    const shortener = await loadShortener(table);

    // Act
    const result = await shortener.follow(redirectEvent('a.b'), context);

    // Assess
    expect(problemOf(result, 400)['errors']).toEqual([{ field: 'path.code', rule: 'must be 3 to 64 of A-Z, a-z, 0-9, _ and -' }]);
  });

  it('answers an expired link with 410', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const link = await createLink(shortener, { tenantId: newTenant() }, { url: 'https://example.com/', expiresAt: new Date(T0 + 60_000).toISOString() });
    captureStdout();
    const before = await shortener.follow(redirectEvent(link.code), context);
    vi.setSystemTime(T0 + 60_000);

    // Act: the cached link is judged against the clock too.
    const result = await shortener.follow(redirectEvent(link.code), context);

    // Assess
    expect(before.statusCode).toBe(302);
    expect(problemOf(result, 410)).toMatchObject({ type: 'urn:switchyard:problem:gone', detail: 'this link has expired' });
  });

  it('answers a disabled link with 410', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const link = await createLink(shortener, caller, { url: 'https://example.com/' });
    expect((await shortener.update(linkEvent('PATCH', caller, link.code, { disabled: true }), context)).statusCode).toBe(200);

    // Act
    const result = await shortener.follow(redirectEvent(link.code), context);

    // Assess
    expect(problemOf(result, 410)['detail']).toBe('this link was disabled by its owner');
  });

  it('redirects a link with maxClicks 2 exactly twice, counting in DynamoDB, then answers 410', async () => {
    // Prepare
    const shortener = await loadShortener(table, LONG_CACHE);
    const caller = { tenantId: newTenant() };
    const link = await createLink(shortener, caller, { url: 'https://example.com/twice', maxClicks: 2 });
    const stdout = captureStdout();
    const send = vi.spyOn(shortener.documentClient, 'send');

    // Act
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await shortener.follow(redirectEvent(link.code), context));

    // Assess: one read (then the cache), and one conditional write per redirect, the third refused.
    expect(results.map((r) => r.statusCode)).toEqual([302, 302, 410]);
    expect(problemOf(results[2]!, 410)['detail']).toBe('this link has reached its click limit');
    expect(commandNames(send)).toEqual(['GetCommand', 'UpdateCommand', 'UpdateCommand', 'UpdateCommand']);
    expect(stdout.clicks()).toHaveLength(2);
    const stored = await shortener.get(linkEvent('GET', caller, link.code), context);
    expect(bodyOf(stored)).toMatchObject({ maxClicks: 2, clicksUsed: 2 });
  });

  it('answers a deleted link with 404', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const link = await createLink(shortener, caller, { url: 'https://example.com/' });
    expect((await shortener.remove(linkEvent('DELETE', caller, link.code), context)).statusCode).toBe(204);
    const stdout = captureStdout();

    // Act
    const result = await shortener.follow(redirectEvent(link.code), context);

    // Assess
    expect(problemOf(result, 404)['detail']).toBe(`no link ${link.code}`);
    expect(stdout.clicks()).toEqual([]);
  });
});

describe('GET /{code}: the redirect cache', () => {
  it('reads a link once, then serves it from the instance cache', async () => {
    // Prepare
    const shortener = await loadShortener(table, LONG_CACHE);
    const link = await createLink(shortener, { tenantId: newTenant() }, { url: 'https://example.com/hot' });
    captureStdout();
    const send = vi.spyOn(shortener.documentClient, 'send');

    // Act
    const first = await shortener.follow(redirectEvent(link.code), context);
    const second = await shortener.follow(redirectEvent(link.code), context);

    // Assess
    expect([first.statusCode, second.statusCode]).toEqual([302, 302]);
    expect(second.headers?.['location']).toBe('https://example.com/hot');
    expect(commandNames(send)).toEqual(['GetCommand']);
  });

  it('remembers an unknown code, so a guess repeated costs no second read', async () => {
    // Prepare
    const shortener = await loadShortener(table, LONG_CACHE);
    const send = vi.spyOn(shortener.documentClient, 'send');

    // Act
    const first = await shortener.follow(redirectEvent('Unknown1'), context);
    const second = await shortener.follow(redirectEvent('Unknown1'), context);
    const other = await shortener.follow(redirectEvent('Unknown2'), context);

    // Assess
    expect([first.statusCode, second.statusCode, other.statusCode]).toEqual([404, 404, 404]);
    expect(commandNames(send)).toEqual(['GetCommand', 'GetCommand']);
  });

  it('reads every time when the TTLs are 0', async () => {
    // Prepare
    const shortener = await loadShortener(table, { LINK_CACHE_TTL_SECONDS: '0', LINK_NEGATIVE_CACHE_TTL_SECONDS: '0' });
    const link = await createLink(shortener, { tenantId: newTenant() }, { url: 'https://example.com/' });
    captureStdout();
    const send = vi.spyOn(shortener.documentClient, 'send');

    // Act
    for (const code of [link.code, link.code, 'Unknown3', 'Unknown3']) await shortener.follow(redirectEvent(code), context);

    // Assess
    expect(commandNames(send)).toEqual(['GetCommand', 'GetCommand', 'GetCommand', 'GetCommand']);
  });
});

describe('GET /{code}: the click line', () => {
  it('writes one click line on stdout that the analytics contract accepts, with the facts of the request', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const link = await createLink(shortener, caller, { url: 'https://example.com/' });
    const stdout = captureStdout();

    // Act
    await shortener.follow(
      redirectEvent(link.code, { Referer: 'https://News.Example.org/story?id=7', 'CloudFront-Viewer-Country': 'de', 'User-Agent': CHROME_ON_WINDOWS, 'X-Correlation-Id': 'corr-123' }),
      context,
    );
    await shortener.follow(redirectEvent(link.code, { 'user-agent': IPHONE }), context);
    await shortener.follow(redirectEvent(link.code, { 'User-Agent': GOOGLEBOT, 'CloudFront-Viewer-Country': 'XX1' }), context);

    // Assess: every line on stdout is a whole click line (the subscription filter matches whole JSON lines).
    const clicks = stdout.clicks();
    expect(stdout.lines()).toHaveLength(3);
    expect(clicks).toEqual([
      {
        _type: 'switchyard.click',
        id: expect.any(String),
        code: link.code,
        tenantId: caller.tenantId,
        linkCreatedAt: link.createdAt,
        at: new Date(T0).toISOString(),
        referrerHost: 'news.example.org',
        country: 'DE',
        agent: 'desktop',
        bot: false,
        correlationId: 'corr-123',
      },
      expect.objectContaining({ referrerHost: null, country: null, agent: 'mobile', bot: false }),
      expect.objectContaining({ referrerHost: null, country: null, agent: 'bot', bot: true }),
    ]);
    expect(new Set(clicks.map((click) => click.id)).size).toBe(3);
  });

  it('writes a click line the contract accepts even when the Referer names an over-long host', async () => {
    // Prepare: URL parsing accepts hosts longer than DNS allows; the contract caps them at 253.
    const shortener = await loadShortener(table);
    const link = await createLink(shortener, { tenantId: newTenant() }, { url: 'https://example.com/' });
    const stdout = captureStdout();

    // Act
    const result = await shortener.follow(redirectEvent(link.code, { Referer: `https://${'a'.repeat(300)}.example/`, 'User-Agent': CHROME_ON_WINDOWS }), context);

    // Assess
    expect(result.statusCode).toBe(302);
    expect(stdout.clicks()).toEqual([expect.objectContaining({ referrerHost: null, agent: 'desktop' })]);
  });

  it('writes no click line for a 404 or a 410', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const link = await createLink(shortener, { tenantId: newTenant() }, { url: 'https://example.com/', maxClicks: 1 });
    const stdout = captureStdout();
    await shortener.follow(redirectEvent(link.code), context);

    // Act
    const exhausted = await shortener.follow(redirectEvent(link.code), context);
    const unknown = await shortener.follow(redirectEvent('NotALink'), context);

    // Assess
    expect([exhausted.statusCode, unknown.statusCode]).toEqual([410, 404]);
    expect(stdout.clicks()).toHaveLength(1);
    expect(stdout.lines()).toHaveLength(1);
  });
});
