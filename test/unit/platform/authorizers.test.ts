import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTokenVerifier, DEFAULT_CLAIM_NAMES, mintDevelopmentToken, type TokenVerifier } from '#shared/auth/jwt';
import { verifierFromEnv } from '#shared/auth/verifier-from-env';
import { bearerTokenFromSubprotocols, subprotocolResponseHeaders } from '#shared/auth/websocket';
import { ConfigurationError, ServiceUnavailableError } from '#shared/errors';
import { createConnectionAuthorizer, handler as connectionHandler, type ConnectionAuthorizerEvent } from '../../../functions/platform/authorize-connection';
import { createRequestAuthorizer, handler as requestHandler } from '../../../functions/platform/authorize-request';
import { lambdaContext } from '../../support/lambda-context';

// The handlers build their verifier from the environment when imported, so it is set first.
const env = vi.hoisted(() => {
  const values = {
    AWS_REGION: 'eu-west-1',
    AUTH_MODE: 'secret',
    JWT_ISSUER: 'https://auth.switchyard.test',
    JWT_AUDIENCE: 'switchyard',
    JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchyard-jwt-AbCdEf',
    CLAIM_TENANT: 'custom:tenant',
    // The logger middleware restores the configured level on every invocation.
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  Object.assign(process.env, values);
  return values;
});

const SECRET = 'authorizer-test-secret-at-least-32-bytes';
const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/GET/jobs/42';
const STAGE_WILDCARD = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/*/*';
const CONNECT_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:ws0987/dev/$connect';

const secretsManager = mockClient(SecretsManagerClient);

const context = lambdaContext('authorizer', 3000);

const verifier = createTokenVerifier({ mode: 'secret', secret: async () => SECRET, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE, claims: DEFAULT_CLAIM_NAMES });

function mint(overrides: { secret?: string; issuer?: string; tenantId?: string; claims?: typeof DEFAULT_CLAIM_NAMES } = {}): Promise<string> {
  return mintDevelopmentToken({
    secret: overrides.secret ?? SECRET,
    issuer: overrides.issuer ?? env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    userId: 'alice',
    tenantId: overrides.tenantId ?? 'acme',
    scopes: ['chat:write', 'jobs:admin'],
    claims: overrides.claims ?? DEFAULT_CLAIM_NAMES,
  });
}

function connectEvent(parts: Partial<ConnectionAuthorizerEvent>): ConnectionAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: CONNECT_ARN,
    headers: { Host: 'ws0987.execute-api.eu-west-1.amazonaws.com' },
    queryStringParameters: null,
    requestContext: { connectionId: 'L0SM9cOFvHcCIhw=', routeKey: '$connect' },
    ...parts,
  };
}

beforeEach(() => {
  secretsManager.reset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('REST request authorizer', () => {
  const authorize = createRequestAuthorizer(verifier);

  it('allows the whole stage for a valid token, with the principal as context', async () => {
    // Prepare
    const token = await mint();

    // Act
    const result = await authorize({ type: 'TOKEN', methodArn: METHOD_ARN, authorizationToken: `Bearer ${token}` });

    // Assess
    expect(result).toEqual({
      principalId: 'alice',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: STAGE_WILDCARD }],
      },
      context: { userId: 'alice', tenantId: 'acme', scopes: 'chat:write jobs:admin' },
    });
  });

  it.each([
    ['the root resource', 'arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/GET/', STAGE_WILDCARD],
    ['a deep path', 'arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/DELETE/jobs/42/attempts/3', STAGE_WILDCARD],
    ['another partition', 'arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/prod/POST/links', 'arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/prod/*/*'],
  ])('derives the stage wildcard from %s', async (_, methodArn, expected) => {
    // Prepare
    const token = await mint();

    // Act
    const result = await authorize({ type: 'TOKEN', methodArn, authorizationToken: `Bearer ${token}` });

    // Assess
    expect(result.policyDocument.Statement[0]).toMatchObject({ Resource: expected });
  });

  it('takes the Bearer scheme in any case', async () => {
    // Prepare
    const token = await mint();

    // Act
    const result = await authorize({ type: 'TOKEN', methodArn: METHOD_ARN, authorizationToken: `bEaReR ${token}` });

    // Assess
    expect(result.principalId).toBe('alice');
  });

  it.each([
    ['a token signed with another secret', async () => `Bearer ${await mint({ secret: 'x'.repeat(40) })}`],
    ['a token from another issuer', async () => `Bearer ${await mint({ issuer: 'https://evil.example' })}`],
    ['an empty header', async () => ''],
    ['a scheme and no token', async () => 'Bearer'],
    ['a non-Bearer scheme', async () => `Basic ${Buffer.from('alice:pw').toString('base64')}`],
    ['a token with no scheme', async () => mint()],
  ])('refuses %s with the exact message API Gateway maps to 401', async (_, header) => {
    // Prepare
    const authorizationToken = await header();

    // Act, Assess
    await expect(authorize({ type: 'TOKEN', methodArn: METHOD_ARN, authorizationToken })).rejects.toThrow(/^Unauthorized$/);
  });

  it('does not consult the verifier when there is no bearer token', async () => {
    // Prepare
    const verify = vi.fn<TokenVerifier['verify']>();

    // Act
    await createRequestAuthorizer({ verify })({ type: 'TOKEN', methodArn: METHOD_ARN, authorizationToken: 'Basic abc' }).catch(() => undefined);

    // Assess
    expect(verify).not.toHaveBeenCalled();
  });

  it('fails with a server error, not 401, when the keys are unavailable', async () => {
    // Prepare
    const unavailable: TokenVerifier = {
      verify: async () => {
        throw new ServiceUnavailableError('token signing keys unavailable');
      },
    };

    // Act
    const error = await createRequestAuthorizer(unavailable)({ type: 'TOKEN', methodArn: METHOD_ARN, authorizationToken: 'Bearer a.b.c' }).catch((e: Error) => e);

    // Assess
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).not.toBe('Unauthorized');
  });
});

