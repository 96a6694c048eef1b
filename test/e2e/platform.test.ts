import { describe, expect, it } from 'vitest';
import { connect, e2eTarget, nextMessage, uniqueTenant } from './support';

const target = e2eTarget();
const url = (path: string) => new URL(path, target.restUrl).toString();

describe('platform, end to end', () => {
  it('answers GET /health with every dependency checked', async () => {
    // Act
    const response = await fetch(url('health'));

    // Assess
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; version: string; checks: Record<string, { status: string }> };
    expect(body.status).toBe('pass');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.checks['dynamodb']?.status).toBe('pass');
    expect(body.checks['eventbridge']?.status).toBe('pass');
    expect(response.headers.get('x-correlation-id')).toBeTruthy();
  });

  it('tells a token holder who they are, and echoes the correlation id', async () => {
    // Prepare
    const tenant = uniqueTenant();
    const token = await target.token('alice', tenant, ['chat:write']);

    // Act
    const response = await fetch(url('v1/me'), { headers: { authorization: `Bearer ${token}`, 'x-correlation-id': 'e2e-me-1' } });

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ userId: 'alice', tenantId: tenant, scopes: ['chat:write'] });
    expect(response.headers.get('x-correlation-id')).toBe('e2e-me-1');
  });

  it.each([
    ['no token', undefined],
    ['a malformed header', 'Bearer not-a-jwt'],
    ['a token signed with another key', 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5IiwidGVuYW50IjoiYWNtZSJ9.c2lnbmF0dXJl'],
  ])('refuses %s with a 401 problem that says only "invalid token"', async (_, authorization) => {
    // Act
    const response = await fetch(url('v1/me'), { headers: authorization ? { authorization } : {} });

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 401, detail: 'invalid token' });
  });

  it('answers an unknown route with a 404 problem', async () => {
    const response = await fetch(url('v1/nothing-here'));
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: 'urn:switchyard:problem:not-found' });
  });

  it('serves the OpenAPI document generated from the route contracts', async () => {
    const response = await fetch(url('openapi.json'));
    expect(response.status).toBe(200);
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/health', '/v1/me', '/openapi.json']));
  });

  it('answers a CORS preflight for an allowed origin', async () => {
    const response = await fetch(url('v1/me'), { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'GET' } });
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(response.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('accepts a WebSocket with a token, in the query or as a subprotocol, and refuses one without', async () => {
    // Prepare
    const token = await target.token('bob', uniqueTenant());

    // Act
    const byQuery = await connect(`${target.webSocketUrl}?token=${token}`);
    const bySubprotocol = await connect(target.webSocketUrl, ['bearer', token]);
    const refused = await connect(target.webSocketUrl).catch((error: { status?: number }) => error);

    // Assess
    expect(byQuery.readyState).toBe(byQuery.OPEN);
    expect(bySubprotocol.protocol).toBe('bearer');
    expect((refused as { status?: number }).status).toBe(401);
    byQuery.close();
    bySubprotocol.close();
  });

  it('answers an unknown WebSocket action with an error frame and keeps the connection open', async () => {
    // Prepare
    const socket = await connect(`${target.webSocketUrl}?token=${await target.token('carol', uniqueTenant())}`);

    // Act
    const reply = nextMessage(socket);
    socket.send(JSON.stringify({ action: 'no-such-action' }));

    // Assess
    expect(await reply).toMatchObject({ type: 'error', code: 'unknown-action' });
    expect(socket.readyState).toBe(socket.OPEN);
    socket.close();
  });
});
