import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LinkSchema } from '#shared/contracts/shortener';
import {
  API_DOMAIN,
  bodyOf,
  context,
  createEvent,
  linkEvent,
  loadShortener,
  newTenant,
  problemOf,
  STAGE,
  T0,
  useShortenerTables,
  violatedFields,
  type Caller,
  type Shortener,
} from './harness';
import { useFrozenDate } from '../../support/clock';

const table = useShortenerTables();

/** How many links a tenant has, read from the tenant index. */
async function linkCount(caller: Caller): Promise<number> {
  const answer = await table.client.send(
    new QueryCommand({ TableName: table.tableName, IndexName: 'byTenant', KeyConditionExpression: 'gsi1pk = :t', ExpressionAttributeValues: { ':t': `T#${caller.tenantId}` } }),
  );
  return answer.Count ?? 0;
}

/** A stored link item for `code`, for tests that write to the repository directly. */
function draft(code: string) {
  const createdAt = new Date(T0).toISOString();
  return {
    pk: `L#${code}`,
    sk: 'link' as const,
    code,
    tenantId: 'someone',
    url: 'https://example.com/held',
    createdAt,
    createdBy: 'holder',
    redirectType: 302 as const,
    tags: [],
    disabled: false,
  };
}

useFrozenDate(T0);
afterEach(() => vi.doUnmock('../../../functions/shortener/codes'));

