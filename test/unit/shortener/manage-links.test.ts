import { describe, expect, it, vi } from 'vitest';
import { LinkPageSchema, LinkSchema, type Link } from '#shared/contracts/shortener';
import {
  bodyOf,
  captureStdout,
  clickOf,
  context,
  createEvent,
  createLink,
  linkEvent,
  listEvent,
  loadShortener,
  logsDelivery,
  newTenant,
  partitionItems,
  problemOf,
  redirectEvent,
  statsEvent,
  T0,
  useShortenerTables,
  violatedFields,
  type Caller,
  type Shortener,
} from './harness';
import { useFrozenDate } from '../../support/clock';

const table = useShortenerTables();

useFrozenDate(T0);

/** Creates `count` links for a tenant, a minute apart, oldest first; returns their codes. */
async function createLinks(shortener: Shortener, caller: Caller, count: number): Promise<string[]> {
  const codes: string[] = [];
  for (let i = 0; i < count; i++) {
    vi.setSystemTime(T0 + i * 60_000);
    codes.push((await createLink(shortener, caller, { url: `https://example.com/${i}` })).code);
  }
  vi.setSystemTime(T0 + count * 60_000);
  return codes;
}

/** Every page of a tenant's links, following `nextCursor`. */
async function allPages(shortener: Shortener, caller: Caller, limit: number): Promise<Link[][]> {
  const pages: Link[][] = [];
  let cursor: string | null | undefined;
  do {
    const result = await shortener.list(listEvent(caller, { limit: String(limit), ...(cursor ? { cursor } : {}) }), context);
    expect(result.statusCode, result.body).toBe(200);
    const page = LinkPageSchema.parse(bodyOf(result));
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return pages;
}

describe('GET /v1/links (list-links handler)', () => {
  it("lists the tenant's links newest first, a page at a time, and no other tenant's", async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const codes = await createLinks(shortener, caller, 5);
    await createLinks(shortener, { tenantId: newTenant() }, 2);

    // Act
    const pages = await allPages(shortener, caller, 2);

    // Assess
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    expect(pages.flat().map((link) => link.code)).toEqual([...codes].reverse());
    expect(pages[0]![0]).toMatchObject({ url: 'https://example.com/4', createdAt: new Date(T0 + 4 * 60_000).toISOString() });
  });

  it('answers the default page size of 25 and an empty list for a tenant without links', async () => {
    // Prepare
    const shortener = await loadShortener(table);

    // Act
    const result = await shortener.list(listEvent({ tenantId: newTenant() }), context);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({ items: [], nextCursor: null });
  });

  it('leaves deleted links out', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const [kept, deleted] = await createLinks(shortener, caller, 2);
    await shortener.remove(linkEvent('DELETE', caller, deleted!), context);

    // Act
    const pages = await allPages(shortener, caller, 10);

    // Assess
    expect(pages.flat().map((link) => link.code)).toEqual([kept]);
  });

  it("refuses a cursor forged to name another tenant's partition with 400 naming query.cursor", async () => {
    // Prepare: a real cursor of the victim's list; the attacker replays it, or the victim edits it to name the attacker.
    const shortener = await loadShortener(table);
    const victim = { tenantId: newTenant() };
    const attacker = { tenantId: newTenant() };
    await createLinks(shortener, victim, 3);
    const page = bodyOf<{ nextCursor: string }>(await shortener.list(listEvent(victim, { limit: '1' }), context));
    const position = JSON.parse(Buffer.from(page.nextCursor, 'base64url').toString('utf8')) as Record<string, string>;
    expect(position['gsi1pk']).toBe(`T#${victim.tenantId}`);

    // Act
    const replayed = await shortener.list(listEvent(attacker, { cursor: page.nextCursor }), context);
    const forged = await shortener.list(
      listEvent(victim, { cursor: Buffer.from(JSON.stringify({ ...position, gsi1pk: `T#${attacker.tenantId}` })).toString('base64url') }),
      context,
    );

    // Assess
    expect(problemOf(replayed, 400)['errors']).toEqual([{ field: 'query.cursor', rule: 'is not a cursor this endpoint gave out' }]);
    expect(violatedFields(forged)).toEqual(['query.cursor']);
  });

  it.each([
    ['not base64url JSON', '!!!'],
    ['JSON of another shape', Buffer.from(JSON.stringify({ pk: 'L#x', sk: 'stat#total' })).toString('base64url')],
    ['with extra members', Buffer.from(JSON.stringify({ pk: 'L#x', sk: 'link', gsi1pk: 'T#t', gsi1sk: 'x', extra: 1 })).toString('base64url')],
  ])('refuses a cursor %s with 400 naming query.cursor', async (_case, cursor) => {
    // Prepare
    const shortener = await loadShortener(table);

    // Act
    const result = await shortener.list(listEvent({ tenantId: newTenant() }, { cursor }), context);

    // Assess
    expect(violatedFields(result)).toEqual(['query.cursor']);
  });

  it.each([
    ['0', 'query.limit'],
    ['101', 'query.limit'],
    ['two', 'query.limit'],
  ])('refuses limit=%s with 400', async (limit, field) => {
    // Prepare
    const shortener = await loadShortener(table);

    // Act
    const result = await shortener.list(listEvent({ tenantId: newTenant() }, { limit }), context);

    // Assess
    expect(violatedFields(result)).toEqual([field]);
  });
});

