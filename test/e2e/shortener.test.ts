import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { isIP } from 'node:net';
import { gzipSync } from 'node:zlib';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { e2eTarget, uniqueTenant } from './support';

const target = e2eTarget();
const url = (path: string) => new URL(path, target.restUrl).toString();

type Link = { code: string; shortUrl: string; url: string; createdAt: string; clicksUsed: number | null; disabled: boolean };
type Stats = { total: { clicks: number; bots: number }; byDay: { day: string; clicks: number }[]; byReferrer: { referrer: string; clicks: number }[]; byCountry: { country: string; clicks: number }[] };

async function owner(tenant = uniqueTenant('sh')) {
  const token = await target.token('marketer', tenant, ['links:read', 'links:write']);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return {
    tenant,
    headers,
    create: (body: unknown, extra: Record<string, string> = {}) => fetch(url('v1/links'), { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) }),
    get: (path: string) => fetch(url(path), { headers }),
    patch: (path: string, body: unknown) => fetch(url(path), { method: 'PATCH', headers, body: JSON.stringify(body) }),
    remove: (path: string) => fetch(url(path), { method: 'DELETE', headers }),
  };
}

/** POST /v1/links with a Host header of our choosing (fetch always sends the URL's). */
function createVia(host: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; body: string }> {
  if (!isIP(new URL(target.restUrl).hostname)) {
    return fetch(url('v1/links'), { method: 'POST', headers, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.text() }));
  }
  return new Promise((resolve, reject) => {
    const request = httpRequest(url('v1/links'), { method: 'POST', headers: { ...headers, host } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

/** A desktop browser's user agent: without one, a click counts as a bot's. */
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';

/** Follows a short link as a browser would not: the redirect itself, not its target. */
const follow = (code: string, headers: Record<string, string> = {}) => fetch(url(code), { redirect: 'manual', headers });

/** Polls the stats until `done` holds or the deadline passes; clicks arrive asynchronously. */
async function statsWhen(get: (path: string) => Promise<Response>, code: string, done: (stats: Stats) => boolean, deadlineMs = 15_000): Promise<Stats> {
  const deadline = Date.now() + deadlineMs;
  let stats: Stats;
  do {
    stats = (await (await get(`v1/links/${code}/stats`)).json()) as Stats;
    if (done(stats)) return stats;
    await new Promise((resolve) => setTimeout(resolve, 250));
  } while (Date.now() < deadline);
  return stats;
}

describe('the URL shortener, end to end', () => {
  it('creates a link and redirects to it with 302, counting the clicks off the redirect path', async () => {
    // Prepare
    const me = await owner();
    const created = await me.create({ url: 'https://example.com/landing?campaign=fall', tags: ['fall'] });
    const link = (await created.json()) as Link;

    // Act
    const first = await follow(link.code, { referer: 'https://news.example.org/story', 'user-agent': BROWSER, 'cloudfront-viewer-country': 'DE' });
    const second = await follow(link.code, { 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' });
    const stats = await statsWhen(me.get, link.code, (s) => s.total.clicks + s.total.bots >= 2);

    // Assess
    expect(created.status).toBe(201);
    expect(link.code).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(link.shortUrl).toBe(url(link.code));
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('https://example.com/landing?campaign=fall');
    expect(first.headers.get('cache-control')).toBe('private, max-age=0');
    expect(second.status).toBe(302);
    expect(stats.total).toEqual({ clicks: 1, bots: 1 });
    expect(stats.byReferrer).toContainEqual(expect.objectContaining({ referrer: 'news.example.org', clicks: 1 }));
    expect(stats.byCountry).toContainEqual(expect.objectContaining({ country: 'DE', clicks: 1 }));
    expect(stats.byDay.reduce((sum, d) => sum + d.clicks, 0)).toBe(1);
  });

  it('gives an alias once: a taken alias is 409', async () => {
    // Prepare
    const me = await owner();
    const alias = `promo-${randomUUID().slice(0, 8)}`;

    // Act
    const first = await me.create({ url: 'https://example.com/a', alias });
    const again = await (await owner()).create({ url: 'https://example.com/b', alias });
    const reserved = await me.create({ url: 'https://example.com/c', alias: 'health' });

    // Assess
    expect(first.status).toBe(201);
    expect(((await first.json()) as Link).code).toBe(alias);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ status: 409, type: 'urn:switchyard:problem:conflict' });
    expect(reserved.status).toBe(400);
    expect(((await reserved.json()) as { errors: { field: string }[] }).errors[0]!.field).toBe('body.alias');
  });

  it('refuses every class of unsafe or invalid target URL with 400 naming the rule', async () => {
    // Prepare
    const me = await owner();
    const apiHost = new URL(target.restUrl).host;
    const cases: [string, RegExp][] = [
      ['ftp://example.com/file', /http or https/],
      ['javascript:alert(1)', /http or https/],
      ['not a url', /http or https/],
      [`https://example.com/${'a'.repeat(2050)}`, /2048/],
      ['https://user:secret@example.com/', /user information/],
      ['http://localhost:8080/admin', /localhost/],
      ['http://10.0.0.5/', /private, loopback/],
      ['http://127.0.0.1/', /private, loopback/],
      ['http://2130706433/', /private, loopback/],
      ['http://[::1]/', /private, loopback/],
      ['http://169.254.169.254/latest/meta-data/', /metadata|private, loopback/],
      ['https://www.denied.example/page', /denied domain/],
    ];

    // Act
    const answers = await Promise.all(cases.map(([target]) => me.create({ url: target })));
    // A link to the shortener itself, named by the host the API is reached at. The local cloud
    // listens on an IP literal (refused by the address rule first), so there the request names
    // a host of its own, as a custom domain would.
    const selfHost = isIP(new URL(target.restUrl).hostname) ? 'links.switchyard.test' : apiHost;
    const selfLink = await createVia(selfHost, me.headers, { url: `https://${selfHost}/dev/abc` });

    // Assess
    for (const [i, answer] of answers.entries()) {
      const [given, rule] = cases[i]!;
      expect(answer.status, given).toBe(400);
      const problem = (await answer.json()) as { errors: { field: string; rule: string }[] };
      expect(problem.errors[0], given).toMatchObject({ field: 'body.url', rule: expect.stringMatching(rule) });
    }
    expect(selfLink.status).toBe(400);
    expect(JSON.parse(selfLink.body).errors[0]).toMatchObject({ field: 'body.url', rule: expect.stringMatching(/this link shortener/) });
  });

  it('answers 410 for an expired link and for one past its click limit, and 404 for an unknown code', async () => {
    // Prepare
    const me = await owner();
    const soon = await me.create({ url: 'https://example.com/flash-sale', expiresAt: new Date(Date.now() + 1500).toISOString() });
    const limited = await me.create({ url: 'https://example.com/invite', maxClicks: 2 });
    const { code: soonCode } = (await soon.json()) as Link;
    const { code: limitedCode } = (await limited.json()) as Link;

    // Act
    const beforeExpiry = await follow(soonCode);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const afterExpiry = await follow(soonCode);
    const uses = [await follow(limitedCode), await follow(limitedCode), await follow(limitedCode)];
    const unknown = await follow('zzzzzzzzzzzz');

    // Assess
    expect(beforeExpiry.status).toBe(302);
    expect(afterExpiry.status).toBe(410);
    expect(await afterExpiry.json()).toMatchObject({ status: 410, detail: 'this link has expired' });
    expect(uses.map((r) => r.status)).toEqual([302, 302, 410]);
    expect(((await (await me.get(`v1/links/${limitedCode}`)).json()) as Link).clicksUsed).toBe(2);
    expect(unknown.status).toBe(404);
  });

  it("keeps every management route to the link's own tenant: another tenant reads 404", async () => {
    // Prepare
    const me = await owner();
    const stranger = await owner();
    const { code } = (await (await me.create({ url: 'https://example.com/private' })).json()) as Link;

    // Act
    const answers = [
      await stranger.get(`v1/links/${code}`),
      await stranger.get(`v1/links/${code}/stats`),
      await stranger.patch(`v1/links/${code}`, { disabled: true }),
      await stranger.remove(`v1/links/${code}`),
    ];
    const strangersList = (await (await stranger.get('v1/links')).json()) as { items: Link[] };
    const mine = await me.get(`v1/links/${code}`);

    // Assess
    expect(answers.map((a) => a.status)).toEqual([404, 404, 404, 404]);
    expect(strangersList.items.map((l) => l.code)).not.toContain(code);
    expect(mine.status).toBe(200);
    expect((await follow(code)).status).toBe(302);
  });

  it('lists links newest first by cursor, disables one, and deletes one for good', async () => {
    // Prepare
    const me = await owner();
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) codes.push(((await (await me.create({ url: `https://example.com/${i}` })).json()) as Link).code);

    // Act
    const page1 = (await (await me.get('v1/links?limit=2')).json()) as { items: Link[]; nextCursor: string | null };
    const page2 = (await (await me.get(`v1/links?limit=2&cursor=${page1.nextCursor}`)).json()) as { items: Link[]; nextCursor: string | null };
    const disabled = await me.patch(`v1/links/${codes[0]}`, { disabled: true });
    const removed = await me.remove(`v1/links/${codes[1]}`);

    // Assess
    expect([...page1.items, ...page2.items].map((l) => l.code)).toEqual([...codes].reverse());
    expect(page2.nextCursor).toBeNull();
    expect(disabled.status).toBe(200);
    expect(removed.status).toBe(204);
    expect((await me.get(`v1/links/${codes[1]}`)).status).toBe(404);
    // Another function instance may serve the old link for the cache TTL (10 s in dev): wait it out.
    const deadline = Date.now() + 15_000;
    let statuses: number[] = [];
    do {
      statuses = [(await follow(codes[0]!)).status, (await follow(codes[1]!)).status];
      if (statuses[0] === 410 && statuses[1] === 404) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    } while (Date.now() < deadline);
    expect(statuses).toEqual([410, 404]);
  });

  it('replays a create with the same Idempotency-Key, and refuses the key with another body', async () => {
    // Prepare
    const me = await owner();
    const key = randomUUID();

    // Act
    const first = await me.create({ url: 'https://example.com/once' }, { 'idempotency-key': key });
    const replay = await me.create({ url: 'https://example.com/once' }, { 'idempotency-key': key });
    const misuse = await me.create({ url: 'https://example.com/other' }, { 'idempotency-key': key });

    // Assess
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replay.json()) as Link).code).toBe(((await first.json()) as Link).code);
    expect(misuse.status).toBe(422);
  });

  it('counts a click delivered twice once', async () => {
    // Prepare: a link with one real click counted, then the same new click delivered twice, as
    // CloudWatch Logs and Lambda's async retries may do.
    const me = await owner();
    const link = (await (await me.create({ url: 'https://example.com/dup' })).json()) as Link;
    await follow(link.code, { 'user-agent': BROWSER });
    await statsWhen(me.get, link.code, (s) => s.total.clicks >= 1);
    const click = {
      _type: 'switchyard.click',
      id: randomUUID(),
      code: link.code,
      tenantId: me.tenant,
      linkCreatedAt: link.createdAt,
      at: new Date().toISOString(),
      referrerHost: null,
      country: null,
      agent: 'desktop',
      bot: false,
    };
    const delivery = (eventId: string) => ({
      awslogs: {
        data: gzipSync(
          JSON.stringify({ messageType: 'DATA_MESSAGE', owner: '000000000000', logGroup: 'follow-link', logStream: 'replay', subscriptionFilters: ['Clicks'], logEvents: [{ id: eventId, timestamp: Date.now(), message: JSON.stringify(click) }] }),
        ).toString('base64'),
      },
    });
    const lambda = new LambdaClient(target.awsEndpoint ? { endpoint: target.awsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {});
    const functionName = target.outputs['ClickRecorderFunction'];
    expect(functionName, 'the ClickRecorderFunction output').toBeTruthy();

    // Act: the same click in two deliveries with different log event ids.
    const answers = [];
    for (const eventId of ['1', '2']) {
      answers.push(await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(delivery(eventId))) })));
    }
    lambda.destroy();
    const stats = await statsWhen(me.get, link.code, (s) => s.total.clicks >= 2, 3_000);

    // Assess
    expect(answers.map((a) => a.FunctionError)).toEqual([undefined, undefined]);
    expect(stats.total.clicks).toBe(2);
  });
});