describe('POST /v1/links (create-link handler)', () => {
  it('creates a link with a random 8-character base62 code, on the API URL, and points Location at it', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };

    // Act
    const result = await shortener.create(createEvent(caller, { url: 'HTTPS://Example.COM/a/b?q=1#top', tags: ['spring'] }), context);

    // Assess
    expect(result.statusCode).toBe(201);
    const link = LinkSchema.parse(bodyOf(result));
    expect(link.code).toMatch(/^[0-9A-Za-z]{8}$/);
    expect(link).toEqual({
      code: link.code,
      shortUrl: `https://${API_DOMAIN}/${STAGE}/${link.code}`,
      url: 'https://example.com/a/b?q=1#top',
      createdAt: new Date(T0).toISOString(),
      expiresAt: null,
      maxClicks: null,
      clicksUsed: null,
      redirectType: 302,
      tags: ['spring'],
      disabled: false,
    });
    expect(result.headers?.['location']).toBe(`https://${API_DOMAIN}/${STAGE}/v1/links/${link.code}`);
    expect(result.headers).not.toHaveProperty('idempotent-replayed');
    const stored = await shortener.links.readLink(link.code, { consistent: true });
    expect(stored).toMatchObject({ tenantId: caller.tenantId, createdBy: 'alice', gsi1pk: `T#${caller.tenantId}`, gsi1sk: `${link.createdAt}#${link.code}` });
  });

  it('builds short URLs on SHORT_BASE_URL when it is set', async () => {
    // Prepare
    const shortener = await loadShortener(table, { SHORT_BASE_URL: 'https://sho.rt/' });

    // Act
    const result = await shortener.create(createEvent({ tenantId: newTenant() }, { url: 'https://example.com/' }), context);

    // Assess
    const link = bodyOf<{ code: string; shortUrl: string }>(result);
    expect(link.shortUrl).toBe(`https://sho.rt/${link.code}`);
  });

  it('creates a link under an alias, with an expiry, a click limit and a redirect type', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const alias = `spring-${newTenant()}`;
    const expiresAt = new Date(T0 + 3_600_000).toISOString();

    // Act
    const result = await shortener.create(createEvent({ tenantId: newTenant() }, { url: 'https://example.com/', alias, expiresAt, maxClicks: 3, redirectType: 307 }), context);

    // Assess
    expect(result.statusCode).toBe(201);
    expect(bodyOf(result)).toMatchObject({ code: alias, expiresAt, maxClicks: 3, clicksUsed: 0, redirectType: 307 });
    expect(result.headers?.['location']).toBe(`https://${API_DOMAIN}/${STAGE}/v1/links/${alias}`);
  });

  it('refuses a taken alias with 409, whoever holds it', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const alias = `taken-${newTenant()}`;
    await shortener.create(createEvent({ tenantId: newTenant() }, { url: 'https://example.com/first', alias }), context);

    // Act
    const result = await shortener.create(createEvent({ tenantId: newTenant() }, { url: 'https://example.com/second', alias }), context);

    // Assess
    expect(problemOf(result, 409)).toMatchObject({ type: 'urn:switchyard:problem:conflict', detail: `the alias "${alias}" is taken` });
    expect(await shortener.links.readLink(alias, { consistent: true })).toMatchObject({ url: 'https://example.com/first' });
  });

  it.each([
    ['a reserved word', 'stats', 'is reserved'],
    ['a reserved word in another case', 'Health', 'is reserved'],
    ['too short', 'ab', 'must be at least 3 characters'],
    ['outside the alphabet', 'spring sale', 'must contain only A-Z, a-z, 0-9, _ and -'],
  ])('refuses an alias that is %s with 400 naming body.alias', async (_case, alias, rule) => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };

    // Act
    const result = await shortener.create(createEvent(caller, { url: 'https://example.com/', alias }), context);

    // Assess
    expect(problemOf(result, 400)['errors']).toEqual([{ field: 'body.alias', rule }]);
    expect(await linkCount(caller)).toBe(0);
  });

  it.each([
    ['not a URL', 'example.com/path', 'must be an absolute http or https URL'],
    ['another scheme', 'javascript:alert(1)', 'must be an absolute http or https URL'],
    ['too long', `https://example.com/${'a'.repeat(2048)}`, 'must be at most 2048 characters'],
    ['hiding its host behind user information', 'https://trusted.example@evil.example/', 'must not contain user information'],
    ['localhost', 'http://localhost:8080/admin', 'must not point at localhost'],
    ['a private address', 'http://10.0.0.1/', 'must not point at a private, loopback, link-local or cloud metadata address'],
    ['the metadata endpoint in decimal', 'http://2852039166/latest/meta-data/', 'must not point at a private, loopback, link-local or cloud metadata address'],
    ["the API's own host", `https://${API_DOMAIN}/${STAGE}/v1/links`, 'must not point at this link shortener'],
  ])('refuses a URL that is %s with 400 naming body.url', async (_case, url, rule) => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };

    // Act
    const result = await shortener.create(createEvent(caller, { url }), context);

    // Assess
    expect(problemOf(result, 400)['errors']).toEqual([{ field: 'body.url', rule }]);
    expect(await linkCount(caller)).toBe(0);
  });

  it('refuses the short domain of SHORT_BASE_URL and the domains of LINK_DENY_DOMAINS, subdomains included', async () => {
    // Prepare
    const shortener = await loadShortener(table, { SHORT_BASE_URL: 'https://sho.rt', LINK_DENY_DOMAINS: 'evil.example, malware.test' });
    const caller = { tenantId: newTenant() };

    // Act
    const self = await shortener.create(createEvent(caller, { url: 'https://SHO.RT/abc' }), context);
    const denied = await shortener.create(createEvent(caller, { url: 'https://cdn.evil.example/x' }), context);
    const allowed = await shortener.create(createEvent(caller, { url: 'https://notevil.example/x' }), context);

    // Assess
    expect(problemOf(self, 400)['errors']).toEqual([{ field: 'body.url', rule: 'must not point at this link shortener' }]);
    expect(problemOf(denied, 400)['errors']).toEqual([{ field: 'body.url', rule: 'points at a denied domain: evil.example' }]);
    expect(allowed.statusCode).toBe(201);
  });

  it('refuses an expiry in the past (or now) with 400 naming body.expiresAt', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };

    // Act
    const past = await shortener.create(createEvent(caller, { url: 'https://example.com/', expiresAt: new Date(T0 - 1000).toISOString() }), context);
    const now = await shortener.create(createEvent(caller, { url: 'https://example.com/', expiresAt: new Date(T0).toISOString() }), context);

    // Assess
    expect(problemOf(past, 400)['errors']).toEqual([{ field: 'body.expiresAt', rule: 'must be in the future' }]);
    expect(violatedFields(now)).toEqual(['body.expiresAt']);
  });

  it('refuses unknown fields, and names each bad field', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };

    // Act
    const unknown = await shortener.create(createEvent(caller, { url: 'https://example.com/', tenantId: 'someone-else' }), context);
    const bad = await shortener.create(createEvent(caller, { url: 'https://example.com/', maxClicks: 0, redirectType: 308, tags: ['a b'] }), context);

    // Assess
    const problem = problemOf(unknown, 400);
    expect(problem['errors']).toEqual([{ field: 'body', rule: expect.stringContaining('tenantId') }]);
    expect(violatedFields(bad).sort()).toEqual(['body.maxClicks', 'body.redirectType', 'body.tags[0]']);
    expect(await linkCount(caller)).toBe(0);
  });

  it('refuses a caller without the links:write scope with 403', async () => {
    // Prepare
    const shortener = await loadShortener(table);

    // Act
    const result = await shortener.create(createEvent({ tenantId: newTenant(), scopes: 'links:read' }, { url: 'https://example.com/' }), context);

    // Assess
    expect(problemOf(result, 403)['detail']).toBe('missing scope: links:write');
  });
});

