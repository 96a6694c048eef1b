import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type SwitchyardApp } from '../../lib/app';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };

export interface SynthesizedStage extends SwitchyardApp {
  readonly dataTemplate: Template;
  readonly serviceTemplate: Template;
}

/**
 * Builds the app as `cdk synth -c stage=<stage>` would, from cdk.json's context. Bundling is
 * skipped: these tests read templates, and `cdk synth` in CI proves the bundles build.
 * `app.synth()` runs the cdk-nag validation and throws on any unacknowledged finding.
 */
export function buildStage(stage: string, extraContext: Record<string, unknown> = {}): SwitchyardApp {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), `switchyard-${stage}-`)),
    context: { ...cdkJson.context, stage, 'aws:cdk:bundling-stacks': [], ...extraContext },
  });
  return buildApp(app);
}

/** Builds and synthesizes a stage, returning both stacks' templates. */
export function synthStage(stage: string): SynthesizedStage {
  const built = buildStage(stage);
  built.app.synth();
  return {
    ...built,
    dataTemplate: Template.fromStack(built.data),
    serviceTemplate: Template.fromStack(built.service),
  };
}

export const stageConfigs = cdkJson.context['stages'] as Record<
  string,
  {
    logRetentionDays: number;
    api: {
      throttle: { rateLimit: number; burstLimit: number };
      usagePlans: Record<string, { throttle?: { rateLimit: number; burstLimit: number }; quota?: { limit: number; period: string }; apiKeys: string[] }>;
    };
    rateLimits: { defaults: string[]; webSocketDefaults: string[]; policies: Record<string, unknown> };
    jobs: { maxTimeoutSeconds: number; batchSize: number; laneConcurrency: Record<'high' | 'normal' | 'low', number>; testTypes: boolean };
  }
>;
