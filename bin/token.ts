import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { mintDevelopmentToken } from '#shared/auth/jwt';
import { loadStageConfig } from '../lib/config';

/**
 * Mints a development token for a `secret`-mode stage and prints only the token, so that
 * `TOKEN=$(npm run -s token -- --user alice --tenant acme)` works; everything else goes to stderr.
 */

const USAGE = `Usage: npm run -s token -- --user <id> --tenant <id> [options]

Mints an HS256 development token for a stage whose auth mode is "secret" and prints it.

Options:
  --user <id>         user id (required)
  --tenant <id>       tenant id (required)
  --scope <scope>     a scope to grant; repeat for more
  --ttl <seconds>     lifetime in seconds (default 3600)
  --stage <name>      stage in cdk.json context.stages (default: context.stage)
  --secret <value>    the signing secret (else SWITCHYARD_JWT_SECRET)
  --secret-id <id>    Secrets Manager secret holding it (else SWITCHYARD_JWT_SECRET_ID);
                      the deployed stack outputs its ARN; AWS_ENDPOINT_URL* is honoured
  -h, --help          show this help

Example:
  TOKEN=$(npm run -s token -- --user alice --tenant acme --scope chat:write --scope jobs:admin)
`;

/** The command line is wrong or cannot be served as given: exit 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

const CdkJsonSchema = z.object({
  context: z.object({ stage: z.string().optional(), stages: z.unknown() }),
});

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseCommandLine(argv);
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!values.user) throw new UsageError('--user is required');
  if (!values.tenant) throw new UsageError('--tenant is required');
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) throw new UsageError(`--ttl must be a positive whole number of seconds, not "${values.ttl}"`);

  const cdkJson = CdkJsonSchema.parse(JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')));
  const stage = values.stage ?? cdkJson.context.stage;
  if (!stage) throw new UsageError('--stage is required: cdk.json sets no context.stage');
  let auth;
  try {
    ({ auth } = loadStageConfig(cdkJson.context.stages, stage));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (auth.mode !== 'secret') {
    throw new UsageError(
      `stage "${stage}" verifies tokens against its identity provider's JWKS (auth mode "${auth.mode}"): get a token from that provider; this command only mints tokens for "secret" stages`,
    );
  }

  const secret = await signingSecret(values.secret, values['secret-id'], env);
  let token: string;
  try {
    token = await mintDevelopmentToken({
      secret,
      issuer: auth.issuer,
      audience: auth.audience,
      claims: auth.claims,
      userId: values.user,
      tenantId: values.tenant,
      scopes: values.scope ?? [],
      expiresInSeconds: ttl,
    });
  } catch (error) {
    if (error instanceof z.ZodError) throw new UsageError(error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  process.stdout.write(`${token}\n`);
  process.stderr.write(`Token for ${values.user} in ${values.tenant} on stage ${stage}, valid ${ttl} s.\n`);
}

function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        user: { type: 'string' },
        tenant: { type: 'string' },
        scope: { type: 'string', multiple: true },
        ttl: { type: 'string' },
        stage: { type: 'string' },
        secret: { type: 'string' },
        'secret-id': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The secret from the flag, else the environment, else Secrets Manager. */
async function signingSecret(flag: string | undefined, secretIdFlag: string | undefined, env: NodeJS.ProcessEnv): Promise<string | Uint8Array> {
  const given = flag ?? env.SWITCHYARD_JWT_SECRET;
  if (given) return given;
  const secretId = secretIdFlag ?? env.SWITCHYARD_JWT_SECRET_ID;
  if (!secretId) {
    throw new UsageError(
      [
        'No signing secret. Give it one of three ways:',
        '  --secret <value>         the secret itself',
        '  SWITCHYARD_JWT_SECRET    environment variable holding the secret',
        '  --secret-id <arn>        a Secrets Manager secret (or SWITCHYARD_JWT_SECRET_ID); the deployed stack outputs its ARN',
      ].join('\n'),
    );
  }
  const client = new SecretsManagerClient({});
  try {
    const { SecretString, SecretBinary } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    const value = SecretString ?? SecretBinary;
    if (!value) throw new Error(`secret ${secretId} has no value`);
    return value;
  } finally {
    client.destroy();
  }
}

main(process.argv.slice(2), process.env).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\nRun with --help for usage.\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
