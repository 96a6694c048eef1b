import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { LinkStatsSchema } from '#shared/contracts/shortener';
import {
  bodyOf,
  captureStdout,
  clickOf,
  commandNames,
  context,
  createLink,
  linkEvent,
  loadShortener,
  logsDelivery,
  newTenant,
  partitionItems,
  redirectEvent,
  statsEvent,
  T0,
  useShortenerTables,
  type Caller,
  type Shortener,
} from './harness';
import { useFrozenDate } from '../../support/clock';

const table = useShortenerTables();

useFrozenDate(T0);

/** A tenant with one link, and the handlers. */
async function linkWithHandlers(): Promise<{ shortener: Shortener; caller: Caller; link: { code: string; createdAt: string } }> {
  const shortener = await loadShortener(table);
  const caller = { tenantId: newTenant() };
  const link = await createLink(shortener, caller, { url: 'https://example.com/' });
  return { shortener, caller, link };
}

/** The link's statistics through GET /v1/links/{code}/stats, checked against the contract. */
async function statsOf(shortener: Shortener, caller: Caller, code: string) {
  const result = await shortener.stats(statsEvent(caller, code), context);
  expect(result.statusCode, result.body).toBe(200);
  return LinkStatsSchema.parse(bodyOf(result));
}

describe('record-clicks handler (CloudWatch Logs subscription)', () => {
  it('counts each click in total and per day, referrer, country and agent, bots apart, and GET stats answers them', async () => {
    // Prepare
    const { shortener, caller, link } = await linkWithHandlers();
    const click = (overrides: Parameters<typeof clickOf>[2]) => clickOf(link, caller.tenantId, overrides);
    const delivery = logsDelivery([
      click({ at: '2026-11-22T23:59:59.000Z', referrerHost: 'news.example.org', country: 'DE', agent: 'desktop' }),
      click({ at: '2026-11-23T08:00:00.000Z', referrerHost: 'news.example.org', country: 'FR', agent: 'mobile' }),
      click({ at: '2026-11-23T09:00:00.000Z', referrerHost: null, country: 'DE', agent: 'mobile' }),
      click({ at: '2026-11-23T10:00:00.000Z', referrerHost: 'search.example', country: null, agent: 'bot', bot: true }),
    ]);

    // Act
    await shortener.recordClicks(delivery, context);

    // Assess: days in order; the other breakdowns busiest first (ties in any order).
    const stats = await statsOf(shortener, caller, link.code);
    expect(stats.code).toBe(link.code);
    expect(stats.total).toEqual({ clicks: 3, bots: 1 });
    expect(stats.byDay).toEqual([
      { day: '2026-11-22', clicks: 1, bots: 0 },
      { day: '2026-11-23', clicks: 2, bots: 1 },
    ]);
    expect(stats.byReferrer[0]).toEqual({ referrer: 'news.example.org', clicks: 2, bots: 0 });
    expect(stats.byReferrer.slice(1)).toEqual(
      expect.arrayContaining([
        { referrer: '(direct)', clicks: 1, bots: 0 },
        { referrer: 'search.example', clicks: 0, bots: 1 },
      ]),
    );
    expect(stats.byCountry[0]).toEqual({ country: 'DE', clicks: 2, bots: 0 });
    expect(stats.byCountry.slice(1)).toEqual(
      expect.arrayContaining([
        { country: 'FR', clicks: 1, bots: 0 },
        { country: '(unknown)', clicks: 0, bots: 1 },
      ]),
    );
    expect(stats.byAgent[0]).toEqual({ agent: 'mobile', clicks: 2, bots: 0 });
    expect(stats.byAgent.slice(1)).toEqual(
      expect.arrayContaining([
        { agent: 'desktop', clicks: 1, bots: 0 },
        { agent: 'bot', clicks: 0, bots: 1 },
      ]),
    );
    expect([stats.byReferrer, stats.byCountry, stats.byAgent].map((entries) => entries.length)).toEqual([3, 3, 3]);
  });

  it('counts a delivery received twice once, without touching the counters again', async () => {
    // Prepare
    const { shortener, caller, link } = await linkWithHandlers();
    const delivery = logsDelivery([clickOf(link, caller.tenantId), clickOf(link, caller.tenantId, { agent: 'bot', bot: true })]);
    await shortener.recordClicks(delivery, context);
    const send = vi.spyOn(shortener.documentClient, 'send');

    // Act
    await shortener.recordClicks(delivery, context);

    // Assess: idempotency (keyed by click id) answered; no transaction was tried.
    expect(commandNames(send)).toEqual([]);
    send.mockRestore();
    expect((await statsOf(shortener, caller, link.code)).total).toEqual({ clicks: 1, bots: 1 });
  });

  it('counts the same click once when it comes in two deliveries under other log event ids', async () => {
    // Prepare
    const { shortener, caller, link } = await linkWithHandlers();
    const click = clickOf(link, caller.tenantId);
    await shortener.recordClicks(logsDelivery([click]), context);

    // Act
    await shortener.recordClicks(logsDelivery([click, clickOf(link, caller.tenantId)]), context);

    // Assess
    expect((await statsOf(shortener, caller, link.code)).total).toEqual({ clicks: 2, bots: 0 });
  });

  it('counts a click once even when its idempotency record is lost: the click marker refuses the second count', async () => {
    // Prepare
    const { shortener, caller, link } = await linkWithHandlers();
    const click = clickOf(link, caller.tenantId);

    // Act
    const first = await shortener.clickStats.recordClick(click);
    const second = await shortener.clickStats.recordClick(click);

    // Assess
    expect([first, second]).toEqual(['counted', 'duplicate']);
    expect((await statsOf(shortener, caller, link.code)).total).toEqual({ clicks: 1, bots: 0 });
    const marker = (await partitionItems(table, link.code)).find((item) => item['sk'] === `click#${click.id}`);
    expect(marker).toMatchObject({ at: click.at, ttl: T0 / 1000 + 7 * 24 * 60 * 60 });
  });

  it('drops a click for a deleted link, or for another link under the same code, without failing the delivery', async () => {
    // Prepare
    const { shortener, caller, link } = await linkWithHandlers();
    const other = await linkWithHandlers();
    const forOther = clickOf(other.link, other.caller.tenantId, { linkCreatedAt: '2020-01-01T00:00:00.000Z' });
    const forDeleted = clickOf(link, caller.tenantId);
    expect((await shortener.remove(linkEvent('DELETE', caller, link.code), context)).statusCode).toBe(204);

    // Act
    await shortener.recordClicks(logsDelivery([forDeleted, forOther]), context);

    // Assess
    expect((await partitionItems(table, link.code)).map((item) => item['sk'])).toEqual(['link']);
    expect((await partitionItems(table, other.link.code)).map((item) => item['sk'])).toEqual(['link']);
    expect(await shortener.clickStats.recordClick(clickOf(link, caller.tenantId))).toBe('link-gone');
  });

  it('fails the invocation on a line the contract refuses, after counting the valid clicks of the delivery once', async () => {
    // Prepare
    const { shortener, caller, link } = await linkWithHandlers();
    const valid = [clickOf(link, caller.tenantId), clickOf(link, caller.tenantId, { country: 'NL' })];
    const poison = { ...clickOf(link, caller.tenantId), country: 'Netherlands' };
    const delivery = logsDelivery([valid[0]!, poison, valid[1]!]);

    // Act
    const first = await shortener.recordClicks(delivery, context).catch((error: unknown) => error);
    // Lambda's async retry delivers the same event again.
    const retry = await shortener.recordClicks(delivery, context).catch((error: unknown) => error);

    // Assess: the handlers' module graph has its own RecordSchemaError class, so match by name.
    for (const error of [first, retry]) expect(error).toMatchObject({ name: 'RecordSchemaError', consumer: 'shortener.clicks', issues: [{ path: 'country' }] });
    const stats = await statsOf(shortener, caller, link.code);
    expect(stats.total).toEqual({ clicks: 2, bots: 0 });
    expect(stats.byCountry).toEqual(expect.arrayContaining([{ country: 'NL', clicks: 1, bots: 0 }]));
  });

  it('fails the invocation on a line that is not JSON, and on several bad lines at once', async () => {
    // Prepare
    const { shortener, caller, link } = await linkWithHandlers();

    // Act
    const one = await shortener.recordClicks(logsDelivery(['START RequestId: 0f5d3c2e', clickOf(link, caller.tenantId)]), context).catch((error: unknown) => error);
    const two = await shortener.recordClicks(logsDelivery(['not json', { _type: 'switchyard.click' }]), context).catch((error: unknown) => error);

    // Assess
    expect(one).toMatchObject({ name: 'RecordSchemaError', message: expect.stringContaining('log line is not valid JSON') });
    expect(two).toBeInstanceOf(AggregateError);
    expect((two as AggregateError).errors.map((error: Error) => error.name)).toEqual(['RecordSchemaError', 'RecordSchemaError']);
    expect((await statsOf(shortener, caller, link.code)).total).toEqual({ clicks: 1, bots: 0 });
  });

  it('ignores a CloudWatch Logs control message', async () => {
    // Prepare
    const shortener = await loadShortener(table);
    const send = vi.spyOn(shortener.documentClient, 'send');

    // Act
    const result = await shortener.recordClicks(logsDelivery(['CWL CONTROL MESSAGE: Checking health of destination Lambda.'], 'CONTROL_MESSAGE'), context);

    // Assess
    expect(result).toBeUndefined();
    expect(send).not.toHaveBeenCalled();
  });

  it('rejects a delivery that is not gzipped JSON', async () => {
    // Prepare
    const shortener = await loadShortener(table);

    // Act
    const result = shortener.recordClicks({ awslogs: { data: Buffer.from('{"logEvents":[]}').toString('base64') } }, context);

    // Assess
    await expect(result).rejects.toThrow();
  });
});