describe('POST /v1/links with Idempotency-Key', () => {
  it('answers a retry with the same key and body with the same link, marked replayed, and writes one link', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const body = { url: 'https://example.com/once', tags: ['retry'] };
    const first = await shortener.create(createEvent(caller, body, { 'Idempotency-Key': 'order-4711' }), context);

    // Act
    const retry = await shortener.create(createEvent(caller, body, { 'Idempotency-Key': 'order-4711' }), context);

    // Assess
    expect(first.statusCode).toBe(201);
    expect(retry.statusCode).toBe(201);
    expect(bodyOf(retry)).toEqual(bodyOf(first));
    expect(retry.headers?.['location']).toBe(first.headers?.['location']);
    expect(retry.headers?.['idempotent-replayed']).toBe('true');
    expect(first.headers).not.toHaveProperty('idempotent-replayed');
    expect(await linkCount(caller)).toBe(1);
  });

  it('refuses the same key with another body with 422 problem+json, and writes nothing more', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    await shortener.create(createEvent(caller, { url: 'https://example.com/one' }, { 'Idempotency-Key': 'k-1' }), context);

    // Act
    const result = await shortener.create(createEvent(caller, { url: 'https://example.com/two' }, { 'Idempotency-Key': 'k-1' }), context);

    // Assess
    expect(problemOf(result, 422)).toMatchObject({ type: 'urn:switchyard:problem:idempotency-key-reused', title: 'Unprocessable Content' });
    expect(await linkCount(caller)).toBe(1);
  });

  it('scopes keys per tenant: the same key from two tenants makes two links', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const [a, b] = [{ tenantId: newTenant() }, { tenantId: newTenant() }];
    const body = { url: 'https://example.com/shared-key' };

    // Act
    const first = await shortener.create(createEvent(a, body, { 'Idempotency-Key': 'same' }), context);
    const second = await shortener.create(createEvent(b, body, { 'Idempotency-Key': 'same' }), context);

    // Assess
    expect(second.headers).not.toHaveProperty('idempotent-replayed');
    expect(bodyOf(second)['code']).not.toBe(bodyOf(first)['code']);
    expect([await linkCount(a), await linkCount(b)]).toEqual([1, 1]);
  });

  it.each([
    ['empty', ''],
    ['with a space', 'order 4711'],
    ['non-ASCII', 'bestellung-ü'],
    ['longer than 255 characters', 'k'.repeat(256)],
  ])('refuses a key that is %s with 400 naming header.idempotency-key', async (_case, key) => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };

    // Act
    const result = await shortener.create(createEvent(caller, { url: 'https://example.com/' }, { 'Idempotency-Key': key }), context);

    // Assess
    expect(violatedFields(result)).toEqual(['header.idempotency-key']);
    expect(await linkCount(caller)).toBe(0);
  });

  it('does not store a refusal: after a 409, the same key may be retried with another alias', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const alias = `held-${newTenant()}`;
    await shortener.create(createEvent({ tenantId: newTenant() }, { url: 'https://example.com/', alias }), context);
    const refused = await shortener.create(createEvent(caller, { url: 'https://example.com/', alias }, { 'Idempotency-Key': 'k-409' }), context);

    // Act
    const retried = await shortener.create(createEvent(caller, { url: 'https://example.com/', alias }, { 'Idempotency-Key': 'k-409' }), context);

    // Assess
    expect(refused.statusCode).toBe(409);
    expect(retried.statusCode).toBe(409);
    expect(retried.headers).not.toHaveProperty('idempotent-replayed');
  });

  it('makes two links from two requests without a key', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const body = { url: 'https://example.com/twice' };

    // Act
    const first = await shortener.create(createEvent(caller, body), context);
    const second = await shortener.create(createEvent(caller, body), context);

    // Assess
    expect([first.statusCode, second.statusCode]).toEqual([201, 201]);
    expect(bodyOf(second)['code']).not.toBe(bodyOf(first)['code']);
    expect(await linkCount(caller)).toBe(2);
  });
});

