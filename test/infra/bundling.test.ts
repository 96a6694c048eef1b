import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { resourcesOf } from './invariants';
import { buildStage } from './synth';

describe('bundling', () => {
  it('bundles every handler as a minified ES module with a source map and the AWS SDK inside', () => {
    // Prepare: bundling on, as `cdk synth` does it.
    const built = buildStage('dev', { 'aws:cdk:bundling-stacks': ['**'] });

    // Act
    const assembly = built.app.synth();

    // Assess
    const functions = resourcesOf(Template.fromStack(built.service), 'AWS::Lambda::Function');
    expect(Object.keys(functions).length).toBeGreaterThan(0);
    for (const [id, fn] of Object.entries(functions)) {
      const key = (fn.Properties?.['Code'] as { S3Key: string }).S3Key;
      const dir = join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(readdirSync(dir), id).toContain('index.mjs.map');
      expect(code, id).toMatch(/^import \{ createRequire as __createRequire \} from 'node:module';/);
      expect(code, id).not.toMatch(/from\s*"@aws-sdk\//);
      expect(fn.Properties?.['Handler'], id).toBe('index.handler');
    }
  }, 120_000);
});
