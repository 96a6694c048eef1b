import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { ConfigurationError, ServiceUnavailableError, UnauthorizedError } from '../errors';
import { logger } from '../powertools';
import type { Principal } from './principal';

/**
 * Names of the claims that carry who is calling. Identity providers disagree: Cognito puts
 * the tenant in `custom:tenant`, Azure AD puts scopes in an `scp` array, OAuth servers in a
 * space-separated `scope` string.
 */
export interface ClaimNames {
  /** Claim holding the user id, usually `sub`. */
  readonly user: string;
  /** Claim holding the tenant id. */
  readonly tenant: string;
  /** Claim holding the scopes: a space-separated string or an array of strings. */
  readonly scopes: string;
}

/** The claim names `lib/config.ts` falls back to; development tokens use them unless told otherwise. */
export const DEFAULT_CLAIM_NAMES: ClaimNames = { user: 'sub', tenant: 'tenant', scopes: 'scope' };

interface CommonVerifierOptions {
  /** Expected `iss`; a token from any other issuer is refused. */
  readonly issuer: string;
  /** Expected `aud`; a token minted for another client of the same issuer is refused. */
  readonly audience: string;
  readonly claims: ClaimNames;
}

/** HS256 tokens signed with a shared secret: local and test stages only. */
export interface SecretVerifierOptions extends CommonVerifierOptions {
  readonly mode: 'secret';
  /**
   * Returns the signing secret; called on every verification, so it should cache (a string
   * is taken as its UTF-8 bytes). At least 32 bytes, as RFC 7518 requires for HS256.
   */
  readonly secret: () => Promise<Uint8Array | string>;
}

/** Asymmetric tokens verified against an identity provider's JSON Web Key Set. */
export interface JwksVerifierOptions extends CommonVerifierOptions {
  readonly mode: 'jwks';
  /** Where the provider publishes its keys, e.g. `https://cognito-idp.{region}.amazonaws.com/{poolId}/.well-known/jwks.json`. */
  readonly jwksUrl: string;
  /** Resolves keys instead of fetching `jwksUrl`; tests pass jose's `createLocalJWKSet`. */
  readonly keySet?: JWTVerifyGetKey;
}

export type TokenVerifierOptions = SecretVerifierOptions | JwksVerifierOptions;

/** Turns a bearer token into the principal it proves, or refuses it. */
export interface TokenVerifier {
  /**
   * @throws UnauthorizedError for any token that is not valid (the message never says why)
   * @throws ServiceUnavailableError when the signing keys cannot be obtained, which is not the caller's fault
   * @throws ConfigurationError when the configured secret is unusable
   */
  verify(token: string): Promise<Principal>;
}

/**
 * Every asymmetric JWS algorithm jose verifies with a public key. HMAC is left out on purpose:
 * were HS256 allowed here, a token "signed" with the provider's public key as the HMAC secret
 * would verify, and that key is public. `Ed25519` is the fully-specified name (RFC 9864) of `EdDSA`.
 */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** One algorithm for the shared secret, so a token can never pick a weaker or a public-key one. */
const SECRET_ALGORITHMS = ['HS256'] as const;

/**
 * Lambda and the token issuer keep NTP time, but not the same time: a token minted a moment
 * ago on a clock running a little ahead carries an `nbf` in our future. Five seconds absorbs
 * that skew while stretching an expired token's life by no more than five seconds.
 */
const CLOCK_TOLERANCE_SECONDS = 5;

/** RFC 7518 section 3.2: an HS256 key is at least as long as the hash output. */
const MIN_SECRET_BYTES = 32;

/** Refusals are normal traffic; a reason this long is enough to debug one. */
const MAX_LOGGED_REASON_LENGTH = 200;

const NonBlankClaim = z.string().refine((value) => value.trim() !== '', 'must not be blank');

/**
 * Tenant and user ids become parts of table keys (`<tenant>#<kind>#<id>`) and log fields, so
 * a token may not smuggle a key separator or a control character into them.
 */
