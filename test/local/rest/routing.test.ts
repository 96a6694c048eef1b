import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeGateways, FakeInvoker, fn, ok, proxy, restApi, serve } from './support';

const api = restApi({
  resources: [
    { path: '/', methods: [proxy('GET', 'root')] },
    { path: '/v1', methods: [] },
    { path: '/v1/links', methods: [proxy('GET', 'list-links'), proxy('POST', 'create-link')] },
    { path: '/v1/links/{code}', methods: [proxy('GET', 'get-link'), proxy('ANY', 'any-link')] },
    { path: '/v1/links/latest', methods: [proxy('GET', 'latest-link')] },
    { path: '/v1/links/{code}/stats', methods: [proxy('GET', 'link-stats')] },
    { path: '/v1/links/latest/{field}', methods: [] },
    { path: '/v1/{proxy+}', methods: [proxy('ANY', 'v1-fallback')] },
    { path: '/files/{key+}', methods: [proxy('GET', 'get-file')] },
  ],
});

let invoker: FakeInvoker;

beforeEach(() => {
  invoker = new FakeInvoker();
  for (const name of ['root', 'list-links', 'create-link', 'get-link', 'any-link', 'latest-link', 'link-stats', 'v1-fallback', 'get-file']) {
    invoker.on(fn(name), () => ok({ name }));
  }
});

afterEach(closeGateways);

/** Which fixture function served a request. */
async function servedBy(url: string, method = 'GET'): Promise<{ status: number; name?: string; event?: any }> {
  const before = invoker.calls.length;
  const response = await fetch(url, { method });
  const call = invoker.calls[before];
  const body = await response.text();
  return { status: response.status, ...(call ? { name: (JSON.parse(body) as { name: string }).name, event: call.event } : {}) };
}

describe('REST gateway routing', () => {
  it('prefers a literal segment to a path variable', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    const served = await servedBy(`${gateway.url}/v1/links/latest`);

    // Assess
    expect(served).toMatchObject({ status: 200, name: 'latest-link' });
    expect(served.event.pathParameters).toBeNull();
  });

  it('prefers a path variable to a greedy variable, decoding its value', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    const served = await servedBy(`${gateway.url}/v1/links/spring%20sale`);

    // Assess
    expect(served).toMatchObject({ status: 200, name: 'get-link' });
    expect(served.event.resource).toBe('/v1/links/{code}');
    expect(served.event.pathParameters).toEqual({ code: 'spring sale' });
  });

  it('keeps the most specific resource even when it lacks the method', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    const served = await servedBy(`${gateway.url}/v1/links/latest/stats`);

    // Assess: `/v1/links/latest/{field}` matched first and has no GET; `/v1/links/{code}/stats` is not tried
    expect(served).toMatchObject({ status: 403 });
  });

  it('takes the variable branch when the literal one has no such child', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    const served = await servedBy(`${gateway.url}/v1/links/abc/stats`);

    // Assess
    expect(served).toMatchObject({ status: 200, name: 'link-stats' });
    expect(served.event.pathParameters).toEqual({ code: 'abc' });
  });

  it('gives a greedy variable every remaining segment', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    const served = await servedBy(`${gateway.url}/v1/jobs/42/attempts`, 'DELETE');

    // Assess
    expect(served).toMatchObject({ status: 200, name: 'v1-fallback' });
    expect(served.event.resource).toBe('/v1/{proxy+}');
    expect(served.event.pathParameters).toEqual({ proxy: 'jobs/42/attempts' });
  });

  it('does not match a greedy variable with no segment left', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    const response = await fetch(`${gateway.url}/files`);

    // Assess
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('falls back to the resource ANY method for a method it does not define', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    const get = await servedBy(`${gateway.url}/v1/links/abc`, 'GET');
    const patch = await servedBy(`${gateway.url}/v1/links/abc`, 'PATCH');

    // Assess
    expect(get.name).toBe('get-link');
    expect(patch).toMatchObject({ status: 200, name: 'any-link' });
    expect(patch.event.httpMethod).toBe('PATCH');
  });

  it('serves the root resource at the stage URL, with or without a trailing slash', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    const bare = await servedBy(gateway.url);
    const slash = await servedBy(`${gateway.url}/`);

    // Assess
    expect(bare).toMatchObject({ status: 200, name: 'root' });
    expect(slash).toMatchObject({ status: 200, name: 'root' });
    expect(bare.event.path).toBe('/');
    expect(bare.event.requestContext.path).toBe('/dev/');
  });

  it('answers Missing Authentication Token for a method the resource lacks, without falling back elsewhere', async () => {
    // Prepare
    const { gateway, log } = await serve(api, invoker);

    // Act
    const response = await fetch(`${gateway.url}/v1/links`, { method: 'DELETE' });

    // Assess: `/v1/{proxy+}` has ANY, but `/v1/links` is the resource that matched
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
    expect(invoker.calls).toHaveLength(0);
    expect(log[0]).toMatchObject({ status: 403, responseType: 'MISSING_AUTHENTICATION_TOKEN' });
  });

  it('answers Missing Authentication Token for an unknown path', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    const response = await fetch(`${gateway.url}/nowhere/at/all`);

    // Assess
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  it('answers Forbidden outside the stage, as AWS does for an unknown stage', async () => {
    // Prepare
    const { gateway } = await serve(api, invoker);

    // Act
    const response = await fetch(`http://127.0.0.1:${gateway.port}/prod/v1/links`);

    // Assess
    expect(gateway.url).toBe(`http://127.0.0.1:${gateway.port}/dev`);
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
    expect(await response.json()).toEqual({ message: 'Forbidden' });
    expect(invoker.calls).toHaveLength(0);
  });
});
