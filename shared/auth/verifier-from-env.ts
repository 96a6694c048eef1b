import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { readEnv } from '../env';
import { ConfigurationError } from '../errors';
import { tracer } from '../powertools';
import { createTokenVerifier, DEFAULT_CLAIM_NAMES, type TokenVerifier } from './jwt';

/**
 * How long a warm container keeps the signing secret. After a rotation, tokens signed with the
 * new secret are refused by a container for at most this long; five minutes bounds that while
 * keeping Secrets Manager calls to a few per container per hour.
 */
export const SECRET_CACHE_SECONDS = 300;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Keys fetched over plain HTTP could be swapped in transit, so HTTPS is required except on
 * loopback, where the local cloud serves its keys. `lib/config.ts` checks this at synth, but a
 * URL given as a deploy-time parameter only meets this check.
 */
const JwksUrl = z.url().refine((value) => {
  const url = new URL(value);
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
}, 'must be an https URL (http only on localhost)');

/** Variables both modes read. */
const CommonAuthEnv = {
  AUTH_MODE: z.enum(['secret', 'jwks']),
  JWT_ISSUER: z.string().min(1),
  JWT_AUDIENCE: z.string().min(1),
  CLAIM_USER: z.string().min(1).default(DEFAULT_CLAIM_NAMES.user),
  CLAIM_TENANT: z.string().min(1).default(DEFAULT_CLAIM_NAMES.tenant),
  CLAIM_SCOPES: z.string().min(1).default(DEFAULT_CLAIM_NAMES.scopes),
};

/**
 * Builds the token verifier an authorizer uses, from its environment, once per container:
 *
 * - `AUTH_MODE`: `secret` or `jwks`
 * - `JWT_ISSUER`, `JWT_AUDIENCE`: the expected `iss` and `aud`
 * - `JWKS_URL` (`jwks` mode): the identity provider's key set
 * - `JWT_SECRET_ARN` (`secret` mode): a Secrets Manager secret whose whole `SecretString` is the
 *   HS256 key (not JSON), at least 32 bytes; read through Powertools Parameters and cached for
 *   {@link SECRET_CACHE_SECONDS}
 * - `CLAIM_USER`, `CLAIM_TENANT`, `CLAIM_SCOPES`: claim names, defaulting to `sub`, `tenant`, `scope`
 *
 * @param source the environment; tests pass a plain object
 * @throws ConfigurationError naming every missing or malformed variable
 */
export function verifierFromEnv(source: NodeJS.ProcessEnv = process.env): TokenVerifier {
  const env = readEnv(CommonAuthEnv, source);
  const common = {
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    claims: { user: env.CLAIM_USER, tenant: env.CLAIM_TENANT, scopes: env.CLAIM_SCOPES },
  };

  if (env.AUTH_MODE === 'jwks') {
    const { JWKS_URL } = readEnv({ JWKS_URL: JwksUrl }, source);
    return createTokenVerifier({ mode: 'jwks', jwksUrl: JWKS_URL, ...common });
  }

  const { JWT_SECRET_ARN } = readEnv({ JWT_SECRET_ARN: z.string().min(1) }, source);
  const secrets = new SecretsProvider({ awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient({})) });
  return createTokenVerifier({
    mode: 'secret',
    ...common,
    secret: async () => {
      const value = await secrets.get(JWT_SECRET_ARN, { maxAge: SECRET_CACHE_SECONDS });
      if (value === undefined) throw new ConfigurationError(`secret ${JWT_SECRET_ARN} has no value`);
      return value;
    },
  });
}
