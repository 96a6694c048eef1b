import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
  const cdkContext = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
  const stage = process.env['E2E_STAGE'] ?? 'dev';
  const config = loadStageConfig(cdkContext['stages'], stage);
  if (config.auth.mode !== 'secret') throw new Error(`the e2e suite mints its own tokens: stage ${stage} must use auth mode "secret"`);
  const claims = config.auth.claims;

  if (target !== 'local') {
    const need = (name: string) => {
      const value = process.env[name];
      if (!value) throw new Error(`E2E_TARGET=${target} needs ${name}`);
      return value;
    };
    project.provide('e2eTarget', {
      name: target as ProvidedTarget['name'],
      restUrl: need('E2E_REST_URL').replace(/\/?$/, '/'),
      webSocketUrl: need('E2E_WS_URL'),
      ...(process.env['E2E_AWS_ENDPOINT'] ? { awsEndpoint: process.env['E2E_AWS_ENDPOINT'] } : {}),
      signing: { secret: need('E2E_JWT_SECRET'), issuer: config.auth.issuer, audience: config.auth.audience, claims },
    });
    return async () => undefined;
  }

  const outdir = mkdtempSync(join(tmpdir(), 'switchyard-e2e-'));
  const { app } = buildApp(new App({ outdir, context: { ...cdkContext, stage, 'aws:cdk:enable-path-metadata': true } }));
  app.synth();
  const cloud = await LocalCloud.start({
    assemblyDir: outdir,
    // Short limits so the suite can watch them act.
    webSocket: { idleTimeoutMs: 3_000, maxLifetimeMs: 10_000 },
    onLog: process.env['E2E_LOGS'] ? (line) => process.stdout.write(`[${line.functionName}] ${line.line}\n`) : undefined,
  });
  const secretArn = Object.values(cloud.model.outputs).find((o) => o['JwtSecretArn'])?.['JwtSecretArn'];
  const secret = secretArn ? cloud.secrets.value(secretArn) : undefined;
  if (!secret) throw new Error('the dev stage has no JwtSecretArn output with a local value');
  project.provide('e2eTarget', {
    name: 'local',
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
