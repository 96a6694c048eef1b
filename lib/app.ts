import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadStageConfig } from './config';
import { DataStack } from './data-stack';
import { ServiceStack } from './service-stack';

export interface SwitchyardApp {
  readonly app: App;
  readonly data: DataStack;
  readonly service: ServiceStack;
}

/**
 * Builds the whole app for the stage named in the context (`-c stage=prod`; cdk.json's
 * `stage` by default), with cdk-nag's AWS Solutions checks as a synth-time validation:
 * an unacknowledged finding fails `cdk synth`. The local cloud leaves the checks out
 * (`nag: false`) to start faster; `cdk synth` and `npm test` always run them.
 */
export function buildApp(app: App = new App(), options: { readonly nag?: boolean } = {}): SwitchyardApp {
  const stage = String(app.node.tryGetContext('stage') ?? 'dev');
  const config = loadStageConfig(app.node.tryGetContext('stages'), stage);
  const env = { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] };

  const data = new DataStack(app, `switchyard-${stage}-data`, { stage, config, env, description: `Switchyard ${stage}: stateful resources` });
  const service = new ServiceStack(app, `switchyard-${stage}-service`, {
    stage,
    config,
    env,
    data,
    version: appVersion(),
    description: `Switchyard ${stage}: APIs, functions, events and alarms`,
  });
  Tags.of(app).add('app', 'switchyard');
  Tags.of(app).add('stage', stage);
  if (options.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, data, service };
}

/** package.json's version, plus the commit when synthesized from a git checkout. */
function appVersion(): string {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return commit ? `${version}+${commit}` : version;
  } catch {
    return version;
  }
}
