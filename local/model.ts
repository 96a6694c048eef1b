/**
 * The local cloud's view of a synthesized CDK app: what `local/assembly` reads out of
 * `cdk.out`, with every intrinsic already resolved to a local name, ARN or URL. Services and
 * gateways are built from this model only; none of them knows anything of Switchyard's domains.
 */

/** The account and region every local ARN and URL uses. */
export interface LocalEnvironment {
  readonly account: string;
  readonly region: string;
}

export const DEFAULT_ENVIRONMENT: LocalEnvironment = { account: '000000000000', region: 'us-east-1' };

/** What every resource the model names has: where it is declared and its local physical name. */
export interface StackResource {
  /** CloudFormation logical id, unique within its stack. */
  readonly logicalId: string;
  readonly stackName: string;
  /** The local physical name. */
  readonly name: string;
}

/** A Lambda function with its bundle. */
export interface FunctionModel {
  /** CloudFormation logical id, unique within its stack. */
  readonly logicalId: string;
  readonly stackName: string;
  /** The CDK construct path, e.g. `switchyard-dev-service/GetHealth/Resource`. */
  readonly constructPath: string;
  /** The local physical name (what `AWS_LAMBDA_FUNCTION_NAME` says). */
  readonly functionName: string;
  readonly arn: string;
  /** `index.handler`: the module file (without extension) and the export. */
  readonly handler: string;
  /** Absolute path of the asset folder holding the bundle. */
  readonly codeDir: string;
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Resolved environment; values that could not be resolved are listed in `unresolved`. */
  readonly environment: Readonly<Record<string, string>>;
  /** Variables whose value could not be resolved, with why; invoking the function fails naming them. */
  readonly unresolved: readonly { readonly name: string; readonly reason: string }[];
  /**
   * The log group its output goes to (`LoggingConfig.LogGroup`).
   * @default `/aws/lambda/<functionName>`
   */
  readonly logGroupName?: string;
  /** How Lambda handles its asynchronous invocations (`AWS::Lambda::EventInvokeConfig`); Lambda's defaults when absent. */
  readonly asyncInvoke?: AsyncInvokeConfigModel;
  /** `DeadLetterConfig.TargetArn`: an SQS queue (or SNS topic) that gets events whose asynchronous invocation failed. */
  readonly deadLetterArn?: string;
}

/** A function's `AWS::Lambda::EventInvokeConfig`: retries, event age and destinations of asynchronous invocations. */
export interface AsyncInvokeConfigModel {
  /** 0 to 2. @default 2 */
  readonly maximumRetryAttempts?: number;
  /** 60 to 21600. @default 21600 (6 hours) */
  readonly maximumEventAgeSeconds?: number;
  /** Where the record of a successful invocation goes: an SQS queue, SNS topic, Lambda function or event bus ARN. */
  readonly onSuccessArn?: string;
  /** Where the record of an event that failed every attempt (or grew too old) goes. */
  readonly onFailureArn?: string;
}

/** An `AWS::Logs::SubscriptionFilter`: log events of a group that match a pattern, sent to a destination. */
export interface SubscriptionFilterModel {
  readonly logicalId: string;
  readonly stackName: string;
  /** `FilterName`, or the generated name (what the deliveries' `subscriptionFilters` say). */
  readonly name: string;
  readonly logGroupName: string;
  /** CloudWatch Logs filter pattern syntax; empty matches every event. */
  readonly filterPattern: string;
  /** A Lambda function ARN (the only destination served locally). */
  readonly destinationArn: string;
}

/** What an invocation produced, as Lambda reports it. */
export interface InvocationOutcome {
  readonly requestId: string;
  /** The handler's return value (JSON round-tripped), when it succeeded. */
  readonly result?: unknown;
  /** When it threw, timed out or crashed: Lambda's error shape. */
  readonly error?: { readonly errorType: string; readonly errorMessage: string; readonly trace?: readonly string[] };
  readonly durationMs: number;
  /** Set on a cold start. */
  readonly initDurationMs?: number;
}

