// One Lambda execution environment: a worker thread that loads one function's bundle once
// and runs one invocation at a time, as Lambda does. Plain JavaScript so that a worker needs
// no TypeScript loader. The parent (`lambda.ts`) owns timeouts: it terminates a worker that
// overruns, which is what Lambda does to a timed-out sandbox.
import { performance } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const { codeDir, handler } = workerData;
const separator = handler.lastIndexOf('.');
const moduleName = handler.slice(0, separator);
const exportName = handler.slice(separator + 1);

/** @type {((event: unknown, context: unknown, callback?: Function) => unknown) | undefined} */
let handlerFunction;

async function load() {
  const candidates = ['.mjs', '.js', '.cjs'].map((ext) => join(codeDir, `${moduleName}${ext}`));
  const file = candidates.find((candidate) => existsSync(candidate));
  if (!file) throw Object.assign(new Error(`Cannot find module '${moduleName}' in ${codeDir}`), { name: 'Runtime.ImportModuleError' });
  const module = await import(pathToFileURL(file).href);
  const found = module[exportName] ?? module.default?.[exportName];
  if (typeof found !== 'function') {
    throw Object.assign(new Error(`${moduleName}.${exportName} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return found;
}

function errorOf(error) {
  if (error instanceof Error) {
    return { errorType: error.name || 'Error', errorMessage: error.message, trace: String(error.stack ?? '').split('\n') };
  }
  return { errorType: 'Error', errorMessage: typeof error === 'string' ? error : JSON.stringify(error) };
}

/** Runs a handler in either style: async, or with a callback (Lambda supports both). */
function run(fn, event, context) {
  if (fn.length < 3) return Promise.resolve(fn(event, context));
  return new Promise((resolve, reject) => {
    const callback = (error, result) => (error ? reject(error) : resolve(result));
    const returned = fn(event, context, callback);
    if (returned && typeof returned.then === 'function') returned.then(resolve, reject);
  });
}

parentPort.on('message', async (message) => {
  const { id, event, context: data, deadline } = message;
  process.env._X_AMZN_TRACE_ID = data.traceId;
  let initDurationMs;
  try {
    if (!handlerFunction) {
      const started = performance.now();
      handlerFunction = await load();
      initDurationMs = performance.now() - started;
    }
    const context = {
      ...data,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    const result = await run(handlerFunction, event, context);
    // Lambda serializes the result; so do we, which also drops what JSON cannot carry.
    const serialized = result === undefined ? undefined : JSON.stringify(result);
    parentPort.postMessage({ id, result: serialized === undefined ? null : JSON.parse(serialized), initDurationMs });
  } catch (error) {
    parentPort.postMessage({ id, error: errorOf(error), initDurationMs });
  }
});
