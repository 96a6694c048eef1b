import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createInterface } from 'node:readline';
import type { FunctionModel, InvocationOutcome, LambdaInvoker, LocalEnvironment } from '../model';
import { lambdaLogStreamName } from '../services/logs/awslogs';

/** One line a function wrote, as the terminal and the tests see it. */
export interface FunctionLogLine {
  readonly functionName: string;
  readonly logicalId: string;
  readonly stream: 'stdout' | 'stderr';
  readonly line: string;
  /** The log group the line goes to: the function's `LoggingConfig.LogGroup`, or `/aws/lambda/<name>`. */
  readonly logGroup?: string;
  /** The log stream of the execution environment that wrote it (`2026/11/23/[$LATEST]<hex>`). */
  readonly logStream?: string;
}

export interface LambdaRuntimeOptions {
  readonly env: LocalEnvironment;
  /**
   * Variables every function gets before its own: the SDK endpoint (`AWS_ENDPOINT_URL`),
   * dummy credentials, tracing switches.
   */
  readonly baseEnvironment: Readonly<Record<string, string>>;
  readonly onLog?: (line: FunctionLogLine) => void;
  /** Execution environments one function may run at once; more invocations wait. @default 10 */
  readonly maxConcurrency?: number;
}

interface Sandbox {
  readonly worker: Worker;
  /** One log stream per execution environment, as Lambda names them. */
  readonly logStream: string;
  busy: boolean;
  /** The request it is running, if any. */
  current?: string;
}

interface Pending {
  resolve(outcome: { result?: unknown; error?: InvocationOutcome['error']; initDurationMs?: number }): void;
}

const WORKER_ENTRY = fileURLToPath(new URL('./worker.mjs', import.meta.url));

/**
 * Runs the functions of a cloud model the way Lambda does: each in its own execution
 * environments (worker threads with their own `process.env` and module state), kept warm
 * between invocations, one invocation per environment at a time, cut off at the function's
 * timeout, with a real context object.
 */
export class LambdaRuntime implements LambdaInvoker {
  private readonly functions = new Map<string, FunctionModel>();
  private readonly sandboxes = new Map<string, Sandbox[]>();
  private readonly waiting = new Map<string, (() => void)[]>();
  private readonly pending = new Map<string, Pending>();
  private readonly maxConcurrency: number;
  private closed = false;

  constructor(
    functions: readonly FunctionModel[],
    private readonly options: LambdaRuntimeOptions,
  ) {
    this.maxConcurrency = options.maxConcurrency ?? 10;
    for (const fn of functions) this.functions.set(fn.functionName, fn);
  }

  /** Every function, as read from the assembly. */
  list(): FunctionModel[] {
    return [...this.functions.values()];
  }

  /** The function an ARN (qualifier and `/invocations` ignored), name or logical id names. */
  find(target: string): FunctionModel | undefined {
    const name = /:function:([^:/]+)/.exec(target)?.[1] ?? target;
    return this.functions.get(name) ?? [...this.functions.values()].find((f) => f.logicalId === target || f.constructPath === target || f.constructPath === `${target}/Resource`);
  }

