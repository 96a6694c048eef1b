/**
 * `npm run invoke -- <function> --event <file|-> [--env K=V]`: runs one function of the
 * synthesized app, named by construct path, logical id or name, with the environment the
 * local cloud gives it (pointing at the running `npm start`, if any), and prints its result,
 * its logs, its duration and its init duration, the way `sam local invoke` does.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { functionBaseEnvironment } from '../cloud';
import { formatLogLine, parseLogLine } from '../logs';
import { LambdaRuntime } from '../runtime/lambda';
import { loadModel, runningCloud } from './assembly';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    event: { type: 'string', short: 'e' },
    env: { type: 'string', multiple: true },
    synth: { type: 'boolean', default: false },
    assembly: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const target = positionals[0];
if (values.help || !target) {
  process.stderr.write(`Usage: npm run -s invoke -- <function> --event <file|-> [--env NAME=VALUE ...] [--synth]

  <function>   construct path (switchyard-dev-service/GetHealth), logical id or function name
  --event      a JSON file, or - for standard input (default: {})
  --env        override or add a variable; repeatable
  --synth      synthesize .local/cdk.out first (it is synthesized anyway when missing)

Example:
  npm run -s event -- apigw --path /health | npm run -s invoke -- switchyard-dev-service/GetHealth --event -
`);
  process.exit(values.help ? 0 : 2);
}

const eventText = !values.event ? '{}' : values.event === '-' ? readFileSync(0, 'utf8') : readFileSync(values.event, 'utf8');
let event: unknown;
try {
  event = JSON.parse(eventText || '{}');
} catch (error) {
  process.stderr.write(`the event is not JSON: ${(error as Error).message}\n`);
  process.exit(2);
}

const model = loadModel({ synth: values.synth, ...(values.assembly ? { assemblyDir: values.assembly } : {}) });
const overrides = Object.fromEntries((values.env ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
const functions = model.functions.map((fn) => ({ ...fn, environment: { ...fn.environment, ...overrides } }));
const awsUrl = runningCloud()?.aws ?? 'http://127.0.0.1:4566';
const color = process.stderr.isTTY;
const runtime = new LambdaRuntime(functions, {
  env: model.env,
  baseEnvironment: functionBaseEnvironment(awsUrl),
  onLog: (entry) => {
    const line = parseLogLine(entry);
    if (line) process.stderr.write(`${formatLogLine(line, { color, verbose: true, nameWidth: 0 })}\n`);
  },
});

const fn = runtime.find(target);
if (!fn) {
  process.stderr.write(`no function ${target}; functions:\n${model.functions.map((f) => `  ${f.constructPath.replace(/\/Resource$/, '')}  (${f.logicalId})`).join('\n')}\n`);
  process.exit(2);
}
if (!runningCloud()) process.stderr.write(`note: no local cloud is running (npm start); AWS calls go to ${awsUrl} and may fail\n`);

const outcome = await runtime.invoke(fn.functionName, event);
// Let the last log lines of the worker arrive before closing it.
await new Promise((resolve) => setTimeout(resolve, 50));
await runtime.close();
process.stdout.write(`${JSON.stringify(outcome.error ?? outcome.result, null, 2)}\n`);
process.stderr.write(
  `REPORT RequestId: ${outcome.requestId}  Duration: ${outcome.durationMs.toFixed(2)} ms${outcome.initDurationMs !== undefined ? `  Init Duration: ${outcome.initDurationMs.toFixed(2)} ms` : ''}  Memory Size: ${fn.memoryMb} MB\n`,
);
process.exit(outcome.error ? 1 : 0);