describe('GET /v1/links/{code}/stats (get-link-stats handler)', () => {
  it('answers zeros and empty breakdowns for a link without clicks', async () => {
    // Prepare
    const { shortener, caller, link } = await linkWithHandlers();

    // Act
    const stats = await statsOf(shortener, caller, link.code);

    // Assess
    expect(stats).toEqual({ code: link.code, total: { clicks: 0, bots: 0 }, byDay: [], byReferrer: [], byCountry: [], byAgent: [] });
  });

  it('counts what the redirect wrote: click lines on stdout, delivered by the subscription', async () => {
    // Prepare
    const { shortener, caller, link } = await linkWithHandlers();
    const stdout = captureStdout();
    await shortener.follow(redirectEvent(link.code, { Referer: 'https://t.example/x', 'CloudFront-Viewer-Country': 'se', 'User-Agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1' }), context);
    await shortener.follow(redirectEvent(link.code, { 'User-Agent': 'curl/8.5.0' }), context);
    vi.restoreAllMocks();

    // Act
    await shortener.recordClicks(logsDelivery(stdout.lines()), context);

    // Assess
    expect(await statsOf(shortener, caller, link.code)).toEqual({
      code: link.code,
      total: { clicks: 1, bots: 1 },
      byDay: [{ day: '2026-11-23', clicks: 1, bots: 1 }],
      byReferrer: expect.arrayContaining([
        { referrer: 't.example', clicks: 1, bots: 0 },
        { referrer: '(direct)', clicks: 0, bots: 1 },
      ]),
      byCountry: expect.arrayContaining([
        { country: 'SE', clicks: 1, bots: 0 },
        { country: '(unknown)', clicks: 0, bots: 1 },
      ]),
      byAgent: expect.arrayContaining([
        { agent: 'mobile', clicks: 1, bots: 0 },
        { agent: 'bot', clicks: 0, bots: 1 },
      ]),
    });
  });

  it('lists at most 50 referrers, the busiest first', async () => {
    // Prepare: 55 referrers, one of them busy.
    const { shortener, caller, link } = await linkWithHandlers();
    const clicks = [
      ...Array.from({ length: 3 }, () => clickOf(link, caller.tenantId, { referrerHost: 'busy.example' })),
      ...Array.from({ length: 54 }, (_, i) => clickOf(link, caller.tenantId, { referrerHost: `r${i}.example`, id: randomUUID() })),
    ];
    await shortener.recordClicks(logsDelivery(clicks), context);

    // Act
    const stats = await statsOf(shortener, caller, link.code);

    // Assess
    expect(stats.total).toEqual({ clicks: 57, bots: 0 });
    expect(stats.byReferrer).toHaveLength(50);
    expect(stats.byReferrer[0]).toEqual({ referrer: 'busy.example', clicks: 3, bots: 0 });
  });
});