describe('POST /v1/links when a random code is taken', () => {
  /** Loads the handlers with `randomCode` answering `codes` in turn (the last one forever). */
  async function withCodes(codes: readonly string[]): Promise<{ shortener: Shortener; randomCode: ReturnType<typeof vi.fn> }> {
    let calls = 0;
    const randomCode = vi.fn(() => codes[Math.min(calls++, codes.length - 1)]!);
    // A synchronous factory over a copy loaded here: an async one calling `importOriginal` can
    // lose the race with the harness's concurrent imports under load, and the real module wins.
    const original = await import('../../../functions/shortener/codes');
    vi.doMock('../../../functions/shortener/codes', () => ({ ...original, randomCode }));
    return { shortener: await loadShortener(table), randomCode };
  }

  it('draws again until a code is free', async () => {
    // Prepare: a code already taken, which the random source then repeats three times.
    const taken = `T${newTenant().slice(-7)}`;
    const fresh = `F${newTenant().slice(-7)}`;
    const { shortener, randomCode } = await withCodes([taken, taken, taken, fresh]);
    expect(await shortener.links.insertLink({ ...draft(taken), tenantId: 'holder' })).toBe(true);

    // Act
    const result = await shortener.create(createEvent({ tenantId: newTenant() }, { url: 'https://example.com/' }), context);

    // Assess
    expect(result.statusCode).toBe(201);
    expect(bodyOf(result)['code']).toBe(fresh);
    expect(randomCode).toHaveBeenCalledTimes(4);
    expect(await shortener.links.readLink(taken, { consistent: true })).toMatchObject({ tenantId: 'holder' });
  });

  it('gives up after 5 attempts with a 500 that says nothing of internals', async () => {
    // Prepare
    const taken = `X${newTenant().slice(-7)}`;
    const { shortener, randomCode } = await withCodes([taken]);
    expect(await shortener.links.insertLink({ ...draft(taken), tenantId: 'holder' })).toBe(true);
    const caller = { tenantId: newTenant() };

    // Act
    const result = await shortener.create(createEvent(caller, { url: 'https://example.com/' }), context);

    // Assess
    const problem = problemOf(result, 500);
    expect(problem['detail']).not.toMatch(/attempt|code/);
    expect(randomCode).toHaveBeenCalledTimes(5);
    expect(await linkCount(caller)).toBe(0);
  });
});

describe('GET /v1/links/{code} after create', () => {
  it('answers the created link to its tenant', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const created = await shortener.create(createEvent(caller, { url: 'https://example.com/' }), context);
    const code = bodyOf<{ code: string }>(created).code;

    // Act
    const result = await shortener.get(linkEvent('GET', caller, code), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual(bodyOf(created));
  });
});
