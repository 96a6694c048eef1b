import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  base64url,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type GenerateKeyPairResult,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTokenVerifier, DEFAULT_CLAIM_NAMES, mintDevelopmentToken, type ClaimNames, type TokenVerifier } from '#shared/auth/jwt';
import { ConfigurationError, ServiceUnavailableError, UnauthorizedError } from '#shared/errors';
import { logger } from '#shared/powertools';

const ISSUER = 'https://auth.switchyard.test';
const AUDIENCE = 'switchyard';
const SECRET = 'unit-test-secret-of-at-least-32-bytes!';
const OTHER_SECRET = 'another-secret-of-at-least-32-bytes-long';
const KID = 'test-key-1';

const now = () => Math.floor(Date.now() / 1000);

// Refusals are logged by design; the test output does not need them.
beforeAll(() => logger.setLogLevel('SILENT'));

function secretVerifier(claims: ClaimNames = DEFAULT_CLAIM_NAMES, secret: () => Promise<Uint8Array | string> = async () => SECRET): TokenVerifier {
  return createTokenVerifier({ mode: 'secret', secret, issuer: ISSUER, audience: AUDIENCE, claims });
}

/** A token with every standard claim valid unless `overrides` says otherwise (`undefined` drops a claim). */
async function signHs256(payload: JWTPayload, overrides: { iss?: string | undefined; aud?: string | undefined; exp?: number | undefined; nbf?: number | undefined } = {}, secret: string = SECRET): Promise<string> {
  const claims: JWTPayload = { iss: ISSUER, aud: AUDIENCE, iat: now(), nbf: now(), exp: now() + 600, ...payload, ...overrides };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

async function signWithKey(key: CryptoKey, alg: string, payload: JWTPayload, kid = KID): Promise<string> {
  return new SignJWT({ tenant: 'acme', scope: 'chat:write', ...payload })
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}

async function expectRefused(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnauthorizedError);
  expect((error as Error).message).toBe('invalid token');
}

