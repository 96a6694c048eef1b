/**
 * `npm start`: synthesizes Switchyard and runs it on this machine with the local cloud,
 * Docker-free. Prints the endpoints and a development token, streams function logs, keeps
 * state under `.local/` between runs (`--fresh` starts empty), and stops everything on Ctrl-C.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mintDevelopmentToken } from '#shared/auth/jwt';
import { allRoutes } from '#shared/contracts/index';
import { loadStageConfig } from '../lib/config';
import { LocalCloud } from './cloud';
import { atLeast, formatLogLine, parseLogLine, shortName } from './logs';

const ROOT = resolve(import.meta.dirname, '..');

const { values: args } = parseArgs({
  options: {
    stage: { type: 'string', default: 'dev' },
    fresh: { type: 'boolean', default: false },
    'no-synth': { type: 'boolean', default: false },
    synth: { type: 'boolean', default: false },
    'no-watch': { type: 'boolean', default: false },
    'aws-port': { type: 'string', default: '4566' },
    'api-port': { type: 'string', default: '3000' },
    level: { type: 'string', default: 'DEBUG' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  process.stdout.write(`Usage: npm start -- [options]

Runs the whole Switchyard stack on this machine (DynamoDB Local needs Java 17+).

Options:
  --stage <name>     stage from cdk.json (default dev; its auth mode must be "secret")
  --fresh            start with empty tables, new secrets and new API key values
  --synth            synthesize even when no source changed since the last run
  --no-synth         serve the existing .local/cdk.out without synthesizing
  --no-watch         do not resynthesize and reload when code changes
  --aws-port <n>     the AWS endpoint's port (default 4566)
  --api-port <n>     first API port (default 3000; one port per API)
  --level <level>    least log level shown: DEBUG, INFO, WARN, ERROR (default DEBUG)
  --verbose          show every structured log field
`);
  process.exit(0);
}

const stage = args.stage;
// Lambda runs Node.js 24; the SDK's warning about an older host says nothing new here.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
const assemblyDir = join(ROOT, '.local', 'cdk.out');
const stateDir = join(ROOT, '.local', 'state', stage);
const started = performance.now();

function say(message: string): void {
  process.stderr.write(`${message}\n`);
}

/**
 * Whether `.local/cdk.out` is older than any source it was made from, or of another stage.
 * An unchanged app starts without a synthesis, in a few seconds.
 */
function synthesisIsStale(): boolean {
  const manifest = join(assemblyDir, 'manifest.json');
  if (!existsSync(manifest) || !existsSync(join(assemblyDir, `switchyard-${stage}-service.template.json`))) return true;
  const builtAt = statSync(manifest).mtimeMs;
  const newer = (path: string): boolean => {
    const stat = statSync(path);
    if (stat.isDirectory()) return readdirSync(path).some((entry) => newer(join(path, entry)));
    return stat.mtimeMs > builtAt;
  };
  return ['bin', 'lib', 'functions', 'shared', 'cdk.json', 'package-lock.json'].some((entry) => existsSync(join(ROOT, entry)) && newer(join(ROOT, entry)));
}

/** Synthesizes the stage into `.local/cdk.out` (`local/synth.ts`); its output only when it fails. */
function synthesize(): boolean {
  const synth = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'local', 'synth.ts'), stage, assemblyDir], { cwd: ROOT, encoding: 'utf8' });
  if (synth.status !== 0) process.stderr.write(`${synth.stdout}${synth.stderr}`);
  return synth.status === 0;
}

if (!args['no-synth'] && (args.synth || synthesisIsStale())) {
  say(`Synthesizing stage ${stage}...`);
  if (!synthesize()) {
    say('Synthesis failed; nothing was started.');
    process.exit(1);
  }
}
if (args.fresh) rmSync(stateDir, { recursive: true, force: true });
mkdirSync(stateDir, { recursive: true });

const color = process.stdout.isTTY;
let nameWidth = 12;
const cloud = await LocalCloud.start({
  assemblyDir,
  stateDir,
  ports: { aws: Number(args['aws-port']), rest: Number(args['api-port']) },
  onWarning: (message) => say(`warning: ${message}`),
  onLog: (entry) => {
    const line = parseLogLine(entry);
    if (!line || !atLeast(line.level, args.level.toUpperCase())) return;
    process.stdout.write(`${formatLogLine(line, { color, verbose: args.verbose, nameWidth })}\n`);
  },
}).catch((error: Error) => {
  say(`The local cloud could not start: ${error.message}`);
  process.exit(1);
});
nameWidth = Math.max(...cloud.model.functions.map((f) => shortName(f.functionName).length));

