import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { TestProject } from 'vitest/node';
import { buildApp } from '../../lib/app';
import { loadStageConfig } from '../../lib/config';
import { LocalCloud } from '../../local/cloud';
import type { ProvidedTarget } from './target';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Starts what the e2e suite runs against. `E2E_TARGET=local` (the default) synthesizes the dev
 * stage and starts the local cloud on free ports; `localstack` and `aws` read endpoints from
 * the environment (see the README's end-to-end section).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const target = process.env['E2E_TARGET'] ?? 'local';
  if (!['local', 'localstack', 'aws'].includes(target)) throw new Error(`E2E_TARGET must be local, localstack or aws, not ${target}`);
  const cdkContext = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
  const stage = process.env['E2E_STAGE'] ?? 'dev';
  const config = loadStageConfig(cdkContext['stages'], stage);
  if (config.auth.mode !== 'secret') throw new Error(`the e2e suite mints its own tokens: stage ${stage} must use auth mode "secret"`);
  const { claims } = config.auth;

  if (target !== 'local') {
    project.provide('e2eTarget', await deployedTarget(target as 'localstack' | 'aws', stage, config.auth, claims));
    return async () => undefined;
  }

  const outdir = mkdtempSync(join(tmpdir(), 'switchyard-e2e-'));
  // cdk-nag runs in the infra tests; here it would only slow the start.
  const { app } = buildApp(new App({ outdir, context: { ...cdkContext, stage, 'aws:cdk:enable-path-metadata': true } }), { nag: false });
  app.synth();
  const cloud = await LocalCloud.start({
    assemblyDir: outdir,
    onLog: process.env['E2E_LOGS'] ? (line) => process.stdout.write(`[${line.functionName}] ${line.line}\n`) : undefined,
  });
  const secretArn = Object.values(cloud.model.outputs).find((o) => o['JwtSecretArn'])?.['JwtSecretArn'];
  const secret = secretArn ? cloud.secrets.value(secretArn) : undefined;
  if (!secret) throw new Error('the dev stage has no JwtSecretArn output with a local value');
  const apiKey = cloud.apiKeys.find((key) => key.enabled)?.value;
  const outputs = cloud.model.outputs[`switchyard-${stage}-service`] ?? {};
  project.provide('e2eTarget', {
    name: 'local',
    outputs,
    ...(apiKey ? { apiKey } : {}),
    restUrl: cloud.restApis[0]!.url,
    webSocketUrl: cloud.webSocketApis[0]!.url,
    awsEndpoint: cloud.aws.url,
    signing: { secret, issuer: config.auth.issuer, audience: config.auth.audience, claims },
  });
  return async () => {
    await cloud.stop();
    rmSync(outdir, { recursive: true, force: true });
  };
}

/**
 * A deployed stack's endpoints, from the outputs file `cdk deploy --outputs-file` wrote
 * (`npm run localstack:deploy` writes `.local/localstack-outputs.json`), each overridable by
 * `E2E_REST_URL`, `E2E_WS_URL` and `E2E_JWT_SECRET`; the usage-plan API key comes from `E2E_API_KEY`. The signing secret is read from Secrets
 * Manager, so the suite mints tokens the deployed authorizers accept.
 */
async function deployedTarget(
  target: 'localstack' | 'aws',
  stage: string,
  auth: { issuer: string; audience: string },
  claims: ProvidedTarget['signing']['claims'],
): Promise<ProvidedTarget> {
  const file = process.env['E2E_OUTPUTS_FILE'] ?? join(ROOT, '.local', `${target}-outputs.json`);
  const outputs = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>) : {};
  const service = outputs[`switchyard-${stage}-service`] ?? {};
  const data = outputs[`switchyard-${stage}-data`] ?? {};
  const need = (value: string | undefined, what: string) => {
    if (!value) throw new Error(`E2E_TARGET=${target}: no ${what} (deploy with --outputs-file ${file}, or set it in the environment)`);
    return value;
  };
  const awsEndpoint = target === 'localstack' ? (process.env['E2E_AWS_ENDPOINT'] ?? 'http://localhost:4566') : process.env['E2E_AWS_ENDPOINT'];
  let secret = process.env['E2E_JWT_SECRET'];
  if (!secret) {
    const client = new SecretsManagerClient({ ...(awsEndpoint ? { endpoint: awsEndpoint } : {}) });
    const answer = await client.send(new GetSecretValueCommand({ SecretId: need(data['JwtSecretArn'], 'JwtSecretArn output') }));
    secret = need(answer.SecretString, 'signing secret value');
    client.destroy();
  }
  return {
    name: target,
    outputs: service,
    restUrl: need(process.env['E2E_REST_URL'] ?? service['RestApiUrl'], 'RestApiUrl output').replace(/\/?$/, '/'),
    webSocketUrl: need(process.env['E2E_WS_URL'] ?? service['WebSocketUrl'], 'WebSocketUrl output'),
    ...(awsEndpoint ? { awsEndpoint } : {}),
    // The key's value is not an output: `aws apigateway get-api-key --api-key <id from ApiKeyIds> --include-value`.
    ...(process.env['E2E_API_KEY'] ? { apiKey: process.env['E2E_API_KEY'] } : {}),
    signing: { secret, issuer: auth.issuer, audience: auth.audience, claims },
  };
}
