import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InMemoryPersistenceLayer } from '#shared/consumer/in-memory-persistence';
import { ConflictError, IdempotencyKeyReusedError, ValidationError } from '#shared/errors';
import type { HttpResponse } from '#shared/http/handler';
import { idempotentPost, IDEMPOTENCY_KEY_HEADER } from '#shared/http/idempotency';
import { lambdaContext } from '../../support/lambda-context';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const DAY_MS = 24 * 60 * 60 * 1000;
const context = lambdaContext('switchyard-http-idempotency');

/** A route's idempotency on a store of its own. */
function route(name = 'test.create') {
  const store = new InMemoryPersistenceLayer();
  return { store, post: idempotentPost(name, () => store) };
}

/** A request as the edge hands it over: lower-case headers, the parsed body. */
function request(body: unknown, key?: string) {
  return { headers: key === undefined ? {} : { [IDEMPOTENCY_KEY_HEADER]: key }, body, context };
}

/** A domain function that answers 201 with a new id each time it runs. */
function creator() {
  let runs = 0;
  return vi.fn(async (): Promise<HttpResponse> => {
    runs++;
    return { status: 201, body: { id: `link-${runs}` }, headers: { location: `/v1/links/link-${runs}` } };
  });
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('idempotentPost', () => {
  it('simply runs the domain function when there is no Idempotency-Key, and stores nothing', async () => {
    // Prepare
    const { store, post } = route();
    const create = creator();

    // Act
    const first = await post.run(request({ url: 'https://example.com/' }), 'tenant-a', create);
    const second = await post.run(request({ url: 'https://example.com/' }), 'tenant-a', create);

    // Assess
    expect(create).toHaveBeenCalledTimes(2);
    expect([first.body, second.body]).toEqual([{ id: 'link-1' }, { id: 'link-2' }]);
    expect(store.size).toBe(0);
  });

  it('replays the first answer for the same key and body, marked Idempotent-Replayed, without running again', async () => {
    // Prepare
    const { store, post } = route();
    const create = creator();
    const first = await post.run(request({ url: 'https://example.com/' }, 'key-1'), 'tenant-a', create);

    // Act
    const replay = await post.run(request({ url: 'https://example.com/' }, 'key-1'), 'tenant-a', create);

    // Assess
    expect(create).toHaveBeenCalledTimes(1);
    expect(first).toEqual({ status: 201, body: { id: 'link-1' }, headers: { location: '/v1/links/link-1' } });
    expect(replay).toEqual({ status: 201, body: { id: 'link-1' }, headers: { location: '/v1/links/link-1', 'idempotent-replayed': 'true' } });
    expect(store.records().map((record) => record.getStatus())).toEqual(['COMPLETED']);
  });

  it('treats a body with its members in another order as the same body', async () => {
    // Prepare
    const { post } = route();
    const create = creator();
    await post.run(request({ url: 'https://example.com/', tags: ['a'] }, 'key-order'), 'tenant-a', create);

    // Act
    const replay = await post.run(request({ tags: ['a'], url: 'https://example.com/' }, 'key-order'), 'tenant-a', create);

    // Assess
    expect(create).toHaveBeenCalledTimes(1);
    expect(replay.headers?.['idempotent-replayed']).toBe('true');
  });

  it('refuses the same key with another body with IdempotencyKeyReusedError, and keeps the first answer', async () => {
    // Prepare
    const { post } = route();
    const create = creator();
    await post.run(request({ url: 'https://example.com/one' }, 'key-2'), 'tenant-a', create);

    // Act
    const reuse = post.run(request({ url: 'https://example.com/two' }, 'key-2'), 'tenant-a', create);

    // Assess
    await expect(reuse).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    expect(create).toHaveBeenCalledTimes(1);
    expect((await post.run(request({ url: 'https://example.com/one' }, 'key-2'), 'tenant-a', create)).body).toEqual({ id: 'link-1' });
  });

  it('keeps keys apart per scope: the same key in two tenants runs twice', async () => {
    // Prepare
    const { store, post } = route();
    const create = creator();

    // Act
    const a = await post.run(request({ url: 'https://example.com/' }, 'shared-key'), 'tenant-a', create);
    const b = await post.run(request({ url: 'https://example.com/' }, 'shared-key'), 'tenant-b', create);

    // Assess
    expect([a.body, b.body]).toEqual([{ id: 'link-1' }, { id: 'link-2' }]);
    expect(b.headers).not.toHaveProperty('idempotent-replayed');
    expect(store.size).toBe(2);
  });

  it('does not store a failure: the same key runs again after the domain function threw', async () => {
    // Prepare
    const { store, post } = route();
    const failing = vi.fn(async (): Promise<HttpResponse> => {
      throw new ConflictError('the alias is taken');
    });
    await expect(post.run(request({ alias: 'spring' }, 'key-3'), 'tenant-a', failing)).rejects.toBeInstanceOf(ConflictError);
    const create = creator();

    // Act
    const retry = await post.run(request({ alias: 'spring' }, 'key-3'), 'tenant-a', create);

    // Assess
    expect(retry).toEqual({ status: 201, body: { id: 'link-1' }, headers: { location: '/v1/links/link-1' } });
    expect(store.records().map((record) => record.getStatus())).toEqual(['COMPLETED']);
  });

  it('answers ConflictError while the first request with the key is still running', async () => {
    // Prepare: the first request waits inside the domain function.
    const { post } = route();
    let finish: () => void = () => undefined;
    const slow = vi.fn(
      () =>
        new Promise<HttpResponse>((resolve) => {
          finish = () => resolve({ status: 201, body: { id: 'slow' } });
        }),
    );
    const first = post.run(request({ url: 'https://example.com/' }, 'key-4'), 'tenant-a', slow);
    await vi.waitFor(() => expect(slow).toHaveBeenCalled());

    // Act
    const concurrent = post.run(request({ url: 'https://example.com/' }, 'key-4'), 'tenant-a', creator());

    // Assess
    await expect(concurrent).rejects.toBeInstanceOf(ConflictError);
    finish();
    expect((await first).body).toEqual({ id: 'slow' });
  });

  it('replays for 24 hours, then runs the key again', async () => {
    // Prepare
    const { post } = route();
    const create = creator();
    await post.run(request({ url: 'https://example.com/' }, 'key-5'), 'tenant-a', create);

    // Act
    vi.setSystemTime(T0 + DAY_MS - 1000);
    const withinDay = await post.run(request({ url: 'https://example.com/' }, 'key-5'), 'tenant-a', create);
    vi.setSystemTime(T0 + DAY_MS + 1000);
    const nextDay = await post.run(request({ url: 'https://example.com/' }, 'key-5'), 'tenant-a', create);

    // Assess
    expect(withinDay).toMatchObject({ body: { id: 'link-1' }, headers: { 'idempotent-replayed': 'true' } });
    expect(nextDay.body).toEqual({ id: 'link-2' });
    expect(nextDay.headers).not.toHaveProperty('idempotent-replayed');
  });

  it.each([
    ['empty', ''],
    ['with a space', 'a b'],
    ['with a control character', 'a\tb'],
    ['non-ASCII', 'schlüssel'],
    ['256 characters', 'k'.repeat(256)],
  ])('refuses a key that is %s with a ValidationError naming header.idempotency-key, without running', async (_case, key) => {
    // Prepare
    const { store, post } = route();
    const create = creator();

    // Act
    const result = post.run(request({ url: 'https://example.com/' }, key), 'tenant-a', create);

    // Assess
    await expect(result).rejects.toBeInstanceOf(ValidationError);
    await expect(result).rejects.toMatchObject({ violations: [{ field: 'header.idempotency-key', rule: 'must be 1 to 255 printable ASCII characters' }] });
    expect(create).not.toHaveBeenCalled();
    expect(store.size).toBe(0);
  });

  it('accepts keys of 1 and 255 printable characters', async () => {
    // Prepare
    const { post } = route();
    const create = creator();

    // Act
    const results = [
      await post.run(request({}, '!'), 'tenant-a', create),
      await post.run(request({}, '~'.repeat(255)), 'tenant-a', create),
      await post.run(request({}, '550e8400-e29b-41d4-a716-446655440000'), 'tenant-a', create),
    ];

    // Assess
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(create).toHaveBeenCalledTimes(3);
  });

  it('prefixes its records with the route name, so two routes never answer for each other', async () => {
    // Prepare
    const links = route('shortener.createLink');
    const jobs = route('jobs.submit');

    // Act
    await links.post.run(request({ n: 1 }, 'same-key'), 'tenant-a', creator());
    await jobs.post.run(request({ n: 1 }, 'same-key'), 'tenant-a', creator());

    // Assess
    const [link] = links.store.records();
    const [job] = jobs.store.records();
    expect(link!.idempotencyKey).toMatch(/^http\.shortener\.createLink#/);
    expect(job!.idempotencyKey).toMatch(/^http\.jobs\.submit#/);
  });
});