const token = await developmentToken(cloud);
const rest = cloud.restApis[0]?.url;
const endpoints = {
  stage,
  rest: cloud.restApis.map((a) => a.url),
  webSocket: cloud.webSocketApis.map((a) => a.url),
  aws: cloud.aws.url,
  apiOrigins: cloud.apiOrigins,
  token,
  // What a client sends as `x-api-key` to methods that require a key.
  apiKeys: cloud.apiKeys.map(({ name, id, value, enabled }) => ({ name, id, value, enabled })),
  outputs: cloud.model.outputs,
};
writeFileSync(join(ROOT, '.local', 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`);

const rows: [string, string][] = [
  ...cloud.restApis.map((a): [string, string] => ['REST API', a.url]),
  ...cloud.webSocketApis.map((a): [string, string] => ['WebSocket API', a.url]),
  ['AWS endpoint', `${cloud.aws.url}   (AWS_ENDPOINT_URL for the SDK and CLI; any credentials)`],
  ['Local controls', `${cloud.aws.url}/_local/calls, /faults, /metrics   (see local/README.md)`],
  ['State', `${stateDir}   (--fresh starts empty)`],
];
const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);
process.stdout.write(
  [
    '',
    bold(`Switchyard local cloud, stage ${stage}: ready in ${((performance.now() - started) / 1000).toFixed(1)} s`),
    '',
    ...rows.map(([name, value]) => `  ${name.padEnd(15)} ${value}`),
    '',
    token ? `  Token (user dev-user, tenant local, every scope, 12 h):\n  ${token}` : '  No development token: this stage does not verify with a shared secret.',
    '',
    ...(cloud.apiKeys.length
      ? [
          '  API keys (send as x-api-key; also in .local/endpoints.json):',
          ...cloud.apiKeys.map((key) => `  ${key.name.padEnd(15)} ${key.value}${key.enabled ? '' : '   (disabled)'}`),
          '',
        ]
      : []),
    ...(rest ? [`  Try:  curl ${rest}health`, token ? `        curl -H "Authorization: Bearer $(jq -r .token .local/endpoints.json)" ${rest}v1/me` : ''] : []),
    '',
    'Function logs follow. Ctrl-C stops everything.',
    '',
  ].join('\n'),
);

if (!args['no-watch']) watchSources();

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    say('\nStopping...');
    void cloud.stop().then(() => process.exit(0));
  });
}

/**
 * A token the stage's authorizers accept, signed with the stage's generated secret: this
 * much of the local cloud does know Switchyard, so it lives here and not in `LocalCloud`.
 */
async function developmentToken(local: LocalCloud): Promise<string | undefined> {
  const stages = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context.stages as unknown;
  const config = loadStageConfig(stages, stage);
  if (config.auth.mode !== 'secret') return undefined;
  const secretArn = Object.values(local.model.outputs).find((outputs) => outputs['JwtSecretArn'])?.['JwtSecretArn'];
  const secret = secretArn ? local.secrets.value(secretArn) : undefined;
  if (!secret) return undefined;
  const scopes = [...new Set(allRoutes.flatMap((route) => ('scopes' in route.auth ? route.auth.scopes : [])))];
  return mintDevelopmentToken({
    secret,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    claims: config.auth.claims,
    userId: 'dev-user',
    tenantId: 'local',
    scopes,
    expiresInSeconds: 12 * 3600,
  });
}

/**
 * Resynthesizes when code under `functions/`, `shared/` or `lib/` changes, then reloads only the
 * functions whose bundle or environment changed; state and warm functions are kept. A burst of
 * saves makes one synthesis.
 */
function watchSources(): void {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  const rebuild = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    say('Change seen: synthesizing...');
    const startedAt = performance.now();
    if (synthesize()) {
      const { reloaded, needsRestart } = await cloud.reload();
      const names = reloaded.map(shortName).join(', ') || 'none';
      say(`Reloaded in ${((performance.now() - startedAt) / 1000).toFixed(1)} s: ${names}${needsRestart.length ? ` (restart to apply: ${needsRestart.join('; ')})` : ''}`);
    } else {
      say('Synthesis failed; still serving the previous build.');
    }
    running = false;
    if (again) {
      again = false;
      void rebuild();
    }
  };
  for (const dir of ['functions', 'shared', 'lib']) {
    watch(join(ROOT, dir), { recursive: true }, (_event, file) => {
      if (!file || !/\.(ts|mjs|js|json)$/.test(file)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void rebuild(), 300);
    });
  }
}
