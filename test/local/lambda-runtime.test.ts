import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FunctionModel } from '../../local/model';
import { LambdaRuntime, type FunctionLogLine } from '../../local/runtime/lambda';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'functions');
const env = { account: '000000000000', region: 'eu-west-1' };

function fn(name: string, overrides: Partial<FunctionModel> = {}): FunctionModel {
  return {
    logicalId: `${name}Fn`,
    stackName: 'fixture',
    constructPath: `fixture/${name}/Resource`,
    functionName: `fixture-${name}`,
    arn: `arn:aws:lambda:eu-west-1:000000000000:function:fixture-${name}`,
    handler: 'index.handler',
    codeDir: join(FIXTURES, name),
    runtime: 'nodejs24.x',
    timeoutSeconds: 3,
    memoryMb: 256,
    environment: {},
    unresolved: [],
    ...overrides,
  };
}

let runtime: LambdaRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

function start(functions: FunctionModel[], onLog?: (line: FunctionLogLine) => void): LambdaRuntime {
  runtime = new LambdaRuntime(functions, { env, baseEnvironment: { SHARED: 'base' }, ...(onLog ? { onLog } : {}) });
  return runtime;
}

describe('LambdaRuntime', () => {
  it('keeps an environment warm: module state survives, and only the first call reports an init duration', async () => {
    // Prepare
    const rt = start([fn('echo')]);

    // Act
    const first = await rt.invoke('fixture-echo', { n: 1 });
    const second = await rt.invoke('fixture-echo', { n: 2 });

    // Assess
    expect(first.result).toMatchObject({ invocations: 1, event: { n: 1 } });
    expect(second.result).toMatchObject({ invocations: 2, event: { n: 2 } });
    expect((second.result as { loadedAt: number }).loadedAt).toBe((first.result as { loadedAt: number }).loadedAt);
    expect(first.initDurationMs).toBeGreaterThan(0);
    expect(second.initDurationMs).toBeUndefined();
  });

  it('gives the handler a real context: request id, name, ARN, memory and the time left', async () => {
    // Prepare
    const rt = start([fn('echo', { timeoutSeconds: 5, memoryMb: 512 })]);

    // Act
    const outcome = await rt.invoke('arn:aws:lambda:eu-west-1:000000000000:function:fixture-echo', {});

    // Assess
    const context = (outcome.result as { context: Record<string, unknown> }).context;
    expect(context).toMatchObject({ awsRequestId: outcome.requestId, functionName: 'fixture-echo', memoryLimitInMB: '512' });
    expect(context['invokedFunctionArn']).toBe('arn:aws:lambda:eu-west-1:000000000000:function:fixture-echo');
    expect(context['remaining']).toBeGreaterThan(4000);
    expect(context['remaining']).toBeLessThanOrEqual(5000);
  });

  it('finds a function by ARN, name, logical id or construct path', async () => {
    const rt = start([fn('echo')]);
    for (const target of ['fixture-echo', 'echoFn', 'fixture/echo', 'arn:aws:lambda:eu-west-1:000000000000:function:fixture-echo:$LATEST']) {
      expect((await rt.invoke(target, {})).error, target).toBeUndefined();
    }
    expect((await rt.invoke('nope', {})).error?.errorType).toBe('ResourceNotFoundException');
  });

  it('reports a thrown error the way Lambda does', async () => {
    // Prepare
    const rt = start([fn('echo')]);

    // Act
    const outcome = await rt.invoke('fixture-echo', { fail: 'boom' });

    // Assess
    expect(outcome.error).toMatchObject({ errorType: 'FixtureError', errorMessage: 'boom' });
    expect(outcome.error?.trace?.[0]).toContain('boom');
  });

  it('cuts a function off at its timeout, and the next call starts a fresh environment', async () => {
    // Prepare
    const rt = start([fn('sleepy', { timeoutSeconds: 1 })]);

    // Act
    const timedOut = await rt.invoke('fixture-sleepy', { ms: 3000 });
    const after = await rt.invoke('fixture-sleepy', { ms: 1 });

    // Assess
    expect(timedOut.error).toMatchObject({ errorType: 'Sandbox.Timedout' });
    expect(timedOut.error?.errorMessage).toMatch(/Task timed out after 1\.00 seconds/);
    expect(timedOut.durationMs).toBeLessThan(2000);
    expect(after.result).toEqual({ slept: 1 });
    expect(after.initDurationMs).toBeGreaterThan(0);
  });

  it('isolates environments: a function never sees another function\'s variables, even ones set at run time', async () => {
    // Prepare
    const rt = start([fn('env-reader', { functionName: 'fixture-a', environment: { SECRET_OF_A: 'a-only' } }), fn('env-reader', { functionName: 'fixture-b', logicalId: 'bFn' })]);

    // Act
    const aSeesOwn = await rt.invoke('fixture-a', { name: 'SECRET_OF_A', set: 'WRITTEN' });
    const bSeesA = await rt.invoke('fixture-b', { name: 'SECRET_OF_A' });
    const bSeesWrite = await rt.invoke('fixture-b', { name: 'WRITTEN' });
    const aSeesWrite = await rt.invoke('fixture-a', { name: 'WRITTEN' });

    // Assess
    expect(aSeesOwn.result).toEqual({ value: 'a-only', region: 'eu-west-1' });
    expect(bSeesA.result).toEqual({ value: null, region: 'eu-west-1' });
    expect(bSeesWrite.result).toMatchObject({ value: null });
    expect(aSeesWrite.result).toMatchObject({ value: 'written-by-fixture-a' });
    expect(process.env['SECRET_OF_A']).toBeUndefined();
  });

  it('runs concurrent invocations in separate environments', async () => {
    // Prepare
    const rt = start([fn('sleepy')]);

    // Act
    const results = await Promise.all([rt.invoke('fixture-sleepy', { ms: 200 }), rt.invoke('fixture-sleepy', { ms: 200 })]);

    // Assess
    expect(results.every((r) => r.initDurationMs !== undefined)).toBe(true);
    expect(rt.environments('fixture-sleepy')).toBe(2);
  });

  it('supports CommonJS callback-style handlers', async () => {
    const rt = start([fn('callback')]);
    expect((await rt.invoke('fixture-callback', { n: 21 })).result).toEqual({ doubled: 42 });
  });

  it('fails an invocation whose module cannot initialize, naming the cause', async () => {
    const rt = start([fn('broken')]);
    const outcome = await rt.invoke('fixture-broken', {});
    expect(outcome.error?.errorMessage).toContain('init failed: missing configuration');
  });

  it('refuses to run a function with an unresolved variable, naming the function and the variable', async () => {
    // Prepare
    const rt = start([fn('echo', { unresolved: [{ name: 'TABLE_NAME', reason: 'Fn::GetAtt Thing.Arn has no local value' }] })]);

    // Act
    const outcome = await rt.invoke('fixture-echo', {});

    // Assess
    expect(outcome.error?.errorType).toBe('Runtime.ConfigurationError');
    expect(outcome.error?.errorMessage).toContain('fixture-echo');
    expect(outcome.error?.errorMessage).toContain('TABLE_NAME');
  });

  it('streams what a function prints, line by line, tagged with the function and the stream', async () => {
    // Prepare
    const lines: FunctionLogLine[] = [];
    const rt = start([fn('chatty')], (line) => lines.push(line));

    // Act
    await rt.invoke('fixture-chatty', { correlationId: 'corr-1' });
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Assess
    expect(lines).toContainEqual(expect.objectContaining({ functionName: 'fixture-chatty', logicalId: 'chattyFn', stream: 'stdout', line: '{"level":"INFO","message":"hello","correlationId":"corr-1"}' }));
    expect(lines).toContainEqual(expect.objectContaining({ functionName: 'fixture-chatty', logicalId: 'chattyFn', stream: 'stderr', line: 'plain text on stderr' }));
  });

  it("tags each line with the function's log group and its environment's log stream, as Lambda names them", async () => {
    // Prepare
    const lines: FunctionLogLine[] = [];
    const rt = start([fn('chatty', { logGroupName: '/aws/custom/chatty' })], (line) => lines.push(line));

    // Act
    await rt.invoke('fixture-chatty', { correlationId: 'corr-2' });
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Assess
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line.logGroup).toBe('/aws/custom/chatty');
      expect(line.logStream).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    }
  });
});
