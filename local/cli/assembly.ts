import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readAssembly } from '../assembly/read';
import { DEFAULT_ENVIRONMENT, type CloudModel } from '../model';

/** The project root, where `.local/` lives. */
export const ROOT = resolve(import.meta.dirname, '..', '..');
export const ASSEMBLY_DIR = join(ROOT, '.local', 'cdk.out');
const ENDPOINTS_FILE = join(ROOT, '.local', 'endpoints.json');

interface RunningCloud {
  readonly rest: string[];
  readonly webSocket: string[];
  readonly aws: string;
  /** `host:port` of each API's gateway, by API id. */
  readonly apiOrigins: Record<string, string>;
}

/** What `npm start` wrote about the running local cloud, if it is running. */
export function runningCloud(): RunningCloud | undefined {
  return existsSync(ENDPOINTS_FILE) ? (JSON.parse(readFileSync(ENDPOINTS_FILE, 'utf8')) as RunningCloud) : undefined;
}

/**
 * The model of `.local/cdk.out`, synthesizing it first when it is missing (or when asked), with
 * URLs pointing at the running local cloud when there is one.
 */
export function loadModel(options: { synth?: boolean; stage?: string; assemblyDir?: string } = {}): CloudModel {
  const dir = options.assemblyDir ?? ASSEMBLY_DIR;
  if (!options.assemblyDir && (options.synth || !existsSync(join(dir, 'manifest.json')))) {
    const synth = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'local', 'synth.ts'), options.stage ?? 'dev', dir], { cwd: ROOT, encoding: 'utf8' });
    if (synth.status !== 0) throw new Error(`synthesis failed:\n${synth.stdout}${synth.stderr}`);
  }
  const running = runningCloud();
  return readAssembly(dir, {
    env: DEFAULT_ENVIRONMENT,
    endpoints: {
      sqs: running?.aws ?? 'http://127.0.0.1:4566',
      api: (apiId, protocol) => {
        const origin = running?.apiOrigins?.[apiId];
        return origin ? `${protocol === 'wss' ? 'ws' : 'http'}://${origin}` : undefined;
      },
    },
  });
}
