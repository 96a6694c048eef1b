import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  ApiKeyModel,
  CloudModel,
  EventBusModel,
  EventRuleModel,
  FunctionModel,
  GatewayResponseModel,
  HttpMethod,
  IntegrationModel,
  LocalEnvironment,
  RestApiModel,
  RestAuthorizerModel,
  RestResourceModel,
  SecretModel,
  TableModel,
  ThrottleModel,
  UsagePlanKeyModel,
  UsagePlanModel,
  QueueModel,
  EventSourceMappingModel,
  BucketModel,
  BucketNotificationTarget,
  UnsupportedResource,
  WebSocketApiModel,
  SubscriptionFilterModel,
  AsyncInvokeConfigModel,
} from '../model';
import { identityOf, INERT_TYPES, KNOWN_TYPES } from './identity';
import { resolveString, resolveValue, UnresolvableError, type AssemblyScope, type ResourceIdentity, type StackScope, type Template } from './resolve';

/** Where local services listen, known before the model is read so URLs resolve to them. */
export interface LocalEndpoints {
  /** Base URL of the SQS endpoint: queue URLs are `<base>/<account>/<name>`. */
  readonly sqs: string;
  /** The local base URL (`http://127.0.0.1:3000`, `ws://127.0.0.1:3001`) of an API, by API id. */
  readonly api: (apiId: string, protocol: 'https' | 'wss') => string | undefined;
}

export interface ReadOptions {
  readonly env: LocalEnvironment;
  readonly endpoints: LocalEndpoints;
  /** Only these stacks (by name); all by default. */
  readonly stacks?: readonly string[];
}

interface Manifest {
  readonly artifacts: Record<string, { readonly type: string; readonly properties?: { readonly templateFile?: string }; readonly dependencies?: readonly string[] }>;
}

type Resource = NonNullable<Template['Resources']>[string];

const EXECUTE_API_URL = /(https|wss):\/\/([a-z0-9]{10})\.execute-api\.[a-z0-9-]+\.amazonaws\.com/g;

/**
 * Reads a cloud assembly (`cdk.out`) into the model the local cloud serves. Stacks are read in
 * dependency order; every intrinsic is resolved against the local identities of all stacks.
 */