describe('createTokenVerifier, secret mode', () => {
  it('returns the principal of a valid token', async () => {
    // Prepare
    const token = await mintDevelopmentToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, userId: 'alice', tenantId: 'acme', scopes: ['chat:write', 'jobs:admin'] });

    // Act
    const principal = await secretVerifier().verify(token);

    // Assess
    expect(principal).toEqual({ userId: 'alice', tenantId: 'acme', scopes: ['chat:write', 'jobs:admin'] });
  });

  it('accepts the secret as bytes as well as a string', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' });
    const verifier = secretVerifier(DEFAULT_CLAIM_NAMES, async () => new TextEncoder().encode(SECRET));

    // Act
    const principal = await verifier.verify(token);

    // Assess
    expect(principal.userId).toBe('alice');
  });

  it('refuses an expired token', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' }, { exp: now() - 60 });

    // Act, Assess
    await expectRefused(secretVerifier().verify(token));
  });

  it('accepts a token expired by less than the clock tolerance', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' }, { exp: now() - 2 });

    // Act
    const principal = await secretVerifier().verify(token);

    // Assess
    expect(principal.tenantId).toBe('acme');
  });

  it('refuses a token that is not yet valid', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' }, { nbf: now() + 60 });

    // Act, Assess
    await expectRefused(secretVerifier().verify(token));
  });

  it('accepts a token whose nbf is within the clock tolerance', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' }, { nbf: now() + 2 });

    // Act
    const principal = await secretVerifier().verify(token);

    // Assess
    expect(principal.userId).toBe('alice');
  });

  it('refuses a token without exp', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' }, { exp: undefined });

    // Act, Assess
    await expectRefused(secretVerifier().verify(token));
  });

  it('refuses a token from another issuer', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' }, { iss: 'https://evil.example' });

    // Act, Assess
    await expectRefused(secretVerifier().verify(token));
  });

  it('refuses a token without an issuer', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' }, { iss: undefined });

    // Act, Assess
    await expectRefused(secretVerifier().verify(token));
  });

  it('refuses a token for another audience', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' }, { aud: 'another-app' });

    // Act, Assess
    await expectRefused(secretVerifier().verify(token));
  });

  it('refuses a token signed with another secret', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' }, {}, OTHER_SECRET);

    // Act, Assess
    await expectRefused(secretVerifier().verify(token));
  });

  it('refuses a token whose payload was altered after signing', async () => {
    // Prepare
    const [header, , signature] = (await signHs256({ sub: 'alice', tenant: 'acme' })).split('.');
    const forgedPayload = base64url.encode(JSON.stringify({ sub: 'alice', tenant: 'globex', iss: ISSUER, aud: AUDIENCE, exp: now() + 600 }));

    // Act, Assess
    await expectRefused(secretVerifier().verify(`${header}.${forgedPayload}.${signature}`));
  });

  it('refuses an unsigned token (alg none)', async () => {
    // Prepare
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(JSON.stringify({ sub: 'alice', tenant: 'acme', iss: ISSUER, aud: AUDIENCE, exp: now() + 600 }));

    // Act, Assess
    await expectRefused(secretVerifier().verify(`${header}.${payload}.`));
  });

  it('refuses an RS256 token, even one whose claims are all valid', async () => {
    // Prepare
    const { privateKey } = await generateKeyPair('RS256');
    const token = await signWithKey(privateKey, 'RS256', {});

    // Act, Assess
    await expectRefused(secretVerifier().verify(token));
  });

  it('refuses an HS512 token signed with the right secret, allowing HS256 only', async () => {
    // Prepare
    const token = await new SignJWT({ sub: 'alice', tenant: 'acme' })
      .setProtectedHeader({ alg: 'HS512' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(SECRET.padEnd(64, '!')));
    const verifier = secretVerifier(DEFAULT_CLAIM_NAMES, async () => SECRET.padEnd(64, '!'));

    // Act, Assess
    await expectRefused(verifier.verify(token));
  });

  it.each([
    ['missing', {}],
    ['empty', { tenant: '' }],
    ['blank', { tenant: '   ' }],
    ['not a string', { tenant: 42 }],
  ])('refuses a token whose tenant claim is %s', async (_, tenantClaim) => {
    // Prepare
    const token = await signHs256({ sub: 'alice', ...tenantClaim });

    // Act, Assess
    await expectRefused(secretVerifier().verify(token));
  });

  it('refuses a token without a user claim', async () => {
    // Prepare
    const token = await signHs256({ tenant: 'acme' });

    // Act, Assess
    await expectRefused(secretVerifier().verify(token));
  });

  it('reads space-separated scopes from a string claim', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme', scope: ' chat:write  jobs:admin ' });

    // Act
    const principal = await secretVerifier().verify(token);

    // Assess
    expect(principal.scopes).toEqual(['chat:write', 'jobs:admin']);
  });

  it('reads scopes from an array claim', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme', scope: ['chat:write', 'jobs:admin'] });

    // Act
    const principal = await secretVerifier().verify(token);

    // Assess
    expect(principal.scopes).toEqual(['chat:write', 'jobs:admin']);
  });

  it('gives no scopes when the scopes claim is absent', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' });

    // Act
    const principal = await secretVerifier().verify(token);

    // Assess
    expect(principal.scopes).toEqual([]);
  });

  it.each([
    ['a number', 7],
    ['an array with a non-string', ['chat:write', 7]],
    ['an array member with a space', ['chat:write jobs:admin']],
  ])('refuses a scopes claim that is %s', async (_, scope) => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme', scope });

    // Act, Assess
    await expectRefused(secretVerifier().verify(token));
  });

  it('reads custom claim names', async () => {
    // Prepare
    const claims = { user: 'uid', tenant: 'custom:tenant', scopes: 'scp' };
    const token = await signHs256({ sub: 'ignored', uid: 'alice', 'custom:tenant': 'acme', tenant: 'ignored-too', scp: ['chat:write'] });

    // Act
    const principal = await secretVerifier(claims).verify(token);

    // Assess
    expect(principal).toEqual({ userId: 'alice', tenantId: 'acme', scopes: ['chat:write'] });
  });

  it('refuses a token that lacks the custom tenant claim even when it has a plain one', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' });

    // Act, Assess
    await expectRefused(secretVerifier({ user: 'sub', tenant: 'custom:tenant', scopes: 'scope' }).verify(token));
  });

  it('refuses garbage', async () => {
    // Act, Assess
    await expectRefused(secretVerifier().verify('not-a-jwt'));
    await expectRefused(secretVerifier().verify(''));
  });

  it('logs why a token was refused, without the token', async () => {
    // Prepare
    const info = vi.spyOn(logger, 'info');
    const token = await signHs256({ sub: 'alice', tenant: 'acme' }, { exp: now() - 60 });

    // Act
    await secretVerifier().verify(token).catch(() => undefined);

    // Assess
    expect(info).toHaveBeenCalledWith('Token refused', { reason: expect.stringContaining('ERR_JWT_EXPIRED') });
    expect(JSON.stringify(info.mock.calls)).not.toContain(token.split('.')[2]);
  });

  it('reports an unavailable secret as such, not as a bad token', async () => {
    // Prepare
    const token = await signHs256({ sub: 'alice', tenant: 'acme' });
    const verifier = secretVerifier(DEFAULT_CLAIM_NAMES, async () => {
      throw new Error('Secrets Manager throttled');
    });

    // Act
    const error = await verifier.verify(token).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).cause).toMatchObject({ message: 'Secrets Manager throttled' });
  });

  it('refuses to verify with a secret shorter than 32 bytes', async () => {
    // Prepare
    const short = 'too-short';
    const token = await new SignJWT({ sub: 'alice', tenant: 'acme' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(short));

    // Act, Assess
    await expect(secretVerifier(DEFAULT_CLAIM_NAMES, async () => short).verify(token)).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('createTokenVerifier, jwks mode', () => {
  let rsa: GenerateKeyPairResult;
  let ec: GenerateKeyPairResult;
  let jwks: JSONWebKeySet;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    jwks = {
      keys: [
        { ...(await exportJWK(rsa.publicKey)), kid: KID, alg: 'RS256', use: 'sig' },
        { ...(await exportJWK(ec.publicKey)), kid: 'ec-key', alg: 'ES256', use: 'sig' },
      ],
    };
  });

  function jwksVerifier(claims: ClaimNames = DEFAULT_CLAIM_NAMES): TokenVerifier {
    return createTokenVerifier({ mode: 'jwks', jwksUrl: 'https://idp.example/jwks.json', keySet: createLocalJWKSet(jwks), issuer: ISSUER, audience: AUDIENCE, claims });
  }

  it('returns the principal of a valid RS256 token', async () => {
    // Prepare
    const token = await signWithKey(rsa.privateKey, 'RS256', { scope: 'chat:write jobs:admin' });

    // Act
    const principal = await jwksVerifier().verify(token);

    // Assess
    expect(principal).toEqual({ userId: 'alice', tenantId: 'acme', scopes: ['chat:write', 'jobs:admin'] });
  });

  it('returns the principal of a valid ES256 token', async () => {
    // Prepare
    const token = await signWithKey(ec.privateKey, 'ES256', {}, 'ec-key');

    // Act
    const principal = await jwksVerifier().verify(token);

    // Assess
    expect(principal.userId).toBe('alice');
  });

  it('refuses a token signed with another RSA key under a known kid', async () => {
    // Prepare
    const { privateKey } = await generateKeyPair('RS256');
    const token = await signWithKey(privateKey, 'RS256', {});

    // Act, Assess
    await expectRefused(jwksVerifier().verify(token));
  });

  it('refuses a token whose kid is not in the key set', async () => {
    // Prepare
    const token = await signWithKey(rsa.privateKey, 'RS256', {}, 'unknown-kid');

    // Act, Assess
    await expectRefused(jwksVerifier().verify(token));
  });

  it('refuses an HS256 token that used the public key as the HMAC secret', async () => {
    // Prepare
    const pem = await exportSPKI(rsa.publicKey);
    const token = await new SignJWT({ sub: 'mallory', tenant: 'acme' })
      .setProtectedHeader({ alg: 'HS256', kid: KID })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(pem));

    // Act, Assess
    await expectRefused(jwksVerifier().verify(token));
  });

  it('refuses an unsigned token (alg none)', async () => {
    // Prepare
    const header = base64url.encode(JSON.stringify({ alg: 'none', kid: KID }));
    const payload = base64url.encode(JSON.stringify({ sub: 'mallory', tenant: 'acme', iss: ISSUER, aud: AUDIENCE, exp: now() + 600 }));

    // Act, Assess
    await expectRefused(jwksVerifier().verify(`${header}.${payload}.`));
  });

  it('refuses an expired token', async () => {
    // Prepare
    const token = await new SignJWT({ sub: 'alice', tenant: 'acme' })
      .setProtectedHeader({ alg: 'RS256', kid: KID })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(now() - 60)
      .sign(rsa.privateKey);

    // Act, Assess
    await expectRefused(jwksVerifier().verify(token));
  });

  it('refuses a token for another audience', async () => {
    // Prepare
    const token = await new SignJWT({ sub: 'alice', tenant: 'acme' })
      .setProtectedHeader({ alg: 'RS256', kid: KID })
      .setIssuer(ISSUER)
      .setAudience('another-app')
      .setExpirationTime('10m')
      .sign(rsa.privateKey);

    // Act, Assess
    await expectRefused(jwksVerifier().verify(token));
  });

  it('accepts a Cognito access token: no aud, the app client in client_id', async () => {
    // Prepare
    const accessToken = (clientId: string) =>
      new SignJWT({ sub: 'alice', 'custom:tenant': 'acme', client_id: clientId, token_use: 'access', scope: 'chat:write' })
        .setProtectedHeader({ alg: 'RS256', kid: KID })
        .setIssuer(ISSUER)
        .setExpirationTime('10m')
        .sign(rsa.privateKey);
    const verifier = jwksVerifier({ user: 'sub', tenant: 'custom:tenant', scopes: 'scope' });

    // Act
    const principal = await verifier.verify(await accessToken(AUDIENCE));

    // Assess
    expect(principal).toEqual({ userId: 'alice', tenantId: 'acme', scopes: ['chat:write'] });
    await expectRefused(verifier.verify(await accessToken('another-app-client')));
  });

  it('refuses a token with neither aud nor client_id', async () => {
    // Prepare
    const token = await new SignJWT({ sub: 'alice', tenant: 'acme' }).setProtectedHeader({ alg: 'RS256', kid: KID }).setIssuer(ISSUER).setExpirationTime('10m').sign(rsa.privateKey);

    // Act, Assess
    await expectRefused(jwksVerifier().verify(token));
  });

  /** RS256 with exactly these claims on top of sub, tenant, aud, iss and exp. */
  const signClaims = (claims: JWTPayload) =>
    new SignJWT({ sub: 'alice', tenant: 'acme', aud: AUDIENCE, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: KID })
      .setIssuer(ISSUER)
      .setExpirationTime('10m')
      .sign(rsa.privateKey);

  it('refuses an aud that names another app even when client_id names ours', async () => {
    // Prepare
    const token = await signClaims({ aud: 'another-app', client_id: AUDIENCE });

    // Act, Assess
    await expectRefused(jwksVerifier().verify(token));
  });

  it.each([
    ['a tenant id with a key separator', { tenant: 'acme#other' }],
    ['a tenant id with a space', { tenant: 'ac me' }],
    ['a tenant id over 64 characters', { tenant: 'a'.repeat(65) }],
    ['a user id with a key separator', { sub: 'alice#admin' }],
    ['a user id with a control character', { sub: 'alice\u0000' }],
  ])('refuses %s', async (_, claims) => {
    // Prepare
    const token = await signClaims(claims);

    // Act, Assess
    await expectRefused(jwksVerifier().verify(token));
  });

  it('accepts provider-style user ids such as auth0|abc and e-mail addresses', async () => {
    for (const sub of ['auth0|5f7c8ec7c33c6c004bbafe82', 'alice@example.com']) {
      // Prepare
      const token = await signClaims({ sub });

      // Act
      const principal = await jwksVerifier().verify(token);

      // Assess
      expect(principal.userId).toBe(sub);
    }
  });

  it('reads a Cognito-style custom tenant claim', async () => {
    // Prepare
    const token = await signWithKey(rsa.privateKey, 'RS256', { tenant: undefined, 'custom:tenant': 'acme' });

    // Act
    const principal = await jwksVerifier({ user: 'sub', tenant: 'custom:tenant', scopes: 'scope' }).verify(token);

    // Assess
    expect(principal.tenantId).toBe('acme');
  });

  describe('through createRemoteJWKSet', () => {
    let server: Server;
    let jwksUrl: string;
    let requests = 0;
    let status = 200;

    beforeAll(async () => {
      server = createServer((_, response) => {
        requests += 1;
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    });

    afterEach(() => {
      requests = 0;
      status = 200;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    const remoteVerifier = () => createTokenVerifier({ mode: 'jwks', jwksUrl, issuer: ISSUER, audience: AUDIENCE, claims: DEFAULT_CLAIM_NAMES });

    it('verifies against the fetched key set and caches it', async () => {
      // Prepare
      const verifier = remoteVerifier();
      const token = await signWithKey(rsa.privateKey, 'RS256', {});

      // Act
      const first = await verifier.verify(token);
      const second = await verifier.verify(token);

      // Assess
      expect(first).toEqual({ userId: 'alice', tenantId: 'acme', scopes: ['chat:write'] });
      expect(second).toEqual(first);
      expect(requests).toBe(1);
    });

    it('refuses a token signed with a key the provider does not publish', async () => {
      // Prepare
      const { privateKey } = await generateKeyPair('RS256');
      const token = await signWithKey(privateKey, 'RS256', {});

      // Act, Assess
      await expectRefused(remoteVerifier().verify(token));
      expect(requests).toBe(1);
    });

    it('reports a failing key endpoint as unavailable, not as a bad token', async () => {
      // Prepare
      status = 503;
      const token = await signWithKey(rsa.privateKey, 'RS256', {});

      // Act, Assess
      await expect(remoteVerifier().verify(token)).rejects.toBeInstanceOf(ServiceUnavailableError);
    });
  });
});

describe('mintDevelopmentToken', () => {
  it('sets iat, nbf, exp, jti, iss, aud and the claims under their configured names', async () => {
    // Prepare
    const before = now();

    // Act
    const token = await mintDevelopmentToken({
      secret: SECRET,
      issuer: ISSUER,
      audience: AUDIENCE,
      userId: 'alice',
      tenantId: 'acme',
      scopes: ['chat:write'],
      claims: { user: 'uid', tenant: 'custom:tenant', scopes: 'scp' },
      expiresInSeconds: 120,
    });

    // Assess
    const payload = decodeJwt(token);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', uid: 'alice', 'custom:tenant': 'acme', scp: 'chat:write' });
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.exp).toBe(payload.iat! + 120);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives every token its own jti', async () => {
    // Prepare
    const options = { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, userId: 'alice', tenantId: 'acme' };

    // Act
    const [a, b] = await Promise.all([mintDevelopmentToken(options), mintDevelopmentToken(options)]);

    // Assess
    expect(decodeJwt(a).jti).not.toBe(decodeJwt(b).jti);
  });

  it('defaults to a one-hour token with no scope claim', async () => {
    // Act
    const token = await mintDevelopmentToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, userId: 'alice', tenantId: 'acme' });

    // Assess
    const payload = decodeJwt(token);
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload).not.toHaveProperty('scope');
  });

  it('refuses a secret shorter than 32 bytes', async () => {
    // Act, Assess
    await expect(mintDevelopmentToken({ secret: 'short', issuer: ISSUER, audience: AUDIENCE, userId: 'alice', tenantId: 'acme' })).rejects.toBeInstanceOf(RangeError);
  });

  it('refuses a scope containing whitespace and a blank tenant', async () => {
    // Act, Assess
    await expect(mintDevelopmentToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, userId: 'alice', tenantId: 'acme', scopes: ['a b'] })).rejects.toThrow();
    await expect(mintDevelopmentToken({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, userId: 'alice', tenantId: ' ' })).rejects.toThrow();
  });
});