describe('WebSocket $connect authorizer', () => {
  const authorize = createConnectionAuthorizer(verifier);

  it('allows the connection for a token in ?token=', async () => {
    // Prepare
    const token = await mint();

    // Act
    const result = await authorize(connectEvent({ queryStringParameters: { token } }));

    // Assess
    expect(result).toEqual({
      principalId: 'alice',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: CONNECT_ARN }],
      },
      context: { userId: 'alice', tenantId: 'acme', scopes: 'chat:write jobs:admin' },
    });
  });

  it('allows the connection for a token offered as the subprotocol after bearer', async () => {
    // Prepare
    const token = await mint({ tenantId: 'globex' });

    // Act
    const result = await authorize(connectEvent({ headers: { 'Sec-WebSocket-Protocol': `bearer, ${token}` } }));

    // Assess
    expect(result.context).toMatchObject({ userId: 'alice', tenantId: 'globex' });
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow', Resource: CONNECT_ARN });
  });

  it('prefers the subprotocol token over the query string', async () => {
    // Prepare
    const headerToken = await mint({ tenantId: 'from-header' });
    const queryToken = await mint({ tenantId: 'from-query' });

    // Act
    const result = await authorize(connectEvent({ headers: { 'sec-websocket-protocol': `bearer,${headerToken}` }, queryStringParameters: { token: queryToken } }));

    // Assess
    expect(result.context).toMatchObject({ tenantId: 'from-header' });
  });

  it.each([
    ['no token at all', {}],
    ['bearer offered without a token', { headers: { 'Sec-WebSocket-Protocol': 'bearer' } }],
    ['a token offered without bearer', { headers: { 'Sec-WebSocket-Protocol': 'chat.v1, eyJhbGciOiJIUzI1NiJ9.e30.sig' } }],
    ['an empty ?token=', { queryStringParameters: { token: '' } }],
    ['a bad token in ?token=', { queryStringParameters: { token: 'a.b.c' } }],
    ['a bad token in the subprotocol', { headers: { 'Sec-WebSocket-Protocol': 'bearer, a.b.c' } }],
  ] satisfies [string, Partial<ConnectionAuthorizerEvent>][])('refuses %s with Unauthorized', async (_, parts) => {
    // Act, Assess
    await expect(authorize(connectEvent(parts))).rejects.toThrow(/^Unauthorized$/);
  });
});

describe('WebSocket subprotocol helpers', () => {
  it('picks the token after bearer, whatever the header name case', () => {
    // Act
    const token = bearerTokenFromSubprotocols({ 'SEC-WEBSOCKET-PROTOCOL': ' bearer ,  the.jwt.here ' });

    // Assess
    expect(token).toBe('the.jwt.here');
  });

  it('echoes bearer only when the client offered it', () => {
    // Act
    const offered = subprotocolResponseHeaders({ 'Sec-WebSocket-Protocol': 'bearer, the.jwt.here' });
    const notOffered = subprotocolResponseHeaders({ 'Sec-WebSocket-Protocol': 'chat.v1' });
    const none = subprotocolResponseHeaders(undefined);

    // Assess
    expect(offered).toEqual({ 'Sec-WebSocket-Protocol': 'bearer' });
    expect(notOffered).toEqual({});
    expect(none).toEqual({});
  });
});

