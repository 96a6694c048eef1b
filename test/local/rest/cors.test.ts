import { afterEach, describe, expect, it } from 'vitest';
import { closeGateways, FakeInvoker, fn, ok, preflight, proxy, restApi, serve } from './support';

afterEach(closeGateways);

function apiWithOrigins(origins: string[]) {
  return restApi({ resources: [{ path: '/v1/links', methods: [proxy('GET', 'links'), preflight(origins)] }] });
}

const preflightRequest = (url: string, origin: string) =>
  fetch(url, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });

describe('REST gateway CORS preflight', () => {
  it("answers a single-origin preflight with the method's static headers, without invoking anything", async () => {
    // Prepare
    const invoker = new FakeInvoker().on(fn('links'), () => ok());
    const { gateway } = await serve(apiWithOrigins(['http://localhost:3000']), invoker);

    // Act
    const response = await preflightRequest(`${gateway.url}/v1/links`, 'http://localhost:3000');

    // Assess
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(response.headers.get('access-control-allow-methods')).toBe('OPTIONS,GET,POST');
    expect(response.headers.get('access-control-allow-headers')).toBe('Authorization,Content-Type');
    expect(response.headers.get('access-control-max-age')).toBe('3600');
    expect(response.headers.get('x-amzn-requestid')).toBeTruthy();
    expect(await response.text()).toBe('');
    expect(invoker.calls).toHaveLength(0);
  });

  it('echoes an allowed origin among several, with Vary: Origin', async () => {
    // Prepare
    const { gateway } = await serve(apiWithOrigins(['http://localhost:3000', 'http://localhost:5173']), new FakeInvoker());

    // Act
    const response = await preflightRequest(`${gateway.url}/v1/links`, 'http://localhost:5173');

    // Assess
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(response.headers.get('vary')).toBe('Origin');
  });

  it('does not echo an origin outside the list', async () => {
    // Prepare
    const { gateway } = await serve(apiWithOrigins(['http://localhost:3000', 'http://localhost:5173']), new FakeInvoker());

    // Act
    const response = await preflightRequest(`${gateway.url}/v1/links`, 'https://evil.example');

    // Assess: CDK's template leaves the static first origin, which the browser then refuses
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(response.headers.get('vary')).toBe('Origin');
  });
});