/** Runs functions. Every gateway and event source goes through it. */
export interface LambdaInvoker {
  /**
   * Invokes a function synchronously and waits for its outcome.
   * @param target its ARN (a qualifier or `:invocations` suffix is ignored), name, or logical id
   */
  invoke(target: string, event: unknown): Promise<InvocationOutcome>;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS' | 'ANY';

/** A Lambda authorizer of a REST API. */
export interface RestAuthorizerModel {
  readonly id: string;
  readonly name: string;
  readonly type: 'TOKEN' | 'REQUEST';
  /** The authorizer function's ARN. */
  readonly functionArn: string;
  /** `method.request.header.Authorization`, `method.request.querystring.x`, ... (comma-separated for REQUEST). */
  readonly identitySource: string;
  readonly identityValidationExpression?: string;
  /** 0 disables caching. @default 300 */
  readonly resultTtlSeconds: number;
}

/** How a method is served. */
export type IntegrationModel =
  | { readonly type: 'AWS_PROXY'; readonly functionArn: string; readonly timeoutMs: number }
  | {
      /** CORS preflight methods CDK creates: a fixed response. */
      readonly type: 'MOCK';
      readonly statusCode: number;
      /** Response headers with static values (quotes removed). */
      readonly responseHeaders: Readonly<Record<string, string>>;
      /**
       * CDK's preflight for several origins answers with a VTL template that echoes an allowed
       * origin; the list is kept here so the gateway can do the same.
       */
      readonly allowedOrigins?: readonly string[];
    };

export interface RestMethodModel {
  readonly httpMethod: HttpMethod;
  /** `NONE`, `CUSTOM` (Lambda authorizer), `AWS_IAM`, `COGNITO_USER_POOLS`. */
  readonly authorizationType: string;
  readonly authorizerId?: string;
  readonly apiKeyRequired: boolean;
  readonly operationName?: string;
  readonly integration: IntegrationModel;
}

export interface RestResourceModel {
  /** Full path in API Gateway syntax: `/`, `/v1/links/{code}`, `/files/{proxy+}`. */
  readonly path: string;
  readonly methods: readonly RestMethodModel[];
}

/** A gateway response (API Gateway's own errors), with static headers and a VTL-lite template. */
export interface GatewayResponseModel {
  /** `UNAUTHORIZED`, `DEFAULT_4XX`, ... */
  readonly responseType: string;
  readonly statusCode?: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The `application/json` template; `$context.*` variables are substituted. */
  readonly template?: string;
}

/** A token bucket's settings: `burstLimit` requests at once, refilled at `rateLimit` a second. */
export interface ThrottleModel {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface RestApiModel extends StackResource {
  /** The local API id (10 lower-case characters, as API Gateway makes them). */
  readonly apiId: string;
  readonly stageName: string;
  readonly resources: readonly RestResourceModel[];
  readonly authorizers: readonly RestAuthorizerModel[];
  readonly gatewayResponses: readonly GatewayResponseModel[];
  readonly throttle?: ThrottleModel;
  readonly binaryMediaTypes: readonly string[];
  /**
   * Where a method requiring an API key finds it (`ApiKeySourceType`): the `x-api-key` header,
   * or the `usageIdentifierKey` its Lambda authorizer returns.
   * @default 'HEADER'
   */
  readonly apiKeySource?: 'HEADER' | 'AUTHORIZER';
}

/** An `AWS::ApiGateway::ApiKey`. */
export interface ApiKeyModel extends StackResource {
  /** The key id (its `Ref`), what `$context.identity.apiKeyId` says. */
  readonly id: string;
  readonly enabled: boolean;
  /** The template's `Value`; when absent API Gateway generates one (kept in the local state). */
  readonly value?: string;
}

/** The usage plan's settings for one API stage (`ApiStages`). */
export interface UsagePlanStageModel {
  readonly apiId: string;
  readonly stage: string;
  /**
   * Per-method throttles, by `<resource path>/<HTTP method>` (`/v1/items/GET`; the root
   * resource is `/GET`), replacing the plan's throttle for those methods.
   */
  readonly methodThrottles: Readonly<Record<string, ThrottleModel>>;
}

/** An `AWS::ApiGateway::UsagePlan`: per-key throttle and quota on the API stages it names. */
export interface UsagePlanModel extends StackResource {
  /** Its `Ref`. */
  readonly id: string;
  readonly apiStages: readonly UsagePlanStageModel[];
  /** Per key, a token bucket; none means only the stage and account limits apply. */
  readonly throttle?: ThrottleModel;
  /** Requests per key per period, periods aligned on UTC; `offset` is taken off the first period. */
  readonly quota?: { readonly limit: number; readonly period: 'DAY' | 'WEEK' | 'MONTH'; readonly offset: number };
}

/** An `AWS::ApiGateway::UsagePlanKey`: an API key admitted by a usage plan. */
export interface UsagePlanKeyModel {
  readonly keyId: string;
  readonly usagePlanId: string;
}

export interface WebSocketRouteModel {
  readonly routeKey: string;
  readonly functionArn: string;
  readonly timeoutMs: number;
}

export interface WebSocketApiModel extends StackResource {
  readonly apiId: string;
  readonly stageName: string;
  /** `$request.body.action` */
  readonly routeSelectionExpression: string;
  readonly routes: readonly WebSocketRouteModel[];
  /** The `$connect` route's REQUEST authorizer, if any. */
  readonly connectAuthorizer?: { readonly functionArn: string; readonly identitySource: readonly string[] };
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
}

export interface EventBusModel {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
}

/** Where a rule sends matching events, and how it shapes them (as `AWS::Events::Rule` Targets). */
export interface EventTargetModel {
  readonly id: string;
  /** A Lambda function ARN or an SQS queue ARN. */
  readonly arn: string;
  /** A constant JSON text sent instead of the event. */
  readonly input?: string;
  /** A JSONPath (`$.detail`) selecting the part of the event sent. */
  readonly inputPath?: string;
  readonly inputTransformer?: { readonly inputPathsMap?: Readonly<Record<string, string>>; readonly inputTemplate: string };
  /** For FIFO queue targets. */
  readonly messageGroupId?: string;
  /** An SQS queue ARN that receives events this target could not take after its retries. */
  readonly deadLetterArn?: string;
  /** @default 185 (EventBridge's default) */
  readonly maximumRetryAttempts?: number;
  /** @default 86400 */
  readonly maximumEventAgeSeconds?: number;
}

export interface EventRuleModel {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** The bus the rule listens on (`default` when the template names none). */
  readonly busName: string;
  readonly state: 'ENABLED' | 'DISABLED';
  /** An event pattern (parsed JSON), for event rules. */
  readonly eventPattern?: unknown;
  /** `rate(5 minutes)` or `cron(0 12 * * ? *)`, for schedule rules. */
  readonly scheduleExpression?: string;
  readonly targets: readonly EventTargetModel[];
}

/** A DynamoDB table as CreateTable wants it (a GlobalTable becomes one local table). */
export interface TableModel extends StackResource {
  readonly arn: string;
  readonly keySchema: readonly { readonly AttributeName: string; readonly KeyType: 'HASH' | 'RANGE' }[];
  readonly attributeDefinitions: readonly { readonly AttributeName: string; readonly AttributeType: 'S' | 'N' | 'B' }[];
  readonly globalSecondaryIndexes: readonly Record<string, unknown>[];
  readonly localSecondaryIndexes: readonly Record<string, unknown>[];
  readonly ttlAttribute?: string;
  readonly streamViewType?: string;
}

/** A Secrets Manager secret; generated values are made once and kept in the local state. */
export interface SecretModel extends StackResource {
  readonly arn: string;
  /** A literal `SecretString`, when the template gives one. */
  readonly secretString?: string;
  /** `GenerateSecretString` settings, when the value is to be generated. */
  readonly generate?: {
    readonly passwordLength: number;
    readonly excludeCharacters: string;
    readonly excludePunctuation: boolean;
    readonly excludeUppercase: boolean;
    readonly excludeLowercase: boolean;
    readonly excludeNumbers: boolean;
    readonly includeSpace: boolean;
    readonly secretStringTemplate?: string;
    readonly generateStringKey?: string;
  };
}

/** An SQS queue as CreateQueue wants it, with its redrive policy. */
export interface QueueModel extends StackResource {
  readonly arn: string;
  readonly url: string;
  readonly fifo: boolean;
  readonly contentBasedDeduplication: boolean;
  /** @default 30 */
  readonly visibilityTimeoutSeconds: number;
  /** @default 345600 (4 days) */
  readonly messageRetentionSeconds: number;
  readonly delaySeconds: number;
  readonly receiveWaitTimeSeconds: number;
  readonly redrive?: { readonly deadLetterArn: string; readonly maxReceiveCount: number };
  /** FIFO high throughput settings, passed through. */
  readonly deduplicationScope?: string;
  readonly fifoThroughputLimit?: string;
}

/** An event source mapping from a queue to a function. */
export interface EventSourceMappingModel {
  readonly logicalId: string;
  readonly functionArn: string;
  readonly eventSourceArn: string;
  /** @default 10 */
  readonly batchSize: number;
  /** @default 0 */
  readonly maximumBatchingWindowSeconds: number;
  readonly reportBatchItemFailures: boolean;
  /** `ScalingConfig.MaximumConcurrency`; unset means Lambda's own scaling. */
  readonly maximumConcurrency?: number;
  readonly enabled: boolean;
  /** `FilterCriteria.Filters[].Pattern`, parsed: EventBridge pattern grammar on the record. */
  readonly filterPatterns: readonly unknown[];
}

/** Where S3 sends notifications of one kind of event. */
export interface BucketNotificationTarget {
  /** A Lambda function ARN or an SQS queue ARN. */
  readonly arn: string;
  /** `s3:ObjectCreated:*`, `s3:ObjectRemoved:Delete`, ... */
  readonly events: readonly string[];
  readonly prefix?: string;
  readonly suffix?: string;
}

/** An S3 bucket with its notification configuration. */
export interface BucketModel extends StackResource {
  readonly arn: string;
  /** Every event goes to the default EventBridge bus (`Object Created`, ...). */
  readonly eventBridgeEnabled: boolean;
  readonly lambdaNotifications: readonly BucketNotificationTarget[];
  readonly queueNotifications: readonly BucketNotificationTarget[];
  /** `CorsConfiguration.CorsRules`, as in the template. */
  readonly corsRules: readonly Record<string, unknown>[];
  readonly versioned: boolean;
}

/** A resource type the local cloud does not serve, named once in a warning. */
export interface UnsupportedResource {
  readonly stackName: string;
  readonly logicalId: string;
  readonly type: string;
}

/** Everything the local cloud serves, read from one cloud assembly. */
export interface CloudModel {
  readonly env: LocalEnvironment;
  readonly stacks: readonly string[];
  readonly functions: readonly FunctionModel[];
  readonly restApis: readonly RestApiModel[];
  readonly apiKeys: readonly ApiKeyModel[];
  readonly usagePlans: readonly UsagePlanModel[];
  readonly usagePlanKeys: readonly UsagePlanKeyModel[];
  readonly webSocketApis: readonly WebSocketApiModel[];
  readonly tables: readonly TableModel[];
  readonly secrets: readonly SecretModel[];
  readonly queues: readonly QueueModel[];
  readonly eventSourceMappings: readonly EventSourceMappingModel[];
  readonly buckets: readonly BucketModel[];
  readonly buses: readonly EventBusModel[];
  readonly rules: readonly EventRuleModel[];
  readonly subscriptionFilters: readonly SubscriptionFilterModel[];
  readonly unsupported: readonly UnsupportedResource[];
  /** Stack outputs, resolved: `{ stack: { OutputName: value } }`. */
  readonly outputs: Readonly<Record<string, Readonly<Record<string, string>>>>;
}
