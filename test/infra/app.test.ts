import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { CfnElement } from 'aws-cdk-lib';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { allRoutes } from '#shared/contracts/index';
import { isPublic } from '#shared/contracts/route';
import {
  broadIamStatements,
  queuesWithoutDeadLetter,
  queuesWithoutTls,
  resourcesOf,
  statefulResources,
  tablesNotProductionReady,
  unencryptedQueues,
  unsafeBuckets,
} from './invariants';
import { buildStage, stageConfigs, synthStage, type SynthesizedStage } from './synth';

const stages: Record<string, SynthesizedStage> = {};

beforeAll(() => {
  // Each synth runs cdk-nag; an unacknowledged finding throws here and fails every test.
  stages['dev'] = synthStage('dev');
  stages['prod'] = synthStage('prod');
});

describe.each(['dev', 'prod'])('stage %s', (stage) => {
  const templates = () => [stages[stage]!.dataTemplate, stages[stage]!.serviceTemplate];

  it('gives every function the AppFunction defaults: runtime, ARM64, tracing, its own log group with the stage retention', () => {
    // Prepare
    const { serviceTemplate } = stages[stage]!;
    const functions = resourcesOf(serviceTemplate, 'AWS::Lambda::Function');
    const logGroups = resourcesOf(serviceTemplate, 'AWS::Logs::LogGroup');

    // Assess
    expect(Object.keys(functions).length).toBeGreaterThanOrEqual(8);
    for (const [id, fn] of Object.entries(functions)) {
      const props = fn.Properties as Record<string, any>;
      expect(props['Runtime'], id).toBe('nodejs24.x');
      expect(props['Architectures'], id).toEqual(['arm64']);
      expect(props['TracingConfig'], id).toEqual({ Mode: 'Active' });
      expect(props['Environment']['Variables']['POWERTOOLS_SERVICE_NAME'], id).toEqual(expect.any(String));
      expect(props['Environment']['Variables']['NODE_OPTIONS'], id).toContain('--enable-source-maps');
      const logGroupId = props['LoggingConfig']['LogGroup']['Ref'] as string;
      expect(logGroups[logGroupId]?.Properties?.['RetentionInDays'], id).toBe(stageConfigs[stage]!.logRetentionDays);
    }
  });

  it('grants no service-wide action and no * resource where a narrower one exists', () => {
    for (const template of templates()) expect(broadIamStatements(template)).toEqual([]);
  });

  it('gives every queue a dead-letter queue, encryption at rest and enforced TLS', () => {
    for (const template of templates()) {
      expect(queuesWithoutDeadLetter(template)).toEqual([]);
      expect(unencryptedQueues(template)).toEqual([]);
      expect(queuesWithoutTls(template)).toEqual([]);
    }
  });

  it('blocks public access and enforces TLS on every bucket', () => {
    for (const template of templates()) expect(unsafeBuckets(template)).toEqual([]);
  });

  it('keeps every stateful resource in the data stack', () => {
    expect(statefulResources(stages[stage]!.serviceTemplate)).toEqual([]);
    expect(statefulResources(stages[stage]!.dataTemplate).length).toBeGreaterThan(0);
  });

  it('serves exactly the routes the contracts declare, with the authorizer on every non-public one', () => {
    // Prepare
    const { serviceTemplate } = stages[stage]!;
    const methods = Object.values(resourcesOf(serviceTemplate, 'AWS::ApiGateway::Method'))
      .map((m) => m.Properties as Record<string, any>)
      .filter((m) => m['HttpMethod'] !== 'OPTIONS');
    const byOperation = new Map(methods.map((m) => [m['OperationName'] as string, m]));

    // Assess
    expect([...byOperation.keys()].sort()).toEqual(allRoutes.map((r) => r.operationId).sort());
    for (const route of allRoutes) {
      const method = byOperation.get(route.operationId)!;
      expect(method['HttpMethod'], route.operationId).toBe(route.method);
      expect(method['AuthorizationType'], route.operationId).toBe(isPublic(route) ? 'NONE' : 'CUSTOM');
      expect(method['AuthorizerId'] !== undefined, route.operationId).toBe(!isPublic(route));
    }
  });

  it('rate-limits every route and WebSocket message through the buckets table, which functions may only conditionally update', () => {
    // Prepare
    const { serviceTemplate, dataTemplate, data, service } = stages[stage]!;
    const bucketsId = data.getLogicalId(data.rateLimits.table.node.defaultChild as CfnElement);
    const functions = resourcesOf(serviceTemplate, 'AWS::Lambda::Function');
    const routeFunctions = Object.values(functions)
      .map((f) => f.Properties as Record<string, any>)
      .filter((f) => f['Environment']['Variables']['CORS_ORIGINS'] !== undefined);
    const policies = Object.values(resourcesOf(serviceTemplate, 'AWS::IAM::Policy')).map((p) => JSON.stringify(p.Properties));
    const { defaults } = stageConfigs[stage]!.rateLimits;

    // Assess
    expect(Object.keys(resourcesOf(dataTemplate, 'AWS::DynamoDB::GlobalTable'))).toContain(bucketsId);
    expect(routeFunctions.length).toBe(allRoutes.length);
    for (const { route, handler } of service.restApi.servedRoutes) {
      const fn = functions[service.getLogicalId(handler.node.defaultChild as CfnElement)]!.Properties as Record<string, any>;
      const expected = [...new Set([...(route.rateLimit?.policies ?? []), ...(route.rateLimit?.defaults === false ? [] : defaults)])];
      expect(fn['Environment']['Variables']['RATE_LIMIT_ROUTE_POLICIES'], route.operationId).toBe(expected.join(','));
      expect(JSON.parse(fn['Environment']['Variables']['RATE_LIMIT_POLICIES'])).toEqual(stageConfigs[stage]!.rateLimits.policies);
    }
    // The functions behind WebSocket message routes: every route but $connect and $disconnect.
    const integrations = resourcesOf(serviceTemplate, 'AWS::ApiGatewayV2::Integration');
    const messageFunctionIds = Object.values(resourcesOf(serviceTemplate, 'AWS::ApiGatewayV2::Route'))
      .map((route) => route.Properties as Record<string, any>)
      .filter((route) => !['$connect', '$disconnect'].includes(route['RouteKey']))
      .map((route) => JSON.stringify(route['Target']).match(/"Ref":"([^"]+)"/)![1]!)
      .map((integrationId) => JSON.stringify(integrations[integrationId]!.Properties).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/)![1]!);
    const messageFunctions = messageFunctionIds.map((id) => functions[id]!.Properties as Record<string, any>);
    expect(messageFunctions.length).toBeGreaterThan(0);
    for (const fn of messageFunctions) {
      expect(fn['Environment']['Variables']['RATE_LIMIT_ROUTE_POLICIES']).toBe(stageConfigs[stage]!.rateLimits.webSocketDefaults.join(','));
    }
    const grants = policies.filter((p) => p.includes(bucketsId));
    expect(grants).toHaveLength(allRoutes.length + messageFunctions.length);
    // Deciding is a conditional write; only the service's read and reset functions may do more, one action each.
    const bucketActions = Object.values(resourcesOf(serviceTemplate, 'AWS::IAM::Policy')).flatMap((policy) =>
      ((policy.Properties as any)['PolicyDocument']['Statement'] as { Action: string | string[]; Resource: unknown }[])
        .filter((statement) => JSON.stringify(statement.Resource).includes(bucketsId))
        .flatMap((statement) => [statement.Action].flat()),
    );
    expect(bucketActions.filter((a) => a === 'dynamodb:UpdateItem')).toHaveLength(grants.length);
    expect(bucketActions.filter((a) => a !== 'dynamodb:UpdateItem').sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem']);
  });

  it('grants each chat function only the chat table actions its code takes, and no function the user index it does not query', () => {
    // Prepare
    const { serviceTemplate, data } = stages[stage]!;
    const chatId = data.getLogicalId(data.chat.table.node.defaultChild as CfnElement);
    const actionsOf = (prefix: string, onIndex: boolean) => tableActionsOf(serviceTemplate, chatId, prefix, onIndex);

    // Assess
    const expected: Record<string, string[]> = {
      ChatConnect: ['dynamodb:UpdateItem'],
      ChatDisconnect: ['dynamodb:UpdateItem'],
      ChatChatSend: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      ChatChatDeliver: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      ChatChatTyping: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
      ChatChatRead: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
      ChatChatPing: ['dynamodb:PutItem'],
    };
    for (const [prefix, actions] of Object.entries(expected)) {
      expect(actionsOf(prefix, false), prefix).toEqual(actions);
      expect(actionsOf(prefix, true), prefix).toEqual([]);
    }
    expect(actionsOf('ChatListConversations', true)).toEqual(['dynamodb:Query']);
  });

  it('grants each jobs function only the jobs table actions its code takes', () => {
    // Prepare
    const { serviceTemplate, data } = stages[stage]!;
    const jobsId = data.getLogicalId(data.jobs.table.node.defaultChild as CfnElement);
    const actionsOf = (prefix: string, onIndex: boolean) => tableActionsOf(serviceTemplate, jobsId, prefix, onIndex);

    // Assess: [on the table, on its indexes]
    const worker = [['dynamodb:GetItem', 'dynamodb:UpdateItem'], ['dynamodb:Query']];
    const expected: Record<string, string[][]> = {
      JobsSubmitJob: [['dynamodb:DeleteItem', 'dynamodb:PutItem'], []],
      JobsGetJob: [['dynamodb:GetItem'], []],
      JobsListJobs: [[], ['dynamodb:Query']],
      JobsCancelJob: [['dynamodb:UpdateItem'], []],
      JobsRetryJob: [['dynamodb:GetItem', 'dynamodb:UpdateItem'], []],
      JobsRedriveJobs: [['dynamodb:GetItem', 'dynamodb:UpdateItem'], []],
      JobsHighWorker: worker,
      JobsNormalWorker: worker,
      JobsLowWorker: worker,
      JobsReleaseJob: [['dynamodb:GetItem', 'dynamodb:UpdateItem'], []],
      JobsSweepDueJobs: [['dynamodb:UpdateItem'], ['dynamodb:Query']],
    };
    for (const [prefix, [onTable, onIndexes]] of Object.entries(expected)) {
      expect(actionsOf(prefix, false), prefix).toEqual(onTable);
      expect(actionsOf(prefix, true), prefix).toEqual(onIndexes);
    }
  });

  it('gives each job lane its own worker, a visibility timeout six times the worker timeout, a FIFO dead-letter queue and the stage concurrency', () => {
    // Prepare
    const { serviceTemplate, service } = stages[stage]!;
    const { jobs } = stageConfigs[stage]!;
    const resolve = (construct: { node: { defaultChild?: unknown } }) => service.getLogicalId(construct.node.defaultChild as CfnElement);
    const queues = resourcesOf(serviceTemplate, 'AWS::SQS::Queue');
    const functions = resourcesOf(serviceTemplate, 'AWS::Lambda::Function');
    const mappings = Object.values(resourcesOf(serviceTemplate, 'AWS::Lambda::EventSourceMapping')).map((m) => m.Properties as Record<string, any>);

    // Assess
    for (const priority of ['high', 'normal', 'low'] as const) {
      const lane = service.jobs.lanes[priority];
      const queue = queues[resolve(lane.queue)]!.Properties as Record<string, any>;
      const deadLetters = queues[resolve(lane.deadLetters)]!.Properties as Record<string, any>;
      const worker = functions[resolve(lane.worker)]!.Properties as Record<string, any>;
      expect(worker['Timeout'], priority).toBe(jobs.batchSize * jobs.maxTimeoutSeconds + 15);
      expect(queue['FifoQueue'], priority).toBe(true);
      expect(queue['VisibilityTimeout'], priority).toBe(6 * worker['Timeout']);
      expect(deadLetters['FifoQueue'], priority).toBe(true);
      expect(JSON.stringify(queue['RedrivePolicy']), priority).toContain(resolve(lane.deadLetters));
      expect(worker['Environment']['Variables']['JOBS_LANE']).toBe(priority);
      // Its runs' idempotency records are the job records (functions/jobs/run-store.ts).
      expect(worker['Environment']['Variables'], priority).not.toHaveProperty('IDEMPOTENCY_TABLE_NAME');
      const mapping = mappings.filter((m) => JSON.stringify(m['FunctionName']).includes(resolve(lane.worker)));
      expect(mapping, priority).toHaveLength(1);
      expect(JSON.stringify(mapping[0]!['EventSourceArn'])).toContain(resolve(lane.queue));
      expect(mapping[0]!['ScalingConfig'], priority).toEqual({ MaximumConcurrency: jobs.laneConcurrency[priority] });
      expect(mapping[0]!['FunctionResponseTypes'], priority).toEqual(['ReportBatchItemFailures']);
      expect(mapping[0]!['BatchSize'], priority).toBe(jobs.batchSize);
    }
    expect(Object.values(functions).filter((f) => (f.Properties as Record<string, any>)['Environment']['Variables']['JOBS_TEST_TYPES'] === 'true').length > 0).toBe(jobs.testTypes);
    const rules = Object.values(resourcesOf(serviceTemplate, 'AWS::Events::Rule')).map((r) => r.Properties as Record<string, any>);
    expect(rules.filter((r) => r['ScheduleExpression'] === 'rate(1 minute)')).toHaveLength(1);
    // A release that failed comes back within the minute a delayed job may start late.
    expect((queues[resolve(service.jobs.timer)]!.Properties as Record<string, any>)['VisibilityTimeout']).toBeLessThanOrEqual(60);
  });

  it('requires an API key on the rate-limit service routes, metered by the usage plans of the stage configuration', () => {
    // Prepare
    const { serviceTemplate } = stages[stage]!;
    const { usagePlans } = stageConfigs[stage]!.api;
    const methods = Object.values(resourcesOf(serviceTemplate, 'AWS::ApiGateway::Method')).map((m) => m.Properties as Record<string, any>);

    // Assess
    for (const route of allRoutes) {
      const method = methods.find((m) => m['OperationName'] === route.operationId)!;
      expect(method['ApiKeyRequired'], route.operationId).toBe(route.apiKey ?? false);
    }
    expect(allRoutes.some((r) => r.apiKey)).toBe(true);
    for (const [name, plan] of Object.entries(usagePlans)) {
      serviceTemplate.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
        UsagePlanName: `switchyard-${stage}-${name}`,
        ApiStages: [Match.objectLike({ Stage: Match.anyValue() })],
        ...(plan.throttle ? { Throttle: { RateLimit: plan.throttle.rateLimit, BurstLimit: plan.throttle.burstLimit } } : {}),
        ...(plan.quota ? { Quota: { Limit: plan.quota.limit, Period: plan.quota.period } } : {}),
      });
    }
    const keys = Object.values(usagePlans).flatMap((p) => p.apiKeys);
    expect(Object.keys(resourcesOf(serviceTemplate, 'AWS::ApiGateway::ApiKey'))).toHaveLength(keys.length);
    expect(Object.keys(resourcesOf(serviceTemplate, 'AWS::ApiGateway::UsagePlanKey'))).toHaveLength(keys.length);
    for (const key of keys) {
      serviceTemplate.hasResourceProperties('AWS::ApiGateway::ApiKey', { Name: `switchyard-${stage}-${key}`, Enabled: true, Value: Match.absent() });
    }
  });

  it('sets stage throttling and JSON access logs from the stage configuration', () => {
    const { throttle } = stageConfigs[stage]!.api;
    stages[stage]!.serviceTemplate.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: stage,
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: throttle.rateLimit, ThrottlingBurstLimit: throttle.burstLimit })]),
    });
  });

  it("answers API Gateway's own 401 as problem+json without saying why", () => {
    stages[stage]!.serviceTemplate.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      StatusCode: '401',
      ResponseParameters: { 'gatewayresponse.header.Content-Type': "'application/problem+json'" },
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"detail":"invalid token"') },
    });
  });

  it('authorizes WebSocket connections on $connect with the JWT authorizer', () => {
    const { serviceTemplate } = stages[stage]!;
    serviceTemplate.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$connect', AuthorizationType: 'CUSTOM' });
    serviceTemplate.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'REQUEST' });
  });

  it("alarms, through the alarm topic, on every function's error rate and the API's p99 latency", () => {
    // Prepare
    const { serviceTemplate } = stages[stage]!;
    const alarms = Object.values(resourcesOf(serviceTemplate, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties as Record<string, any>);
    const topics = Object.keys(resourcesOf(serviceTemplate, 'AWS::SNS::Topic'));
    const functionCount = Object.keys(resourcesOf(serviceTemplate, 'AWS::Lambda::Function')).length;

    // Assess
    expect(topics).toHaveLength(1);
    for (const alarm of alarms) expect(alarm['AlarmActions'], alarm['AlarmDescription']).toEqual([{ Ref: topics[0] }]);
    expect(alarms.filter((a) => /of invocations failed/.test(a['AlarmDescription'])).length).toBe(functionCount);
    expect(alarms.some((a) => /p99 latency/.test(a['AlarmDescription']))).toBe(true);
  });
});

