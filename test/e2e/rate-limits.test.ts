import { describe, expect, it } from 'vitest';
import { connect, e2eTarget, uniqueTenant } from './support';

const target = e2eTarget();
const url = (path: string) => new URL(path, target.restUrl).toString();

describe('rate limits on every route, end to end', () => {
  it('tells a caller how much is left, and refuses a flood past its bucket with 429 and an honest Retry-After', async () => {
    // Prepare: the dev stage gives each user a bucket of 60 that refills 1 a second; 80 requests
    // stay under the stage's own throttling (burst 1000), which would answer 429 first.
    const token = await target.token('flood', uniqueTenant('rl'));
    const headers = { authorization: `Bearer ${token}` };
    const started = Date.now();

    // Act
    const responses = await Promise.all(Array.from({ length: 80 }, () => fetch(url('v1/me'), { headers })));
    const elapsedSeconds = (Date.now() - started) / 1000;

    // Assess
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(ok.length + refused.length).toBe(80);
    expect(ok.length).toBeGreaterThanOrEqual(60);
    expect(ok.length).toBeLessThanOrEqual(60 + Math.ceil(elapsedSeconds));
    expect(ok[0]!.headers.get('ratelimit-policy')).toContain('"user";q=60;w=60');
    const refusal = refused[0]!;
    expect(refusal.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(refusal.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refusal.json()).toMatchObject({ status: 429, violatedPolicies: ['user'] });
  });

  it('keys the IP bucket by the address the gateway saw, whatever X-Forwarded-For claims', async () => {
    // Act
    const response = await fetch(url('health/live'), { headers: { 'x-forwarded-for': '1.2.3.4' } });

    // Assess: public route, no user: only the IP policy applies, and it is ours, not 1.2.3.4's.
    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-policy')).toBe('"ip";q=300;w=60');
  });
});

describe('WebSocket message limits, end to end', () => {
  it('answers a flood of frames with rate-limited error frames and keeps the connection open', async () => {
    // Prepare: the dev stage allows 40 messages per connection, refilling 5 a second.
    const socket = await connect(`${target.webSocketUrl}?token=${await target.token('chatty', uniqueTenant('ws'))}`);
    const FRAMES = 120;
    const frames: Record<string, unknown>[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
    const started = Date.now();

    // Act
    for (let i = 0; i < FRAMES; i++) socket.send(JSON.stringify({ action: 'no-such-action', i }));
    const deadline = Date.now() + 25_000;
    while (frames.length < FRAMES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const elapsedSeconds = (Date.now() - started) / 1000;

    // Assess: however slowly this machine handled them, no more than the bucket and its refill got through.
    const limited = frames.filter((f) => f['code'] === 'rate-limited');
    expect(frames).toHaveLength(FRAMES);
    expect(FRAMES - limited.length).toBeLessThanOrEqual(40 + Math.ceil(elapsedSeconds * 5));
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]).toMatchObject({ type: 'error', violatedPolicies: ['ws-connection'] });
    expect(socket.readyState).toBe(socket.OPEN);
    socket.close();
  });
});