  /**
   * @param options.requestId the request id to run under; Lambda keeps one for every attempt of an asynchronous event
   */
  async invoke(target: string, event: unknown, options: { readonly requestId?: string } = {}): Promise<InvocationOutcome> {
    const fn = this.find(target);
    const requestId = options.requestId ?? randomUUID();
    if (!fn) return { requestId, durationMs: 0, error: { errorType: 'ResourceNotFoundException', errorMessage: `Function not found: ${target}` } };
    if (fn.unresolved.length) {
      const detail = fn.unresolved.map((u) => `${u.name} (${u.reason})`).join('; ');
      return { requestId, durationMs: 0, error: { errorType: 'Runtime.ConfigurationError', errorMessage: `${fn.functionName}: cannot run locally: ${detail}` } };
    }

    const sandbox = await this.acquire(fn);
    const started = performance.now();
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const context = {
      functionName: fn.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: String(fn.memoryMb),
      awsRequestId: requestId,
      logGroupName: logGroupOf(fn),
      logStreamName: sandbox.logStream,
      traceId: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)};Sampled=0`,
    };

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), fn.timeoutSeconds * 1000);
    });
    const answered = new Promise<{ result?: unknown; error?: InvocationOutcome['error']; initDurationMs?: number }>((resolve) => {
      this.pending.set(requestId, { resolve });
    });
    sandbox.current = requestId;
    sandbox.worker.postMessage({ id: requestId, event, context, deadline });
    const outcome = await Promise.race([answered, timedOut]);
    clearTimeout(timer);
    this.pending.delete(requestId);
    const durationMs = Math.round((performance.now() - started) * 100) / 100;

    if (outcome === 'timeout') {
      // Lambda throws a timed-out sandbox away; the next invocation starts cold.
      this.discard(fn, sandbox);
      return {
        requestId,
        durationMs,
        error: { errorType: 'Sandbox.Timedout', errorMessage: `${requestId} Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds` },
      };
    }
    this.release(fn, sandbox);
    return {
      requestId,
      durationMs,
      ...(outcome.initDurationMs !== undefined ? { initDurationMs: Math.round(outcome.initDurationMs * 100) / 100 } : {}),
      ...(outcome.error ? { error: outcome.error } : { result: outcome.result }),
    };
  }

  /** Drops the warm environments of functions whose code changed; the next call starts cold. */
  async reload(functions: readonly FunctionModel[]): Promise<void> {
    for (const fn of functions) {
      this.functions.set(fn.functionName, fn);
      const sandboxes = this.sandboxes.get(fn.functionName) ?? [];
      this.sandboxes.set(fn.functionName, sandboxes.filter((s) => s.busy));
      await Promise.all(sandboxes.filter((s) => !s.busy).map((s) => s.worker.terminate()));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.sandboxes.values()].flat();
    this.sandboxes.clear();
    await Promise.all(all.map((s) => s.worker.terminate()));
  }

  /** Execution environments alive now, for tests and benchmarks. */
  environments(functionName?: string): number {
    if (functionName) return this.sandboxes.get(this.find(functionName)?.functionName ?? functionName)?.length ?? 0;
    return [...this.sandboxes.values()].reduce((n, list) => n + list.length, 0);
  }

  private async acquire(fn: FunctionModel): Promise<Sandbox> {
    for (;;) {
      if (this.closed) throw new Error('the local cloud is stopping');
      const list = this.sandboxes.get(fn.functionName) ?? [];
      this.sandboxes.set(fn.functionName, list);
      const idle = list.find((s) => !s.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (list.length < this.maxConcurrency) {
        const sandbox = this.spawn(fn);
        list.push(sandbox);
        return sandbox;
      }
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(fn.functionName) ?? [];
        queue.push(resolve);
        this.waiting.set(fn.functionName, queue);
      });
    }
  }

  private release(fn: FunctionModel, sandbox: Sandbox): void {
    sandbox.busy = false;
    delete sandbox.current;
    this.waiting.get(fn.functionName)?.shift()?.();
  }

  private discard(fn: FunctionModel, sandbox: Sandbox): void {
    const list = this.sandboxes.get(fn.functionName) ?? [];
    this.sandboxes.set(fn.functionName, list.filter((s) => s !== sandbox));
    void sandbox.worker.terminate();
    this.waiting.get(fn.functionName)?.shift()?.();
  }

  private spawn(fn: FunctionModel): Sandbox {
    const { env } = this.options;
    const logGroup = logGroupOf(fn);
    const logStream = lambdaLogStreamName(new Date());
    const worker = new Worker(WORKER_ENTRY, {
      workerData: { codeDir: fn.codeDir, handler: fn.handler },
      // A copy per environment: one function never sees another's variables.
      env: {
        ...this.options.baseEnvironment,
        AWS_REGION: env.region,
        AWS_DEFAULT_REGION: env.region,
        AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_LOG_GROUP_NAME: logGroup,
        AWS_LAMBDA_LOG_STREAM_NAME: logStream,
        AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
        LAMBDA_TASK_ROOT: fn.codeDir,
        TZ: 'UTC',
        ...fn.environment,
      },
      stdout: true,
      stderr: true,
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: worker[stream] }).on('line', (line) =>
        this.options.onLog?.({ functionName: fn.functionName, logicalId: fn.logicalId, stream, line, logGroup, logStream }),
      );
    }
    const sandbox: Sandbox = { worker, logStream, busy: true };
    worker.on('message', (message: { id: string; result?: unknown; error?: InvocationOutcome['error']; initDurationMs?: number }) => {
      this.pending.get(message.id)?.resolve(message);
    });
    worker.on('error', (error) => {
      // A crash outside a handler (an unhandled rejection, say) ends the environment; whatever
      // it was running fails the way Lambda reports a runtime exit.
      this.options.onLog?.({ functionName: fn.functionName, logicalId: fn.logicalId, stream: 'stderr', line: `Runtime.ExitError: ${error.message}`, logGroup, logStream });
      const list = this.sandboxes.get(fn.functionName) ?? [];
      this.sandboxes.set(fn.functionName, list.filter((s) => s !== sandbox));
      const id = sandbox.current;
      if (id) this.pending.get(id)?.resolve({ error: { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${id} Error: Runtime exited: ${error.message}` } });
    });
    return sandbox;
  }
}

/** The log group a function writes to. */
export function logGroupOf(fn: FunctionModel): string {
  return fn.logGroupName ?? `/aws/lambda/${fn.functionName}`;
}