describe("another tenant's link", () => {
  it('reads as 404 to GET, PATCH, DELETE and stats, and stays untouched', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const owner = { tenantId: newTenant() };
    const other = { tenantId: newTenant() };
    const link = await createLink(shortener, owner, { url: 'https://example.com/mine' });

    // Act
    const results = [
      await shortener.get(linkEvent('GET', other, link.code), context),
      await shortener.update(linkEvent('PATCH', other, link.code, { disabled: true }), context),
      await shortener.remove(linkEvent('DELETE', other, link.code), context),
      await shortener.stats(statsEvent(other, link.code), context),
    ];

    // Assess
    for (const result of results) expect(problemOf(result, 404)['detail']).toBe(`no link ${link.code}`);
    expect(bodyOf(await shortener.get(linkEvent('GET', owner, link.code), context))).toMatchObject({ disabled: false, url: 'https://example.com/mine' });
  });

  it('reads the same as an unknown code', async () => {
    // Prepare
    const shortener = await loadShortener(table);

    // Act
    const results = [
      await shortener.get(linkEvent('GET', { tenantId: newTenant() }, 'NeverMade'), context),
      await shortener.update(linkEvent('PATCH', { tenantId: newTenant() }, 'NeverMade', { disabled: true }), context),
      await shortener.remove(linkEvent('DELETE', { tenantId: newTenant() }, 'NeverMade'), context),
    ];

    // Assess
    for (const result of results) expect(problemOf(result, 404)['detail']).toBe('no link NeverMade');
    expect(await shortener.links.readLink('NeverMade', { consistent: true })).toBeUndefined();
  });
});

describe('PATCH /v1/links/{code} (update-link handler)', () => {
  it('disables a link, so the redirect answers 410, and enables it again', async () => {
    // Prepare: no redirect cache, so the redirect sees each change at once.
    const shortener = await loadShortener(table, { LINK_CACHE_TTL_SECONDS: '0' });
    const caller = { tenantId: newTenant() };
    const link = await createLink(shortener, caller, { url: 'https://example.com/' });
    captureStdout();

    // Act
    const disabled = await shortener.update(linkEvent('PATCH', caller, link.code, { disabled: true }), context);
    const whileDisabled = await shortener.follow(redirectEvent(link.code), context);
    const enabled = await shortener.update(linkEvent('PATCH', caller, link.code, { disabled: false }), context);
    const whileEnabled = await shortener.follow(redirectEvent(link.code), context);

    // Assess
    expect(disabled.statusCode).toBe(200);
    expect(LinkSchema.parse(bodyOf(disabled))).toMatchObject({ code: link.code, disabled: true });
    expect(problemOf(whileDisabled, 410)['detail']).toBe('this link was disabled by its owner');
    expect(bodyOf(enabled)).toMatchObject({ disabled: false });
    expect(whileEnabled.statusCode).toBe(302);
  });

  it('removes a click limit with maxClicks null, reopening an exhausted link', async () => {
    // Prepare
    const shortener = await loadShortener(table, { LINK_CACHE_TTL_SECONDS: '0' });
    const caller = { tenantId: newTenant() };
    const link = await createLink(shortener, caller, { url: 'https://example.com/', maxClicks: 1 });
    captureStdout();
    await shortener.follow(redirectEvent(link.code), context);
    expect((await shortener.follow(redirectEvent(link.code), context)).statusCode).toBe(410);

    // Act
    const result = await shortener.update(linkEvent('PATCH', caller, link.code, { maxClicks: null }), context);

    // Assess
    expect(bodyOf(result)).toMatchObject({ maxClicks: null, clicksUsed: null });
    expect((await shortener.follow(redirectEvent(link.code), context)).statusCode).toBe(302);
    expect(await shortener.links.readLink(link.code, { consistent: true })).not.toHaveProperty('clicksUsed');
  });

  it('sets a click limit that counts from what was used, and raising it reopens the link', async () => {
    // Prepare
    const shortener = await loadShortener(table, { LINK_CACHE_TTL_SECONDS: '0' });
    const caller = { tenantId: newTenant() };
    const link = await createLink(shortener, caller, { url: 'https://example.com/', maxClicks: 1 });
    captureStdout();
    await shortener.follow(redirectEvent(link.code), context);

    // Act
    const raised = await shortener.update(linkEvent('PATCH', caller, link.code, { maxClicks: 2 }), context);
    const results = [await shortener.follow(redirectEvent(link.code), context), await shortener.follow(redirectEvent(link.code), context)];

    // Assess
    expect(bodyOf(raised)).toMatchObject({ maxClicks: 2, clicksUsed: 1 });
    expect(results.map((r) => r.statusCode)).toEqual([302, 410]);
  });

  it('changes and removes the expiry', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const link = await createLink(shortener, caller, { url: 'https://example.com/', expiresAt: new Date(T0 + 60_000).toISOString() });
    const later = new Date(T0 + 3_600_000).toISOString();

    // Act
    const changed = await shortener.update(linkEvent('PATCH', caller, link.code, { expiresAt: later }), context);
    const removed = await shortener.update(linkEvent('PATCH', caller, link.code, { expiresAt: null }), context);

    // Assess
    expect(bodyOf(changed)).toMatchObject({ expiresAt: later });
    expect(bodyOf(removed)).toMatchObject({ expiresAt: null });
  });

  it.each([
    ['an empty body', {}, { field: 'body', rule: 'must change at least one of disabled, expiresAt, maxClicks' }],
    ['an unknown field', { url: 'https://example.com/other' }, { field: 'body', rule: expect.stringContaining('"url"') }],
    ['an expiry in the past', { expiresAt: new Date(T0 - 1).toISOString() }, { field: 'body.expiresAt', rule: 'must be in the future' }],
    ['a click limit of 0', { maxClicks: 0 }, { field: 'body.maxClicks', rule: 'must be positive' }],
  ])('refuses %s with 400 and leaves the link as it was', async (_case, body, violation) => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const link = await createLink(shortener, caller, { url: 'https://example.com/' });

    // Act
    const result = await shortener.update(linkEvent('PATCH', caller, link.code, body), context);

    // Assess
    expect(problemOf(result, 400)['errors']).toContainEqual(violation);
    expect(bodyOf(await shortener.get(linkEvent('GET', caller, link.code), context))).toEqual(link);
  });
});

