import { inject } from 'vitest';
import WebSocket from 'ws';
import { mintDevelopmentToken } from '#shared/auth/jwt';
import type { E2eTarget } from './target';

/** The target the global setup started or found, with a token minter. */
export function e2eTarget(): E2eTarget {
  const provided = inject('e2eTarget');
  return {
    ...provided,
    token: (user, tenant, scopes = []) =>
      mintDevelopmentToken({ ...provided.signing, userId: user, tenantId: tenant, scopes: [...scopes], expiresInSeconds: 600 }),
  };
}

/** A tenant id no other test uses, so tests never see each other's data. */
export function uniqueTenant(prefix = 't'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Opens a WebSocket and resolves once it is open, or rejects with the HTTP status of a refusal. */
export function connect(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols);
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => reject(Object.assign(new Error(`refused with ${response.statusCode}`), { status: response.statusCode })));
    socket.once('error', reject);
  });
}

/** The next message on a socket, parsed, within `timeoutMs`. */
export function nextMessage(socket: WebSocket, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
    socket.once('message', (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(data.toString()) as Record<string, unknown>);
    });
  });
}