export function readAssembly(dir: string, options: ReadOptions): CloudModel {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const stackArtifacts = Object.entries(manifest.artifacts)
    .filter(([name, a]) => a.type === 'aws:cloudformation:stack' && (!options.stacks || options.stacks.includes(name)))
    .map(([name, a]) => ({ name, template: JSON.parse(readFileSync(join(dir, a.properties!.templateFile!), 'utf8')) as Template }));

  const stacks = new Map<string, StackScope>();
  for (const { name, template } of stackArtifacts) {
    const identities = new Map<string, ResourceIdentity>();
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      identities.set(logicalId, identityOf(resource.Type, logicalId, resource.Properties ?? {}, { env: options.env, stackName: name, sqsEndpoint: options.endpoints.sqs }));
    }
    stacks.set(name, { stackName: name, template, identities });
  }
  const scope: AssemblyScope = {
    env: options.env,
    stacks,
    rewrite: (value) => value.replace(EXECUTE_API_URL, (url, protocol: 'https' | 'wss', apiId: string) => options.endpoints.api(apiId, protocol) ?? url),
  };

  const model = {
    env: options.env,
    stacks: [...stacks.keys()],
    functions: [] as FunctionModel[],
    restApis: [] as RestApiModel[],
    apiKeys: [] as ApiKeyModel[],
    usagePlans: [] as UsagePlanModel[],
    usagePlanKeys: [] as UsagePlanKeyModel[],
    webSocketApis: [] as WebSocketApiModel[],
    tables: [] as TableModel[],
    secrets: [] as SecretModel[],
    queues: [] as QueueModel[],
    eventSourceMappings: [] as EventSourceMappingModel[],
    buckets: [] as BucketModel[],
    buses: [] as EventBusModel[],
    rules: [] as EventRuleModel[],
    subscriptionFilters: [] as SubscriptionFilterModel[],
    unsupported: [] as UnsupportedResource[],
    outputs: {} as Record<string, Record<string, string>>,
  };

  const invokeConfigs: { functionName: string; qualifier: string; config: AsyncInvokeConfigModel }[] = [];
  for (const stack of stacks.values()) {
    const reader = new StackReader(dir, stack, scope);
    const providers = customResourceProviders(stack.template);
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      switch (resource.Type) {
        case 'AWS::Lambda::Function':
          // Functions behind custom resources do deploy-time work (bucket notifications, log
          // retention) that the local cloud does itself from the template.
          if (!providers.has(logicalId)) model.functions.push(reader.function(logicalId, resource));
          break;
        case 'AWS::SQS::Queue':
          model.queues.push(reader.queue(logicalId, resource));
          break;
        case 'AWS::Lambda::EventSourceMapping':
          model.eventSourceMappings.push(reader.eventSourceMapping(logicalId, resource));
          break;
        case 'AWS::S3::Bucket':
          model.buckets.push(reader.bucket(logicalId, resource));
          break;
        case 'Custom::S3BucketNotifications':
          reader.bucketNotifications(resource, model.buckets);
          break;
        case 'AWS::ApiGateway::RestApi':
          model.restApis.push(reader.restApi(logicalId, resource));
          break;
        case 'AWS::ApiGateway::ApiKey':
          model.apiKeys.push(reader.apiKey(logicalId, resource));
          break;
        case 'AWS::ApiGateway::UsagePlan':
          model.usagePlans.push(reader.usagePlan(logicalId, resource));
          break;
        case 'AWS::ApiGateway::UsagePlanKey':
          model.usagePlanKeys.push(reader.usagePlanKey(resource));
          break;
        case 'AWS::ApiGatewayV2::Api':
          if (resource.Properties?.['ProtocolType'] === 'WEBSOCKET') model.webSocketApis.push(reader.webSocketApi(logicalId, resource));
          else model.unsupported.push({ stackName: stack.stackName, logicalId, type: `${resource.Type} (HTTP API)` });
          break;
        case 'AWS::DynamoDB::Table':
        case 'AWS::DynamoDB::GlobalTable':
          model.tables.push(reader.table(logicalId, resource));
          break;
        case 'AWS::SecretsManager::Secret':
          model.secrets.push(reader.secret(logicalId, resource));
          break;
        case 'AWS::Events::EventBus':
          model.buses.push({ logicalId, name: stack.identities.get(logicalId)!.ref, arn: stack.identities.get(logicalId)!.attributes['Arn']! });
          break;
        case 'AWS::Events::Rule':
          model.rules.push(reader.rule(logicalId, resource));
          break;
        case 'AWS::Logs::SubscriptionFilter': {
          const filter = reader.subscriptionFilter(logicalId, resource);
          // Only Lambda destinations are served; Kinesis, Firehose and cross-account ones are named at start.
          if (/^arn:[^:]+:lambda:/.test(filter.destinationArn)) model.subscriptionFilters.push(filter);
          else model.unsupported.push({ stackName: stack.stackName, logicalId, type: `${resource.Type} (destination ${filter.destinationArn.split(':')[2] ?? 'unknown'})` });
          break;
        }
        case 'AWS::Lambda::EventInvokeConfig':
          invokeConfigs.push(reader.eventInvokeConfig(resource));
          break;
        default:
          if (!KNOWN_TYPES.has(resource.Type) && !INERT_TYPES.has(resource.Type) && !resource.Type.startsWith('Custom::')) {
            model.unsupported.push({ stackName: stack.stackName, logicalId, type: resource.Type });
          }
      }
    }
    model.outputs[stack.stackName] = reader.outputs();
  }
  // Only `$LATEST` runs locally, so its configuration wins; one for an alias or version applies when it is the only one.
  const byPreference = [...invokeConfigs].sort((a, b) => Number(b.qualifier === '$LATEST') - Number(a.qualifier === '$LATEST'));
  model.functions = model.functions.map((fn) => {
    const found = byPreference.find((c) => (/:function:([^:/]+)/.exec(c.functionName)?.[1] ?? c.functionName) === fn.functionName);
    return found ? { ...fn, asyncInvoke: found.config } : fn;
  });
  return model;
}

/** Functions named as the `ServiceToken` of a custom resource: CDK's deploy-time providers. */
function customResourceProviders(template: Template): Set<string> {
  const providers = new Set<string>();
  for (const resource of Object.values(template.Resources ?? {})) {
    if (!resource.Type.startsWith('Custom::') && resource.Type !== 'AWS::CloudFormation::CustomResource') continue;
    const token = resource.Properties?.['ServiceToken'] as { 'Fn::GetAtt'?: unknown[] } | undefined;
    const target = token?.['Fn::GetAtt']?.[0];
    if (typeof target === 'string') providers.add(target);
  }
  return providers;
}

/** Reads the resources of one stack. */
class StackReader {
  private readonly resources: Record<string, Resource>;

  constructor(
    private readonly dir: string,
    private readonly stack: StackScope,
    private readonly scope: AssemblyScope,
  ) {
    this.resources = stack.template.Resources ?? {};
  }

  private resolve(value: unknown): unknown {
    return resolveValue(value, this.stack.stackName, this.scope);
  }