describe('production', () => {
  it('keeps tables with point-in-time recovery, retained, and protects the data stack from deletion', () => {
    const prod = stages['prod']!;
    expect(tablesNotProductionReady(prod.dataTemplate)).toEqual([]);
    expect(prod.data.terminationProtection).toBe(true);
  });

  it('verifies tokens against a JWKS and asks for the identity provider settings at deploy time', () => {
    // Prepare
    const prod = stages['prod']!;
    const parameters = prod.serviceTemplate.toJSON()['Parameters'] as Record<string, { AllowedPattern?: string }>;

    // Assess
    // The only secret production keeps is the webhook signing key: no token signing secret.
    expect(Object.keys(resourcesOf(prod.dataTemplate, 'AWS::SecretsManager::Secret')).every((id) => id.startsWith('JobsWebhookSigningSecret'))).toBe(true);
    expect(parameters['JwksUrl']?.AllowedPattern).toBe('^https://.+');
    expect(parameters).toHaveProperty('JwtIssuer');
    expect(parameters).toHaveProperty('JwtAudience');
    prod.serviceTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ AUTH_MODE: 'jwks', JWKS_URL: { Ref: 'JwksUrl' } }) },
    });
  });
});

describe('development', () => {
  it('lets only the job workers read the webhook signing secret', () => {
    // Prepare
    const dev = stages['dev']!;
    const secretId = Object.keys(resourcesOf(dev.dataTemplate, 'AWS::SecretsManager::Secret')).find((id) => id.startsWith('JobsWebhookSigningSecret'))!;
    const readers = Object.values(resourcesOf(dev.serviceTemplate, 'AWS::IAM::Policy'))
      .map((p) => JSON.stringify(p.Properties))
      .filter((p) => p.includes('secretsmanager:GetSecretValue') && p.includes(secretId));

    // Assess
    expect(secretId).toBeDefined();
    expect(readers).toHaveLength(3);
    for (const policy of readers) expect(policy).toMatch(/JobsWorker|Jobs(High|Normal|Low)Worker/);
  });

  it('signs development tokens with a generated secret that only the authorizers may read', () => {
    // Prepare
    const dev = stages['dev']!;
    const secretId = Object.keys(resourcesOf(dev.dataTemplate, 'AWS::SecretsManager::Secret')).find((id) => id.startsWith('JwtSigningSecret'))!;
    const policies = Object.values(resourcesOf(dev.serviceTemplate, 'AWS::IAM::Policy')).map((p) => JSON.stringify(p.Properties));

    // Assess
    expect(secretId).toBeDefined();
    const readers = policies.filter((p) => p.includes('secretsmanager:GetSecretValue') && p.includes(secretId));
    expect(readers).toHaveLength(2);
    expect(tablesNotProductionReady(dev.dataTemplate).some((p) => p.includes('point-in-time'))).toBe(true);
  });
});

