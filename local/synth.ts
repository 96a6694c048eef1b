/**
 * Synthesizes the app for the local cloud, in one process: what `cdk synth -c stage=<stage>
 * --output <dir>` does, without the CDK CLI's own start-up. Run as a child process so that a
 * change under `lib/` is always read afresh.
 *
 *   tsx local/synth.ts <stage> <output dir>
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app';

const ROOT = resolve(import.meta.dirname, '..');
const [stage = 'dev', outdir = join(ROOT, '.local', 'cdk.out')] = process.argv.slice(2);
const context = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
// Path metadata is what the CLI adds by default; the local cloud names functions by construct path.
// cdk-nag is left out here to start faster; `cdk synth` and `npm test` run it on every change.
buildApp(new App({ outdir, context: { ...context, stage, 'aws:cdk:enable-path-metadata': true } }), { nag: false }).app.synth();