  private string(value: unknown): string {
    return resolveString(value, this.stack.stackName, this.scope);
  }

  private id(logicalId: string): ResourceIdentity {
    return this.stack.identities.get(logicalId)!;
  }

  /** The logical id a `{ Ref: X }` or `{ Fn::GetAtt: [X, ...] }` points at. */
  private target(value: unknown): string | undefined {
    if (!value || typeof value !== 'object') return undefined;
    const v = value as Record<string, unknown>;
    if (typeof v['Ref'] === 'string') return v['Ref'];
    const att = v['Fn::GetAtt'];
    if (Array.isArray(att)) return String(att[0]);
    return undefined;
  }

  private ofType(type: string): [string, Resource][] {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type);
  }

  function(logicalId: string, resource: Resource): FunctionModel {
    const props = resource.Properties ?? {};
    const identity = this.id(logicalId);
    const code = props['Code'] as { S3Key?: unknown; ZipFile?: unknown } | undefined;
    const key = typeof code?.S3Key === 'string' ? code.S3Key : '';
    const codeDir = join(this.dir, `asset.${key.replace(/\.zip$/, '')}`);
    const environment: Record<string, string> = {};
    const unresolved: { name: string; reason: string }[] = [];
    const variables = ((props['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
    for (const [name, value] of Object.entries(variables)) {
      try {
        environment[name] = this.string(value);
      } catch (error) {
        unresolved.push({ name, reason: error instanceof UnresolvableError ? error.message : String(error) });
      }
    }
    if (!key || !existsSync(codeDir)) unresolved.push({ name: '(code)', reason: `no bundled asset for ${logicalId} (inline code is not supported locally)` });
    const logGroup = this.optionalString((props['LoggingConfig'] as { LogGroup?: unknown } | undefined)?.LogGroup);
    const deadLetterArn = this.optionalString((props['DeadLetterConfig'] as { TargetArn?: unknown } | undefined)?.TargetArn);
    return {
      logicalId,
      stackName: this.stack.stackName,
      constructPath: (resource as { Metadata?: Record<string, string> }).Metadata?.['aws:cdk:path'] ?? `${this.stack.stackName}/${logicalId}`,
      functionName: identity.ref,
      arn: identity.attributes['Arn']!,
      handler: typeof props['Handler'] === 'string' ? props['Handler'] : 'index.handler',
      codeDir,
      runtime: String(props['Runtime'] ?? 'nodejs'),
      timeoutSeconds: Number(props['Timeout'] ?? 3),
      memoryMb: Number(props['MemorySize'] ?? 128),
      environment,
      unresolved,
      logGroupName: logGroup ?? `/aws/lambda/${identity.ref}`,
      ...(deadLetterArn ? { deadLetterArn } : {}),
    };
  }

  /** A string property resolved, or undefined when absent or not resolvable locally. */
  private optionalString(value: unknown): string | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    try {
      return this.string(value);
    } catch {
      return undefined;
    }
  }

  subscriptionFilter(logicalId: string, resource: Resource): SubscriptionFilterModel {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, unknown>;
    return {
      logicalId,
      stackName: this.stack.stackName,
      name: this.id(logicalId).ref,
      logGroupName: String(p['LogGroupName']),
      filterPattern: typeof p['FilterPattern'] === 'string' ? p['FilterPattern'] : '',
      destinationArn: String(p['DestinationArn']),
    };
  }

  /** An `AWS::Lambda::EventInvokeConfig`, with the function (name or ARN) and qualifier it applies to. */
  eventInvokeConfig(resource: Resource): { functionName: string; qualifier: string; config: AsyncInvokeConfigModel } {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, any>;
    const destinations = (p['DestinationConfig'] ?? {}) as Record<string, { Destination?: unknown } | undefined>;
    const onSuccess = destinations['OnSuccess']?.Destination;
    const onFailure = destinations['OnFailure']?.Destination;
    return {
      functionName: String(p['FunctionName']),
      qualifier: String(p['Qualifier'] ?? '$LATEST'),
      config: {
        ...(p['MaximumRetryAttempts'] !== undefined ? { maximumRetryAttempts: Number(p['MaximumRetryAttempts']) } : {}),
        ...(p['MaximumEventAgeInSeconds'] !== undefined ? { maximumEventAgeSeconds: Number(p['MaximumEventAgeInSeconds']) } : {}),
        ...(typeof onSuccess === 'string' && onSuccess ? { onSuccessArn: onSuccess } : {}),
        ...(typeof onFailure === 'string' && onFailure ? { onFailureArn: onFailure } : {}),
      },
    };
  }

  /** The function ARN inside an API Gateway integration or authorizer URI. */
  private functionArnOfUri(uri: unknown): string {
    const resolved = this.string(uri);
    const match = /functions\/(arn:[^/]+)\/invocations/.exec(resolved);
    if (!match?.[1]) throw new UnresolvableError(`not a Lambda integration URI: ${resolved}`);
    return match[1];
  }

  restApi(logicalId: string, resource: Resource): RestApiModel {
    const identity = this.id(logicalId);
    const belongs = (r: Resource) => this.target(r.Properties?.['RestApiId']) === logicalId;

    const paths = new Map<string, string>([[identity.attributes['RootResourceId']!, '/']]);
    const pathOf = (ref: unknown): string => {
      const target = this.target(ref);
      if (!target) {
        // `Fn::GetAtt [RestApi, RootResourceId]` resolves through the identity.
        const value = this.string(ref);
        return paths.get(value) ?? '/';
      }
      if (target === logicalId) return '/';
      const known = paths.get(target);
      if (known) return known;
      const child = this.resources[target]!;
      const parent = pathOf(child.Properties?.['ParentId']);
      const path = `${parent === '/' ? '' : parent}/${String(child.Properties?.['PathPart'])}`;
      paths.set(target, path);
      return path;
    };

    const authorizers: RestAuthorizerModel[] = this.ofType('AWS::ApiGateway::Authorizer')
      .filter(([, r]) => belongs(r))
      .map(([id, r]) => {
        const p = r.Properties ?? {};
        return {
          id,
          name: String(p['Name'] ?? id),
          type: p['Type'] === 'REQUEST' ? 'REQUEST' : 'TOKEN',
          functionArn: this.functionArnOfUri(p['AuthorizerUri']),
          identitySource: String(p['IdentitySource'] ?? 'method.request.header.Authorization'),
          ...(typeof p['IdentityValidationExpression'] === 'string' ? { identityValidationExpression: p['IdentityValidationExpression'] } : {}),
          resultTtlSeconds: Number(p['AuthorizerResultTtlInSeconds'] ?? 300),
        };
      });

    const byPath = new Map<string, RestResourceModel['methods'][number][]>();
    for (const [, method] of this.ofType('AWS::ApiGateway::Method').filter(([, r]) => belongs(r))) {
      const p = method.Properties ?? {};
      const path = pathOf(p['ResourceId']);
      const authorizerId = this.target(p['AuthorizerId']);
      const list = byPath.get(path) ?? [];
      list.push({
        httpMethod: String(p['HttpMethod']) as HttpMethod,
        authorizationType: String(p['AuthorizationType'] ?? 'NONE'),
        ...(authorizerId ? { authorizerId } : {}),
        apiKeyRequired: p['ApiKeyRequired'] === true,
        ...(typeof p['OperationName'] === 'string' ? { operationName: p['OperationName'] } : {}),
        integration: this.integration(p['Integration'] as Record<string, unknown> | undefined),
      });
      byPath.set(path, list);
    }

    const gatewayResponses: GatewayResponseModel[] = this.ofType('AWS::ApiGateway::GatewayResponse')
      .filter(([, r]) => belongs(r))
      .map(([, r]) => {
        const p = r.Properties ?? {};
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries((p['ResponseParameters'] ?? {}) as Record<string, unknown>)) {
          const header = key.replace(/^gatewayresponse\.header\./, '');
          headers[header] = unquote(this.string(value));
        }
        const template = (p['ResponseTemplates'] as Record<string, string> | undefined)?.['application/json'];
        return {
          responseType: String(p['ResponseType']),
          ...(p['StatusCode'] !== undefined ? { statusCode: Number(this.string(p['StatusCode'])) } : {}),
          headers,
          ...(template ? { template } : {}),
        };
      });

    const stage = this.ofType('AWS::ApiGateway::Stage').find(([, r]) => belongs(r))?.[1]?.Properties ?? {};
    const settings = ((stage['MethodSettings'] ?? []) as Record<string, unknown>[]).find((s) => s['HttpMethod'] === '*' && s['ResourcePath'] === '/*');
    const props = resource.Properties ?? {};
    return {
      logicalId,
      stackName: this.stack.stackName,
      name: String(props['Name'] ?? logicalId),
      apiId: identity.ref,
      stageName: String(stage['StageName'] ?? 'prod'),
      resources: [...byPath.entries()].map(([path, methods]) => ({ path, methods })),
      authorizers,
      gatewayResponses,
      ...(settings && settings['ThrottlingRateLimit'] !== undefined
        ? { throttle: { rateLimit: Number(settings['ThrottlingRateLimit']), burstLimit: Number(settings['ThrottlingBurstLimit'] ?? settings['ThrottlingRateLimit']) } }
        : {}),
      binaryMediaTypes: ((props['BinaryMediaTypes'] ?? []) as string[]).map(String),
      apiKeySource: props['ApiKeySourceType'] === 'AUTHORIZER' ? 'AUTHORIZER' : 'HEADER',
    };
  }

  apiKey(logicalId: string, resource: Resource): ApiKeyModel {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, unknown>;
    return {
      logicalId,
      stackName: this.stack.stackName,
      // CloudFormation names a key it was given no name for after the stack and logical id.
      name: typeof p['Name'] === 'string' && p['Name'] ? p['Name'] : `${this.stack.stackName}-${logicalId}`,
      id: this.id(logicalId).ref,
      enabled: p['Enabled'] === true || p['Enabled'] === 'true',
      ...(typeof p['Value'] === 'string' && p['Value'] ? { value: p['Value'] } : {}),
    };
  }

  usagePlan(logicalId: string, resource: Resource): UsagePlanModel {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, any>;
    const quota = p['Quota'] as Record<string, unknown> | undefined;
    const period = String(quota?.['Period'] ?? '').toUpperCase();
    return {
      logicalId,
      stackName: this.stack.stackName,
      name: typeof p['UsagePlanName'] === 'string' ? p['UsagePlanName'] : `${this.stack.stackName}-${logicalId}`,
      id: this.id(logicalId).ref,
      apiStages: ((p['ApiStages'] ?? []) as Record<string, unknown>[]).map((stage) => ({
        apiId: String(stage['ApiId']),
        stage: String(stage['Stage']),
        methodThrottles: Object.fromEntries(
          Object.entries((stage['Throttle'] ?? {}) as Record<string, Record<string, unknown>>).flatMap(([path, settings]) => {
            const throttle = throttleOf(settings);
            return throttle ? [[methodThrottleKey(path), throttle]] : [];
          }),
        ),
      })),
      ...(throttleOf(p['Throttle']) ? { throttle: throttleOf(p['Throttle'])! } : {}),
      ...(quota?.['Limit'] !== undefined && (period === 'DAY' || period === 'WEEK' || period === 'MONTH')
        ? { quota: { limit: Number(quota['Limit']), period, offset: Number(quota['Offset'] ?? 0) } }
        : {}),
    };
  }

  usagePlanKey(resource: Resource): UsagePlanKeyModel {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, unknown>;
    return { keyId: String(p['KeyId']), usagePlanId: String(p['UsagePlanId']) };
  }

  private integration(integration: Record<string, unknown> | undefined): IntegrationModel {
    const type = String(integration?.['Type'] ?? 'MOCK');
    if (type === 'AWS_PROXY') {
      return { type, functionArn: this.functionArnOfUri(integration!['Uri']), timeoutMs: Number(integration!['TimeoutInMillis'] ?? 29_000) };
    }
    const response = ((integration?.['IntegrationResponses'] ?? []) as Record<string, unknown>[])[0] ?? {};
    const responseHeaders: Record<string, string> = {};
    for (const [key, value] of Object.entries((response['ResponseParameters'] ?? {}) as Record<string, unknown>)) {
      responseHeaders[key.replace(/^method\.response\.header\./, '')] = unquote(this.string(value));
    }
    const template = (response['ResponseTemplates'] as Record<string, string> | undefined)?.['application/json'] ?? '';
    // CDK answers the first origin statically and overrides it, in VTL, for the others.
    const origins = [...template.matchAll(/\$origin == "([^"]+)"/g)].map((m) => m[1]!).filter(Boolean);
    const first = responseHeaders['Access-Control-Allow-Origin'];
    return {
      type: 'MOCK',
      statusCode: Number(response['StatusCode'] ?? 200),
      responseHeaders,
      ...(origins.length ? { allowedOrigins: [...new Set([...(first ? [first] : []), ...origins])] } : {}),
    };
  }

  webSocketApi(logicalId: string, resource: Resource): WebSocketApiModel {
    const identity = this.id(logicalId);
    const props = resource.Properties ?? {};
    const belongs = (r: Resource) => this.target(r.Properties?.['ApiId']) === logicalId;
    const integrations = new Map(
      this.ofType('AWS::ApiGatewayV2::Integration')
        .filter(([, r]) => belongs(r))
        .map(([id, r]) => [id, r.Properties ?? {}] as const),
    );
    const authorizers = new Map(
      this.ofType('AWS::ApiGatewayV2::Authorizer')
        .filter(([, r]) => belongs(r))
        .map(([id, r]) => [id, r.Properties ?? {}] as const),
    );
    const routes: WebSocketApiModel['routes'][number][] = [];
    let connectAuthorizer: WebSocketApiModel['connectAuthorizer'];
    for (const [, route] of this.ofType('AWS::ApiGatewayV2::Route').filter(([, r]) => belongs(r))) {
      const p = route.Properties ?? {};
      const routeKey = String(p['RouteKey']);
      const targetValue = p['Target'];
      const integrationId = findLogicalId(targetValue, integrations);
      const integration = integrationId ? integrations.get(integrationId) : undefined;
      if (integration) {
        routes.push({ routeKey, functionArn: this.functionArnOfUri(integration['IntegrationUri']), timeoutMs: Number(integration['TimeoutInMillis'] ?? 29_000) });
      }
      const authorizerId = this.target(p['AuthorizerId']);
      const authorizer = authorizerId ? authorizers.get(authorizerId) : undefined;
      if (routeKey === '$connect' && authorizer) {
        connectAuthorizer = {
          functionArn: this.functionArnOfUri(authorizer['AuthorizerUri']),
          identitySource: ((authorizer['IdentitySource'] ?? []) as unknown[]).map(String),
        };
      }
    }
    const stage = this.ofType('AWS::ApiGatewayV2::Stage').find(([, r]) => belongs(r))?.[1]?.Properties ?? {};
    const throttle = stage['DefaultRouteSettings'] as Record<string, unknown> | undefined;
    return {
      logicalId,
      stackName: this.stack.stackName,
      name: String(props['Name'] ?? logicalId),
      apiId: identity.ref,
      stageName: String(stage['StageName'] ?? 'production'),
      routeSelectionExpression: String(props['RouteSelectionExpression'] ?? '$request.body.action'),
      routes,
      ...(connectAuthorizer ? { connectAuthorizer } : {}),
      ...(throttle?.['ThrottlingRateLimit'] !== undefined
        ? { throttle: { rateLimit: Number(throttle['ThrottlingRateLimit']), burstLimit: Number(throttle['ThrottlingBurstLimit'] ?? throttle['ThrottlingRateLimit']) } }
        : {}),
    };
  }

  table(logicalId: string, resource: Resource): TableModel {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, any>;
    const identity = this.id(logicalId);
    const ttl = p['TimeToLiveSpecification'] as { AttributeName?: string; Enabled?: boolean } | undefined;
    const stream = p['StreamSpecification'] as { StreamViewType?: string } | undefined;
    return {
      logicalId,
      stackName: this.stack.stackName,
      name: identity.ref,
      arn: identity.attributes['Arn']!,
      keySchema: p['KeySchema'] ?? [],
      attributeDefinitions: p['AttributeDefinitions'] ?? [],
      globalSecondaryIndexes: (p['GlobalSecondaryIndexes'] ?? []).map((index: Record<string, unknown>) => ({
        IndexName: index['IndexName'],
        KeySchema: index['KeySchema'],
        Projection: index['Projection'],
      })),
      localSecondaryIndexes: p['LocalSecondaryIndexes'] ?? [],
      ...(ttl && ttl.Enabled !== false && ttl.AttributeName ? { ttlAttribute: ttl.AttributeName } : {}),
      ...(stream?.StreamViewType ? { streamViewType: stream.StreamViewType } : {}),
    };
  }

  secret(logicalId: string, resource: Resource): SecretModel {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, any>;
    const identity = this.id(logicalId);
    const g = p['GenerateSecretString'] as Record<string, unknown> | undefined;
    return {
      logicalId,
      stackName: this.stack.stackName,
      name: typeof p['Name'] === 'string' ? p['Name'] : `${this.stack.stackName}-${logicalId}`,
      arn: identity.ref,
      ...(typeof p['SecretString'] === 'string' ? { secretString: p['SecretString'] } : {}),
      ...(g
        ? {
            generate: {
              passwordLength: Number(g['PasswordLength'] ?? 32),
              excludeCharacters: String(g['ExcludeCharacters'] ?? ''),
              excludePunctuation: g['ExcludePunctuation'] === true,
              excludeUppercase: g['ExcludeUppercase'] === true,
              excludeLowercase: g['ExcludeLowercase'] === true,
              excludeNumbers: g['ExcludeNumbers'] === true,
              includeSpace: g['IncludeSpace'] === true,
              ...(typeof g['SecretStringTemplate'] === 'string' ? { secretStringTemplate: g['SecretStringTemplate'] } : {}),
              ...(typeof g['GenerateStringKey'] === 'string' ? { generateStringKey: g['GenerateStringKey'] } : {}),
            },
          }
        : {}),
    };
  }

  rule(logicalId: string, resource: Resource): EventRuleModel {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, any>;
    const identity = this.id(logicalId);
    const busName = typeof p['EventBusName'] === 'string' ? p['EventBusName'].replace(/^arn:.*:event-bus\//, '') : 'default';
    return {
      logicalId,
      name: identity.ref,
      arn: identity.attributes['Arn']!,
      busName,
      state: p['State'] === 'DISABLED' ? 'DISABLED' : 'ENABLED',
      ...(p['EventPattern'] !== undefined ? { eventPattern: typeof p['EventPattern'] === 'string' ? JSON.parse(p['EventPattern']) : p['EventPattern'] } : {}),
      ...(typeof p['ScheduleExpression'] === 'string' ? { scheduleExpression: p['ScheduleExpression'] } : {}),
      targets: ((p['Targets'] ?? []) as Record<string, any>[]).map((t) => ({
        id: String(t['Id']),
        arn: String(t['Arn']),
        ...(typeof t['Input'] === 'string' ? { input: t['Input'] } : {}),
        ...(typeof t['InputPath'] === 'string' ? { inputPath: t['InputPath'] } : {}),
        ...(t['InputTransformer']
          ? { inputTransformer: { inputTemplate: String(t['InputTransformer']['InputTemplate']), ...(t['InputTransformer']['InputPathsMap'] ? { inputPathsMap: t['InputTransformer']['InputPathsMap'] } : {}) } }
          : {}),
        ...(t['SqsParameters']?.['MessageGroupId'] ? { messageGroupId: String(t['SqsParameters']['MessageGroupId']) } : {}),
        ...(t['DeadLetterConfig']?.['Arn'] ? { deadLetterArn: String(t['DeadLetterConfig']['Arn']) } : {}),
        ...(t['RetryPolicy']?.['MaximumRetryAttempts'] !== undefined ? { maximumRetryAttempts: Number(t['RetryPolicy']['MaximumRetryAttempts']) } : {}),
        ...(t['RetryPolicy']?.['MaximumEventAgeInSeconds'] !== undefined ? { maximumEventAgeSeconds: Number(t['RetryPolicy']['MaximumEventAgeInSeconds']) } : {}),
      })),
    };
  }

  queue(logicalId: string, resource: Resource): QueueModel {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, any>;
    const identity = this.id(logicalId);
    const redrive = typeof p['RedrivePolicy'] === 'string' ? JSON.parse(p['RedrivePolicy']) : p['RedrivePolicy'];
    const flag = (v: unknown) => v === true || v === 'true';
    return {
      logicalId,
      stackName: this.stack.stackName,
      name: identity.attributes['QueueName']!,
      arn: identity.attributes['Arn']!,
      url: identity.ref,
      fifo: flag(p['FifoQueue']),
      contentBasedDeduplication: flag(p['ContentBasedDeduplication']),
      visibilityTimeoutSeconds: Number(p['VisibilityTimeout'] ?? 30),
      messageRetentionSeconds: Number(p['MessageRetentionPeriod'] ?? 345_600),
      delaySeconds: Number(p['DelaySeconds'] ?? 0),
      receiveWaitTimeSeconds: Number(p['ReceiveMessageWaitTimeSeconds'] ?? 0),
      ...(redrive?.deadLetterTargetArn ? { redrive: { deadLetterArn: String(redrive.deadLetterTargetArn), maxReceiveCount: Number(redrive.maxReceiveCount) } } : {}),
      ...(typeof p['DeduplicationScope'] === 'string' ? { deduplicationScope: p['DeduplicationScope'] } : {}),
      ...(typeof p['FifoThroughputLimit'] === 'string' ? { fifoThroughputLimit: p['FifoThroughputLimit'] } : {}),
    };
  }

  eventSourceMapping(logicalId: string, resource: Resource): EventSourceMappingModel {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, any>;
    const functionName = String(p['FunctionName']);
    const { region, account } = this.scope.env;
    return {
      logicalId,
      functionArn: functionName.startsWith('arn:') ? functionName : `arn:aws:lambda:${region}:${account}:function:${functionName}`,
      eventSourceArn: String(p['EventSourceArn']),
      batchSize: Number(p['BatchSize'] ?? 10),
      maximumBatchingWindowSeconds: Number(p['MaximumBatchingWindowInSeconds'] ?? 0),
      reportBatchItemFailures: ((p['FunctionResponseTypes'] ?? []) as string[]).includes('ReportBatchItemFailures'),
      ...(p['ScalingConfig']?.['MaximumConcurrency'] !== undefined ? { maximumConcurrency: Number(p['ScalingConfig']['MaximumConcurrency']) } : {}),
      enabled: p['Enabled'] !== false,
      filterPatterns: ((p['FilterCriteria']?.['Filters'] ?? []) as { Pattern?: string }[]).map((f) => JSON.parse(f.Pattern ?? '{}')),
    };
  }

  bucket(logicalId: string, resource: Resource): BucketModel {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, any>;
    const identity = this.id(logicalId);
    const notifications = (p['NotificationConfiguration'] ?? {}) as Record<string, any>;
    return {
      logicalId,
      stackName: this.stack.stackName,
      name: identity.ref,
      arn: identity.attributes['Arn']!,
      eventBridgeEnabled: notifications['EventBridgeConfiguration']?.['EventBridgeEnabled'] === true,
      lambdaNotifications: notificationTargets(notifications['LambdaConfigurations'], 'Function'),
      queueNotifications: notificationTargets(notifications['QueueConfigurations'], 'Queue'),
      corsRules: p['CorsConfiguration']?.['CorsRules'] ?? [],
      versioned: p['VersioningConfiguration']?.['Status'] === 'Enabled',
    };
  }

  /** CDK configures notifications through a custom resource; its settings land on the bucket they name. */
  bucketNotifications(resource: Resource, buckets: BucketModel[]): void {
    const p = (this.resolve(resource.Properties ?? {}) ?? {}) as Record<string, any>;
    const index = buckets.findIndex((b) => b.name === p['BucketName']);
    if (index === -1) return;
    const configuration = (p['NotificationConfiguration'] ?? {}) as Record<string, any>;
    const bucket = buckets[index]!;
    buckets[index] = {
      ...bucket,
      eventBridgeEnabled: bucket.eventBridgeEnabled || configuration['EventBridgeConfiguration'] !== undefined,
      lambdaNotifications: [...bucket.lambdaNotifications, ...notificationTargets(configuration['LambdaFunctionConfigurations'], 'LambdaFunction')],
      queueNotifications: [...bucket.queueNotifications, ...notificationTargets(configuration['QueueConfigurations'], 'Queue')],
    };
  }

  outputs(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, output] of Object.entries(this.stack.template.Outputs ?? {})) {
      try {
        out[name] = this.string(output.Value);
      } catch {
        // An output with no local value (a parameter without default, say) is left out.
      }
    }
    return out;
  }
}