const TenantIdClaim = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash, underscore; at most 64');
const UserIdClaim = NonBlankClaim.pipe(z.string().max(256).regex(/^[^#\s\p{Cc}]+$/u, 'no "#", white space or control characters'));

/**
 * Both shapes of a scopes claim. An array member with whitespace is refused because scopes
 * travel space-joined in the authorizer context, where `"a b"` would turn into two scopes.
 */
const ScopesClaim = z
  .union([
    z.string().transform((value) => value.split(/\s+/).filter(Boolean)),
    z.array(z.string().regex(/^\S+$/, 'a scope must be one word')),
  ])
  .optional()
  .transform((scopes) => scopes ?? []);

/**
 * Builds a verifier that checks signature, `exp` (required), `nbf`, `iss` and `aud`, allows
 * only the algorithms of its mode, and reads the principal from the configured claims.
 * The remote key set is created once here, so keys are cached for the life of the container.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { issuer, audience, claims } = options;
  const key = options.mode === 'secret' ? secretKey(options.secret) : jwksKey(options);
  const algorithms = options.mode === 'secret' ? [...SECRET_ALGORITHMS] : [...ASYMMETRIC_ALGORITHMS];

  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms,
          issuer,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          // A token without `exp` would be valid forever.
          requiredClaims: ['exp'],
        }));
      } catch (error) {
        if (error instanceof ServiceUnavailableError || error instanceof ConfigurationError) throw error;
        throw refused(describe(error));
      }
      if (!isForAudience(payload, audience)) throw refused(`token is not for audience "${audience}"`);
      return principalFrom(payload, claims);
    },
  };
}

function secretKey(secret: SecretVerifierOptions['secret']): () => Promise<Uint8Array> {
  return async () => {
    let value: Uint8Array | string;
    try {
      value = await secret();
    } catch (cause) {
      throw unavailable('token signing secret unavailable', cause);
    }
    const bytes = secretBytes(value);
    if (bytes.byteLength < MIN_SECRET_BYTES) {
      throw new ConfigurationError(`the token signing secret is ${bytes.byteLength} bytes; HS256 needs at least ${MIN_SECRET_BYTES}`);
    }
    return bytes;
  };
}

function jwksKey(options: JwksVerifierOptions): JWTVerifyGetKey {
  let keySet = options.keySet;
  if (!keySet) {
    let url: URL;
    try {
      url = new URL(options.jwksUrl);
    } catch {
      throw new ConfigurationError(`the JWKS URL is not a URL: ${options.jwksUrl}`);
    }
    keySet = createRemoteJWKSet(url);
  }
  const resolve = keySet;
  return async (header, token) => {
    try {
      return await resolve(header, token);
    } catch (error) {
      // No key for the token's `kid` (after a refetch) is the token's fault; anything else
      // (timeout, non-200, malformed set) is the provider's, and the caller may retry.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw unavailable('token signing keys unavailable', error);
    }
  };
}

/**
 * `aud` must name the audience. Cognito access tokens carry no `aud` but the app client in
 * `client_id`, so a token without `aud` is accepted when `client_id` is the audience.
 */
function isForAudience(payload: JWTPayload, audience: string): boolean {
  if (payload.aud !== undefined) return (Array.isArray(payload.aud) ? payload.aud : [payload.aud]).includes(audience);
  return payload['client_id'] === audience;
}

function principalFrom(payload: JWTPayload, claims: ClaimNames): Principal {
  const userId = UserIdClaim.safeParse(payload[claims.user]);
  if (!userId.success) throw refused(`user claim "${claims.user}" missing or malformed`);
  const tenantId = TenantIdClaim.safeParse(payload[claims.tenant]);
  if (!tenantId.success) throw refused(`tenant claim "${claims.tenant}" missing or malformed`);
  const scopes = ScopesClaim.safeParse(payload[claims.scopes]);
  if (!scopes.success) throw refused(`scopes claim "${claims.scopes}" is neither a string nor an array of words`);
  return { userId: userId.data, tenantId: tenantId.data, scopes: scopes.data };
}

/** The reason goes to the log, never to the caller, and never with the token. */
function refused(reason: string): UnauthorizedError {
  logger.info('Token refused', { reason });
  return new UnauthorizedError();
}

/** The caller logs this one; the cause says what went wrong with the key source. */
function unavailable(message: string, cause: unknown): ServiceUnavailableError {
  return Object.assign(new ServiceUnavailableError(message), { cause });
}

function describe(error: unknown): string {
  const text = error instanceof errors.JOSEError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  return text.slice(0, MAX_LOGGED_REASON_LENGTH);
}

function secretBytes(secret: Uint8Array | string): Uint8Array {
  return typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
}

/** What a development token says about its holder. */
export interface DevelopmentTokenOptions {
  /** The stage's signing secret, at least 32 bytes. */
  readonly secret: Uint8Array | string;
  readonly issuer: string;
  readonly audience: string;
  readonly userId: string;
  readonly tenantId: string;
  /** @default [] */
  readonly scopes?: readonly string[];
  /** The claim names the stage's verifier reads. @default DEFAULT_CLAIM_NAMES */
  readonly claims?: ClaimNames;
  /** @default 3600 */
  readonly expiresInSeconds?: number;
}

const DevelopmentTokenSchema = z.object({
  issuer: z.string().min(1),
  audience: z.string().min(1),
  userId: UserIdClaim,
  tenantId: TenantIdClaim,
  scopes: z.array(z.string().regex(/^\S+$/, 'a scope must be one word')).default([]),
  expiresInSeconds: z.number().int().positive().default(3600),
});

/**
 * Mints an HS256 token that a `secret`-mode verifier with the same issuer, audience and
 * claim names accepts: `sub` is always the user (plus the user claim if it is another),
 * scopes go space-separated, and `iat`, `nbf`, `exp` and a random `jti` are set.
 * For local development and tests; deployed stages that verify against a JWKS never see these.
 *
 * @throws z.ZodError when a field is blank or malformed
 * @throws RangeError when the secret is shorter than 32 bytes
 */
export async function mintDevelopmentToken(options: DevelopmentTokenOptions): Promise<string> {
  const { issuer, audience, userId, tenantId, scopes, expiresInSeconds } = DevelopmentTokenSchema.parse(options);
  const claims = options.claims ?? DEFAULT_CLAIM_NAMES;
  const key = secretBytes(options.secret);
  if (key.byteLength < MIN_SECRET_BYTES) {
    throw new RangeError(`the signing secret is ${key.byteLength} bytes; HS256 needs at least ${MIN_SECRET_BYTES}`);
  }

  const payload: JWTPayload = { [claims.user]: userId, [claims.tenant]: tenantId };
  if (scopes.length > 0) payload[claims.scopes] = scopes.join(' ');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(userId)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + expiresInSeconds)
    .setJti(randomUUID())
    .sign(key);
}