describe('deployed handlers, configured from the environment', () => {
  const envClaims = { ...DEFAULT_CLAIM_NAMES, tenant: 'custom:tenant' };

  it('reads the secret from Secrets Manager and the claim names from the environment', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand, { SecretId: env.JWT_SECRET_ARN }).resolves({ SecretString: SECRET });
    const token = await mint({ claims: envClaims });

    // Act
    const rest = await requestHandler({ type: 'TOKEN', methodArn: METHOD_ARN, authorizationToken: `Bearer ${token}` }, context);
    const ws = await connectionHandler(connectEvent({ headers: { 'Sec-WebSocket-Protocol': `bearer, ${token}` } }), context);

    // Assess
    expect(rest.context).toEqual({ userId: 'alice', tenantId: 'acme', scopes: 'chat:write jobs:admin' });
    expect(ws.context).toEqual({ userId: 'alice', tenantId: 'acme', scopes: 'chat:write jobs:admin' });
  });

  it('refuses through the middy chain with Unauthorized', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
    const token = await mint({ claims: envClaims, secret: 'y'.repeat(40) });

    // Act, Assess
    await expect(requestHandler({ type: 'TOKEN', methodArn: METHOD_ARN, authorizationToken: `Bearer ${token}` }, context)).rejects.toThrow(/^Unauthorized$/);
  });

  it('keeps the secret for five minutes, then fetches it again so rotation is picked up', async () => {
    // Prepare: a clock past anything earlier tests cached
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now() + 24 * 3600 * 1000;
    vi.setSystemTime(start);
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
    const call = async () => requestHandler({ type: 'TOKEN', methodArn: METHOD_ARN, authorizationToken: `Bearer ${await mint({ claims: envClaims })}` }, context);

    // Act
    await call();
    vi.setSystemTime(start + 60_000);
    await call();
    const callsWithinFiveMinutes = secretsManager.commandCalls(GetSecretValueCommand).length;
    vi.setSystemTime(start + 301_000);
    await call();

    // Assess
    expect(callsWithinFiveMinutes).toBe(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('fails with a server error when Secrets Manager is unavailable', async () => {
    // Prepare: past the cache of earlier tests
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 48 * 3600 * 1000);
    secretsManager.on(GetSecretValueCommand).rejects(new Error('ThrottlingException'));
    const token = await mint({ claims: envClaims });

    // Act
    const error = await requestHandler({ type: 'TOKEN', methodArn: METHOD_ARN, authorizationToken: `Bearer ${token}` }, context).catch((e: Error) => e);

    // Assess
    expect(error).toBeInstanceOf(ServiceUnavailableError);
  });
});

describe('verifierFromEnv', () => {
  it('names the missing secret ARN in secret mode', () => {
    // Act, Assess
    expect(() => verifierFromEnv({ AUTH_MODE: 'secret', JWT_ISSUER: 'https://i', JWT_AUDIENCE: 'a' })).toThrow(/JWT_SECRET_ARN is not set/);
  });

  it('names the missing JWKS URL in jwks mode', () => {
    // Act, Assess
    expect(() => verifierFromEnv({ AUTH_MODE: 'jwks', JWT_ISSUER: 'https://i', JWT_AUDIENCE: 'a' })).toThrow(/JWKS_URL is not set/);
  });

  it('refuses a JWKS URL over plain HTTP to a remote host', () => {
    // Act, Assess
    expect(() => verifierFromEnv({ AUTH_MODE: 'jwks', JWT_ISSUER: 'https://i', JWT_AUDIENCE: 'a', JWKS_URL: 'http://idp.example/jwks.json' })).toThrow(ConfigurationError);
  });

  it('accepts an HTTP JWKS URL on loopback, for the local cloud', () => {
    // Act
    const build = () => verifierFromEnv({ AUTH_MODE: 'jwks', JWT_ISSUER: 'https://i', JWT_AUDIENCE: 'a', JWKS_URL: 'http://127.0.0.1:4010/jwks.json' });

    // Assess
    expect(build).not.toThrow();
  });

  it('refuses an unknown mode and names every missing variable', () => {
    // Act, Assess
    expect(() => verifierFromEnv({ AUTH_MODE: 'none' })).toThrow(/AUTH_MODE: .*JWT_ISSUER is not set; JWT_AUDIENCE is not set/);
  });
});