/** S3 notification configurations (`QueueConfigurations`, `LambdaConfigurations`...) as targets. */
function notificationTargets(configurations: unknown, arnKey: 'Queue' | 'Function' | 'LambdaFunction'): BucketNotificationTarget[] {
  return ((configurations ?? []) as Record<string, any>[]).map((c) => {
    const rules = ((c['Filter']?.['S3Key']?.['Rules'] ?? c['Filter']?.['Key']?.['FilterRules'] ?? []) as { Name: string; Value: string }[]);
    const rule = (name: string) => rules.find((r) => r.Name.toLowerCase() === name)?.Value;
    const prefix = rule('prefix');
    const suffix = rule('suffix');
    return {
      arn: String(c[`${arnKey}Arn`] ?? c['Arn']),
      events: c['Events'] ? (c['Events'] as string[]) : [String(c['Event'])],
      ...(prefix ? { prefix } : {}),
      ...(suffix ? { suffix } : {}),
    };
  });
}

/** A usage plan's `{ RateLimit, BurstLimit }`; a missing burst is taken to be the rate. */
function throttleOf(settings: unknown): ThrottleModel | undefined {
  if (!settings || typeof settings !== 'object') return undefined;
  const s = settings as Record<string, unknown>;
  if (s['RateLimit'] === undefined && s['BurstLimit'] === undefined) return undefined;
  const rateLimit = Number(s['RateLimit'] ?? s['BurstLimit']);
  return { rateLimit, burstLimit: Number(s['BurstLimit'] ?? rateLimit) };
}

/** `/items/GET` as the template writes it; CDK writes the root resource's methods as `//GET`, API Gateway as `/GET`. */
function methodThrottleKey(path: string): string {
  return path.replace(/^\/\//, '/');
}

/** `'application/json'` → `application/json`: API Gateway writes static mapping values in single quotes. */
function unquote(value: string): string {
  return /^'.*'$/s.test(value) ? value.slice(1, -1) : value;
}

/** Finds which of `candidates` a value like `{ Fn::Join: ['', ['integrations/', { Ref: X }]] }` names. */
function findLogicalId(value: unknown, candidates: ReadonlyMap<string, unknown>): string | undefined {
  const text = JSON.stringify(value ?? '');
  for (const id of candidates.keys()) if (text.includes(`"${id}"`)) return id;
  return undefined;
}
