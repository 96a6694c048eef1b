import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Aws, Stack } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAssembly } from '../../local/assembly/read';
import type { CloudModel } from '../../local/model';
import { basicApp } from './fixtures/apps/basic-app';

const env = { account: '111122223333', region: 'eu-central-1' };
let model: CloudModel;
let apiIds: { rest: string; ws: string };

beforeAll(() => {
  const outdir = mkdtempSync(join(tmpdir(), 'local-assembly-'));
  basicApp(outdir).synth();
  const ports = new Map<string, number>();
  model = readAssembly(outdir, {
    env,
    endpoints: {
      sqs: 'http://127.0.0.1:4566',
      api: (apiId, protocol) => {
        if (!ports.has(apiId)) ports.set(apiId, 3000 + ports.size);
        return `${protocol === 'wss' ? 'ws' : 'http'}://127.0.0.1:${ports.get(apiId)}`;
      },
    },
  });
  apiIds = { rest: model.restApis[0]!.apiId, ws: model.webSocketApis[0]!.apiId };
});

const fnNamed = (logicalIdPrefix: string) => model.functions.find((f) => f.logicalId.startsWith(logicalIdPrefix))!;

describe('readAssembly', () => {
  it('resolves a function environment across stacks to local names, ARNs and URLs', () => {
    // Prepare
    const echo = fnNamed('Echo');
    const table = model.tables[0]!;

    // Assess
    expect(echo.unresolved).toEqual([]);
    expect(echo.environment['TABLE_NAME']).toBe(table.name);
    expect(echo.environment['TABLE_ARN']).toBe(`arn:aws:dynamodb:eu-central-1:111122223333:table/${table.name}`);
    expect(echo.environment['SECRET_ARN']).toBe(model.secrets[0]!.arn);
    expect(echo.environment['QUEUE_URL']).toMatch(/^http:\/\/127\.0\.0\.1:4566\/111122223333\/fixture-service-Work[A-Z0-9]+\.fifo$/);
    expect(echo.environment['BUS_NAME']).toBe(model.buses[0]!.name);
    expect(echo.environment['GREETING']).toBe('hello from eu-central-1');
    expect(echo.timeoutSeconds).toBe(7);
    expect(echo.arn).toBe(`arn:aws:lambda:eu-central-1:111122223333:function:${echo.functionName}`);
  });

  it('names a variable it cannot resolve, and why, instead of failing the whole read', () => {
    const fn = fnNamed('NeedsParameter');
    expect(fn.unresolved).toEqual([{ name: 'FROM_PARAMETER', reason: expect.stringContaining('parameter Missing has no default') }]);
  });

  it('lists resource types it does not serve', () => {
    expect(model.unsupported).toEqual([{ stackName: 'fixture-service', logicalId: 'Unserved', type: 'AWS::Kinesis::Stream' }]);
  });

  it('rebuilds REST resources, methods, integrations and the authorizer', () => {
    // Prepare
    const api = model.restApis[0]!;
    const byPath = Object.fromEntries(api.resources.map((r) => [r.path, r.methods]));
    const echo = fnNamed('Echo');

    // Assess
    expect(api.stageName).toBe('test');
    expect(api.throttle).toEqual({ rateLimit: 10, burstLimit: 20 });
    expect(byPath['/items/{id}']).toEqual([
      expect.objectContaining({ httpMethod: 'GET', authorizationType: 'CUSTOM', authorizerId: api.authorizers[0]!.id, integration: expect.objectContaining({ type: 'AWS_PROXY', functionArn: echo.arn }) }),
    ]);
    expect(byPath['/files/{proxy+}']?.[0]).toMatchObject({ httpMethod: 'ANY', authorizationType: 'NONE' });
    expect(api.authorizers[0]).toMatchObject({ type: 'TOKEN', functionArn: echo.arn, identitySource: 'method.request.header.Authorization', resultTtlSeconds: 60 });
  });

  it('rebuilds WebSocket routes and the $connect authorizer', () => {
    // Prepare
    const api = model.webSocketApis[0]!;
    const echo = fnNamed('Echo');

    // Assess
    expect(api.stageName).toBe('live');
    expect(api.routeSelectionExpression).toBe('$request.body.action');
    expect(api.routes.map((r) => r.routeKey).sort()).toEqual(['$connect', '$default', 'send']);
    expect(api.routes.every((r) => r.functionArn === echo.arn)).toBe(true);
    expect(api.connectAuthorizer).toEqual({ functionArn: echo.arn, identitySource: [] });
  });

  it('reads tables with keys, indexes and TTL, and secrets with their generation rules', () => {
    expect(model.tables[0]).toMatchObject({
      keySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      globalSecondaryIndexes: [expect.objectContaining({ IndexName: 'byOwner' })],
      ttlAttribute: 'expiresAt',
    });
    expect(model.secrets[0]!.generate).toMatchObject({ passwordLength: 40, excludePunctuation: true });
  });

  it('reads rules with their pattern and target transformation', () => {
    const rule = model.rules[0]!;
    expect(rule.busName).toBe(model.buses[0]!.name);
    expect(rule.eventPattern).toEqual({ source: ['fixture.items'], 'detail-type': ['ItemCreated'] });
    expect(rule.targets[0]).toMatchObject({ arn: fnNamed('Echo').arn, inputTransformer: { inputPathsMap: { 'detail-id': '$.detail.id' }, inputTemplate: '{"id":<detail-id>}' } });
  });

  it('rewrites execute-api URLs in outputs and variables to the local gateways', () => {
    const outputs = model.outputs['fixture-service']!;
    expect(outputs['ApiUrl']).toBe('http://127.0.0.1:3000/test/');
    expect(outputs['SocketUrl']).toBe('ws://127.0.0.1:3001/live');
    expect(outputs['SocketCallback']).toBe('http://127.0.0.1:3001/live');
    expect(apiIds.rest).toMatch(/^[a-z0-9]{10}$/);
  });

  it('reads queues with their FIFO settings and redrive policy, and the event source mapping', () => {
    // Prepare
    const work = model.queues.find((q) => q.logicalId.startsWith('Work') && !q.logicalId.startsWith('WorkDlq'))!;
    const dlq = model.queues.find((q) => q.logicalId.startsWith('WorkDlq'))!;
    const mapping = model.eventSourceMappings[0]!;

    // Assess
    expect(work).toMatchObject({ fifo: true, visibilityTimeoutSeconds: 30, redrive: { deadLetterArn: dlq.arn, maxReceiveCount: 3 } });
    expect(work.name.endsWith('.fifo')).toBe(true);
    expect(work.url).toBe(`http://127.0.0.1:4566/111122223333/${work.name}`);
    expect(mapping).toMatchObject({ functionArn: fnNamed('Echo').arn, eventSourceArn: work.arn, batchSize: 5, reportBatchItemFailures: true, maximumConcurrency: 2, enabled: true });
  });

  it('reads bucket notifications that CDK configures through a custom resource, and skips its provider function', () => {
    // Prepare
    const bucket = model.buckets[0]!;
    const uploads = model.queues.find((q) => q.logicalId.startsWith('Uploads'))!;

    // Assess
    expect(bucket.eventBridgeEnabled).toBe(true);
    expect(bucket.queueNotifications).toEqual([{ arn: uploads.arn, events: ['s3:ObjectCreated:*'], prefix: 'incoming/', suffix: '.png' }]);
    expect(bucket.lambdaNotifications).toEqual([{ arn: fnNamed('Echo').arn, events: ['s3:ObjectRemoved:*'] }]);
    expect(model.functions.map((f) => f.logicalId).some((id) => id.startsWith('BucketNotificationsHandler'))).toBe(false);
    expect(model.functions.every((f) => f.unresolved.every((u) => u.name !== '(code)'))).toBe(true);
  });
});

describe('readAssembly: physical names', () => {
  it('keeps a name joined from literals and pseudo parameters, and generates one that refers to another resource', () => {
    // Prepare
    const outdir = mkdtempSync(join(tmpdir(), 'local-names-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'names-stack');
    const other = new Bucket(stack, 'Other');
    new Bucket(stack, 'Results', { bucketName: `results-${Aws.ACCOUNT_ID}-${Aws.REGION}` });
    new Queue(stack, 'Named', { queueName: `jobs-${Aws.REGION}` });
    new Queue(stack, 'Derived', { queueName: `${other.bucketName}-events` });
    app.synth();

    // Act
    const named = readAssembly(outdir, { env, endpoints: { sqs: 'http://127.0.0.1:4566', api: () => 'http://127.0.0.1:3000' } });

    // Assess
    expect(named.buckets.map((b) => b.name)).toContain(`results-${env.account}-${env.region}`);
    const queues = named.queues.map((q) => q.name);
    expect(queues).toContain(`jobs-${env.region}`);
    expect(queues.find((name) => name.endsWith('-events'))).toBeUndefined();
  });
});