describe('cdk-nag', () => {
  it('fails synth on a finding nobody acknowledged', () => {
    // Prepare
    const built = buildStage('dev');
    new Queue(built.service, 'Unchecked');

    // Act + Assess
    expect(() => built.app.synth()).toThrow(/validation-report\.json/);
  });

  it('fails synth on a route naming a rate limit policy the stage does not define', () => {
    // Prepare
    const built = buildStage('dev');
    const fn = built.service.node.findChild('GetMe') as LambdaFunction;

    // Act + Assess
    expect(() => built.data.rateLimits.bindRoute(fn, { policies: ['no-such-policy'], cost: 1 })).toThrow(/unknown rate limit policies no-such-policy/);
  });
});

/** The actions a function's role may take on one table (`onIndex`: on its indexes instead), sorted; the function is named by its logical id's prefix. */
function tableActionsOf(template: Template, tableId: string, prefix: string, onIndex: boolean): string[] {
  const functions = resourcesOf(template, 'AWS::Lambda::Function');
  const ids = Object.keys(functions).filter((id) => id.startsWith(prefix) && /^[0-9A-F]{8}$/.test(id.slice(prefix.length)));
  expect(ids, prefix).toHaveLength(1);
  const role = JSON.stringify((functions[ids[0]!]!.Properties as Record<string, any>)['Role']).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/)![1]!;
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .map((policy) => policy.Properties as Record<string, any>)
    .filter((policy) => JSON.stringify(policy['Roles']).includes(`"${role}"`))
    .flatMap((policy) => policy['PolicyDocument']['Statement'] as { Action: string | string[]; Resource: unknown }[])
    .filter((statement) => JSON.stringify(statement.Resource).includes(tableId) && JSON.stringify(statement.Resource).includes('/index/') === onIndex)
    .flatMap((statement) => [statement.Action].flat())
    .sort();
}
