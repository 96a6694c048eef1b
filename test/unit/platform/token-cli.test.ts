import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSX = `${ROOT}node_modules/.bin/tsx`;
const SECRET = 's3cr3t-for-the-cli-test-0123456789abcdef';
const dev = JSON.parse(readFileSync(`${ROOT}cdk.json`, 'utf8')).context.stages.dev.auth as { issuer: string; audience: string };

/** Only what the CLI may rely on: no inherited SWITCHYARD_* or AWS_* from the developer's shell. */
const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_NO_WARNINGS: '1' };

async function run(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, ['bin/token.ts', ...args], { cwd: ROOT, env: { ...baseEnv, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

// Each case starts its own process; running them side by side keeps the file quick.
describe.concurrent('npm run token', () => {
  it('prints only a token that the dev stage accepts', async () => {
    // Act
    const { code, stdout } = await run(['--user', 'alice', '--tenant', 'acme', '--scope', 'chat:write', '--scope', 'jobs:admin', '--ttl', '600', '--secret', SECRET]);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { payload } = await jwtVerify(stdout.trim(), new TextEncoder().encode(SECRET), { issuer: dev.issuer, audience: dev.audience, algorithms: ['HS256'] });
    expect(payload).toMatchObject({ sub: 'alice', tenant: 'acme', scope: 'chat:write jobs:admin' });
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('takes the secret from SWITCHYARD_JWT_SECRET', async () => {
    // Act
    const { code, stdout } = await run(['--user', 'bob', '--tenant', 'globex'], { SWITCHYARD_JWT_SECRET: SECRET });

    // Assess
    expect(code).toBe(0);
    await expect(jwtVerify(stdout.trim(), new TextEncoder().encode(SECRET))).resolves.toMatchObject({ payload: { sub: 'bob', tenant: 'globex' } });
  });

  describe('with the secret in Secrets Manager', () => {
    let server: Server;
    let endpoint: string;
    const requested: unknown[] = [];

    beforeAll(async () => {
      // Just enough of the Secrets Manager JSON protocol for GetSecretValue.
      server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          requested.push({ target: request.headers['x-amz-target'], body: JSON.parse(body) });
          response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ SecretString: SECRET }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('fetches it by --secret-id through the endpoint in AWS_ENDPOINT_URL', async () => {
      // Prepare
      const secretId = 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:switchyard-jwt';

      // Act
      const { code, stdout } = await run(['--user', 'carol', '--tenant', 'initech', '--secret-id', secretId], {
        AWS_ENDPOINT_URL: endpoint,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      });

      // Assess
      expect(code).toBe(0);
      expect(requested).toEqual([{ target: 'secretsmanager.GetSecretValue', body: { SecretId: secretId } }]);
      await expect(jwtVerify(stdout.trim(), new TextEncoder().encode(SECRET))).resolves.toMatchObject({ payload: { sub: 'carol' } });
    });
  });

  it('exits 2 and lists the three ways to give a secret when there is none', async () => {
    // Act
    const { code, stdout, stderr } = await run(['--user', 'alice', '--tenant', 'acme']);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('--secret <value>');
    expect(stderr).toContain('SWITCHYARD_JWT_SECRET ');
    expect(stderr).toContain('--secret-id');
  });

  it('refuses a stage whose tokens come from an identity provider', async () => {
    // Act
    const { code, stdout, stderr } = await run(['--user', 'alice', '--tenant', 'acme', '--stage', 'prod', '--secret', SECRET]);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/stage "prod" verifies tokens against its identity provider/);
  });

  it('exits 2 without --tenant', async () => {
    // Act
    const { code, stderr } = await run(['--user', 'alice', '--secret', SECRET]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('--tenant is required');
  });
});
