import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('the pinned aws-cdk CLI', () => {
  it('synthesizes the production stage from cdk.json, as `npx cdk synth -c stage=prod` does', async () => {
    // Prepare
    const out = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));

    // Act: the CLI must read the cloud assembly aws-cdk-lib writes (a CLI of another major cannot).
    await run('node_modules/.bin/cdk', ['synth', '-q', '-c', 'stage=prod', '--output', out], {
      env: { ...process.env, CI: 'true' },
      maxBuffer: 64 * 1024 * 1024,
    });

    // Assess
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string }> };
    const stacks = Object.entries(manifest.artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack').map(([id]) => id);
    expect(stacks.sort()).toEqual(['switchyard-prod-data', 'switchyard-prod-service']);
  }, 180_000);
});
