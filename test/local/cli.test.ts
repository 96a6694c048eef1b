import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAssembly } from '../../local/assembly/read';
import { sampleEvent } from '../../local/cli/events';
import { DEFAULT_ENVIRONMENT, type CloudModel } from '../../local/model';
import { basicApp } from './fixtures/apps/basic-app';

const ROOT = join(import.meta.dirname, '..', '..');
let assemblyDir: string;
let model: CloudModel;

beforeAll(() => {
  assemblyDir = mkdtempSync(join(tmpdir(), 'local-cli-'));
  basicApp(assemblyDir).synth();
  model = readAssembly(assemblyDir, { env: DEFAULT_ENVIRONMENT, endpoints: { sqs: 'http://127.0.0.1:4566', api: () => undefined } });
});

/** Runs a CLI script with tsx, feeding `input` on stdin. */
function run(script: string, args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'local', 'cli', script), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('sample events from the template', () => {
  it('builds an API Gateway proxy event for a route, with its path parameters and the API id', () => {
    // Act
    const event = sampleEvent(model, 'apigw', { path: '/items/42?verbose=1', method: 'GET' }) as Record<string, any>;

    // Assess
    expect(event).toMatchObject({ resource: '/items/{id}', path: '/items/42', httpMethod: 'GET', pathParameters: { id: '42' }, queryStringParameters: { verbose: '1' } });
    expect(event['requestContext']).toMatchObject({ apiId: model.restApis[0]!.apiId, stage: 'test', resourcePath: '/items/{id}' });
  });

  it('refuses a path no route serves, listing the routes', () => {
    expect(() => sampleEvent(model, 'apigw', { path: '/nope' })).toThrow(/no route for GET \/nope; routes: .*\/items\/\{id\}/);
  });

  it('builds SQS, S3 and WebSocket events naming the template resources', () => {
    // Prepare
    const work = model.queues.find((q) => q.logicalId.startsWith('Work') && !q.logicalId.startsWith('WorkDlq'))!;

    // Act
    const sqs = sampleEvent(model, 'sqs', { resource: work.logicalId, body: '{"n":1}' }) as { Records: Record<string, any>[] };
    const s3 = sampleEvent(model, 's3', { key: 'a b.png', shape: 'notification' }) as { Records: Record<string, any>[] };
    const s3Bridge = sampleEvent(model, 's3', { key: 'a b.png' }) as Record<string, any>;
    const ws = sampleEvent(model, 'ws', { route: 'send', body: '{"action":"send"}' }) as Record<string, any>;

    // Assess
    expect(sqs.Records[0]).toMatchObject({ eventSourceARN: work.arn, body: '{"n":1}', attributes: { MessageGroupId: 'group-1' } });
    expect(s3.Records[0]!['s3']).toMatchObject({ bucket: { name: model.buckets[0]!.name }, object: { key: 'a+b.png' } });
    expect(s3Bridge).toMatchObject({ source: 'aws.s3', 'detail-type': 'Object Created', detail: { object: { key: 'a b.png' } } });
    expect(ws['requestContext']).toMatchObject({ routeKey: 'send', eventType: 'MESSAGE', apiId: model.webSocketApis[0]!.apiId });
  });

  it('says so when the template has no schedule rule', () => {
    expect(() => sampleEvent(model, 'schedule')).toThrow(/no schedule rule/);
  });
});

describe('npm run event | npm run invoke', () => {
  it('runs a function with an event the event command generated, printing the result and a report', async () => {
    // Prepare
    const generated = await run('event.ts', ['apigw', '--path', '/items/7', '--assembly', assemblyDir]);
    expect(generated.code).toBe(0);

    // Act
    const invoked = await run('invoke.ts', ['fixture-service/Echo', '--event', '-', '--assembly', assemblyDir, '--env', 'EXTRA=1'], generated.stdout);

    // Assess
    expect(invoked.code).toBe(0);
    const result = JSON.parse(invoked.stdout) as { event: { path: string; pathParameters: Record<string, string> }; invocations: number };
    expect(result.event).toMatchObject({ path: '/items/7', pathParameters: { id: '7' } });
    expect(invoked.stderr).toMatch(/REPORT RequestId: [0-9a-f-]{36}  Duration: \d+\.\d+ ms  Init Duration: \d+\.\d+ ms/);
  }, 30_000);

  it('exits non-zero and names the functions when the one asked for does not exist', async () => {
    const invoked = await run('invoke.ts', ['NoSuchFunction', '--assembly', assemblyDir]);
    expect(invoked.code).toBe(2);
    expect(invoked.stderr).toContain('fixture-service/Echo');
  }, 30_000);
});