describe('DELETE /v1/links/{code} (delete-link handler)', () => {
  it('answers 204, then the link reads 404 everywhere, its statistics and click markers are gone, and the code is retired', async () => {
    // Prepare: a link with counted clicks.
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const link = await createLink(shortener, caller, { url: 'https://example.com/' });
    await shortener.recordClicks(logsDelivery([clickOf(link, caller.tenantId), clickOf(link, caller.tenantId, { bot: true, agent: 'bot' })]), context);
    expect((await partitionItems(table, link.code)).length).toBeGreaterThan(1);
    captureStdout();

    // Act
    const deleted = await shortener.remove(linkEvent('DELETE', caller, link.code), context);

    // Assess
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect(problemOf(await shortener.get(linkEvent('GET', caller, link.code), context), 404)).toBeDefined();
    expect(problemOf(await shortener.stats(statsEvent(caller, link.code), context), 404)).toBeDefined();
    expect(problemOf(await shortener.follow(redirectEvent(link.code), context), 404)).toBeDefined();
    expect(problemOf(await shortener.remove(linkEvent('DELETE', caller, link.code), context), 404)).toBeDefined();
    const items = await partitionItems(table, link.code);
    expect(items.map((item) => item['sk'])).toEqual(['link']);
    expect(items[0]).toMatchObject({ deletedAt: new Date(T0).toISOString(), tenantId: caller.tenantId });
    expect(items[0]).not.toHaveProperty('url');
    expect(items[0]).not.toHaveProperty('gsi1pk');
    const reuse = { ...(items[0] as object), tenantId: newTenant(), url: 'https://example.com/hijack' } as Parameters<typeof shortener.links.insertLink>[0];
    expect(await shortener.links.insertLink(reuse)).toBe(false);
  });

  it('refuses to give out a deleted alias again', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const alias = `retired-${newTenant()}`;
    await createLink(shortener, caller, { url: 'https://example.com/', alias });
    await shortener.remove(linkEvent('DELETE', caller, alias), context);

    // Act
    const result = await shortener.create(createEvent({ tenantId: newTenant() }, { url: 'https://example.com/elsewhere', alias }), context);

    // Assess
    expect(problemOf(result, 409)['detail']).toBe(`the alias "${alias}" is taken`);
  });

  it('refuses a PATCH of a deleted link with 404', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const caller = { tenantId: newTenant() };
    const link = await createLink(shortener, caller, { url: 'https://example.com/' });
    await shortener.remove(linkEvent('DELETE', caller, link.code), context);

    // Act
    const result = await shortener.update(linkEvent('PATCH', caller, link.code, { disabled: false }), context);

    // Assess
    expect(problemOf(result, 404)['detail']).toBe(`no link ${link.code}`);
  });
});
