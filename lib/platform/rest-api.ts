import { Duration, RemovalPolicy, Size, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKey,
  AuthorizationType,
  Cors,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Period,
  ResponseType,
  RestApi,
  TokenAuthorizer,
  UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { isPublic, type RouteContract } from '#shared/contracts/route';
import type { RateLimiterStorage } from '../rate-limiter/storage';
import type { PlatformAuth } from './auth';
import type { Observability } from './observability';
import { SwitchyardStack } from './stage';

export interface PlatformRestApiProps {
  readonly auth: PlatformAuth;
  readonly observability: Observability;
  /** Where every route's rate-limit buckets live. */
  readonly rateLimits: RateLimiterStorage;
}

/** A route as API Gateway serves it, kept so tests can compare the API with the contracts. */
export interface ServedRoute {
  readonly route: RouteContract;
  readonly handler: LambdaFunction;
}

/** Headers browsers may send cross-origin. */
const CORS_ALLOW_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Correlation-Id', 'traceparent', 'X-Api-Key'];

/** API Gateway's own errors, as problem+json, so clients parse one error format. */
const GATEWAY_PROBLEMS: ReadonlyArray<{ type: ResponseType; status?: string; code: string; title: string; detail: string }> = [
  { type: ResponseType.UNAUTHORIZED, status: '401', code: 'unauthorized', title: 'Unauthorized', detail: '"invalid token"' },
  { type: ResponseType.ACCESS_DENIED, status: '403', code: 'forbidden', title: 'Forbidden', detail: '"access denied"' },
  { type: ResponseType.INVALID_API_KEY, status: '403', code: 'forbidden', title: 'Forbidden', detail: '"invalid API key"' },
  { type: ResponseType.MISSING_AUTHENTICATION_TOKEN, status: '404', code: 'not-found', title: 'Not Found', detail: '"no route for this method and path"' },
  { type: ResponseType.RESOURCE_NOT_FOUND, status: '404', code: 'not-found', title: 'Not Found', detail: '"no route for this method and path"' },
  { type: ResponseType.REQUEST_TOO_LARGE, status: '413', code: 'payload-too-large', title: 'Content Too Large', detail: '"body exceeds 10 MB"' },
  { type: ResponseType.UNSUPPORTED_MEDIA_TYPE, status: '415', code: 'unsupported-media-type', title: 'Unsupported Media Type', detail: '$context.error.messageString' },
  { type: ResponseType.BAD_REQUEST_BODY, status: '400', code: 'validation-failed', title: 'Bad Request', detail: '$context.error.messageString' },
  { type: ResponseType.BAD_REQUEST_PARAMETERS, status: '400', code: 'validation-failed', title: 'Bad Request', detail: '$context.error.messageString' },
  { type: ResponseType.THROTTLED, status: '429', code: 'too-many-requests', title: 'Too Many Requests', detail: '"the API is throttling this client; retry with backoff"' },
  { type: ResponseType.QUOTA_EXCEEDED, status: '429', code: 'too-many-requests', title: 'Too Many Requests', detail: '"usage plan quota exceeded"' },
  { type: ResponseType.AUTHORIZER_FAILURE, status: '500', code: 'internal', title: 'Internal Server Error', detail: '"authorization failed unexpectedly"' },
  { type: ResponseType.AUTHORIZER_CONFIGURATION_ERROR, status: '500', code: 'internal', title: 'Internal Server Error', detail: '"authorization failed unexpectedly"' },
  { type: ResponseType.INTEGRATION_FAILURE, status: '502', code: 'bad-gateway', title: 'Bad Gateway', detail: '"the route failed; quote the correlation id"' },
  { type: ResponseType.INTEGRATION_TIMEOUT, status: '504', code: 'gateway-timeout', title: 'Gateway Timeout', detail: '"the route did not answer in time"' },
  // The catch-alls keep API Gateway's own status (a crashed function is a 502 here), so their
  // body names no status: RFC 9457 makes the member optional and the HTTP status is the truth.
  { type: ResponseType.DEFAULT_4XX, code: 'bad-request', title: 'Bad Request', detail: '$context.error.messageString' },
  { type: ResponseType.DEFAULT_5XX, code: 'internal', title: 'Internal Server Error', detail: '"the request failed; quote the correlation id"' },
];

/**
 * The REST API: one regional API Gateway stage per app stage, with
 * - the JWT authorizer on every method by default (a route opts out by declaring itself public);
 * - access logs in JSON, execution logs for errors, X-Ray tracing, stage throttling from config;
 * - CORS for the configured origins, on preflight (here) and on responses (the handler edge);
 * - problem+json for API Gateway's own errors;
 * - body size: API Gateway caps requests at 10 MB; each route caps lower in its handler;
 * - rate limits on every route, applied by the handler edge: the route's own policies, then the
 *   stage's defaults.
 *
 * Routes come only from route contracts (`addRoute`), which also feed the OpenAPI document.
 */
export class PlatformRestApi extends Construct {
  readonly api: RestApi;
  readonly authorizer: TokenAuthorizer;
  readonly servedRoutes: ServedRoute[] = [];
  /** The stage's usage plans and the API keys created in them, by the names in stage configuration. */
  readonly usagePlans: Readonly<Record<string, UsagePlan>>;
  readonly apiKeys: Readonly<Record<string, ApiKey>>;
  private readonly observability: Observability;
  private readonly rateLimits: RateLimiterStorage;
  private readonly acknowledgedPreflights = new Set<string>();

  constructor(scope: Construct, id: string, props: PlatformRestApiProps) {
    super(scope, id);
    const stack = SwitchyardStack.of(this);
    const { config } = stack;
    this.observability = props.observability;
    this.rateLimits = props.rateLimits;

    this.authorizer = new TokenAuthorizer(this, 'JwtAuthorizer', {
      handler: props.auth.requestAuthorizer,
      identitySource: 'method.request.header.Authorization',
      // Obviously malformed headers are refused by API Gateway without invoking the function.
      validationRegex: '^[Bb][Ee][Aa][Rr][Ee][Rr] [-_A-Za-z0-9]+\\.[-_A-Za-z0-9]+\\.[-_A-Za-z0-9]*$',
      resultsCacheTtl: Duration.minutes(5),
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: stack.logRetention, removalPolicy: stack.removalPolicy });
    this.api = new RestApi(this, 'Api', {
      restApiName: `switchyard-${stack.stage}`,
      description: `Switchyard ${stack.stage} REST API`,
      endpointTypes: [EndpointType.REGIONAL],
      minCompressionSize: Size.kibibytes(1),
      cloudWatchRole: true,
      // The role is account-wide (API Gateway has one logging role per account and region);
      // deleting this stack must not break other APIs' logging.
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: stack.stage,
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: config.api.throttle.rateLimit,
        throttlingBurstLimit: config.api.throttle.burstLimit,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            extendedRequestId: '$context.extendedRequestId',
            ip: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            requestTime: '$context.requestTimeEpoch',
            method: '$context.httpMethod',
            resourcePath: '$context.resourcePath',
            status: '$context.status',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationLatency: '$context.integrationLatency',
            tenantId: '$context.authorizer.tenantId',
            userId: '$context.authorizer.userId',
            error: '$context.error.message',
            xrayTraceId: '$context.xrayTraceId',
          }),
        ),
      },
      defaultCorsPreflightOptions: {
        allowOrigins: config.corsOrigins,
        allowMethods: Cors.ALL_METHODS,
        allowHeaders: CORS_ALLOW_HEADERS,
        maxAge: Duration.hours(1),
      },
      defaultMethodOptions: { authorizer: this.authorizer, authorizationType: AuthorizationType.CUSTOM },
    });

    const corsOrigin = config.corsOrigins.length === 1 ? config.corsOrigins[0] : undefined;
    for (const problem of GATEWAY_PROBLEMS) {
      this.api.addGatewayResponse(`Problem${problem.type.responseType}`, {
        type: problem.type,
        ...(problem.status ? { statusCode: problem.status } : {}),
        responseHeaders: {
          'Content-Type': "'application/problem+json'",
          ...(corsOrigin ? { 'Access-Control-Allow-Origin': `'${corsOrigin}'` } : {}),
        },
        templates: {
          'application/json': `{"type":"urn:switchyard:problem:${problem.code}","title":"${problem.title}",${problem.status ? `"status":${problem.status},` : ''}"detail":${problem.detail},"instance":"$context.path","correlationId":"$context.requestId"}`,
        },
      });
    }

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason: 'Every handler validates path, query and body with the zod schemas of its route contract and answers problem+json naming the field and rule; API Gateway models would duplicate those schemas and answer in another format.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Tokens are verified by a Lambda authorizer against any OIDC provider (Cognito included) or, outside production, a shared secret; a Cognito authorizer would tie the API to one provider.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason: 'WAF is an account-level choice with its own cost; stage throttling, per-route rate limits and the authorizer cover abuse. Associate a web ACL with the stage where policy requires one.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: "API Gateway's account-level logging role needs exactly this AWS-managed policy; it is not attached to any function.",
    });
    props.observability.monitorRestApi(this.api);

    const usagePlans: Record<string, UsagePlan> = {};
    const apiKeys: Record<string, ApiKey> = {};
    for (const [name, plan] of Object.entries(config.api.usagePlans)) {
      const usagePlan = this.api.addUsagePlan(`UsagePlan-${name}`, {
        name: `switchyard-${stack.stage}-${name}`,
        ...(plan.description ? { description: plan.description } : {}),
        ...(plan.throttle ? { throttle: plan.throttle } : {}),
        ...(plan.quota ? { quota: { limit: plan.quota.limit, period: Period[plan.quota.period] } } : {}),
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
      usagePlans[name] = usagePlan;
      for (const keyName of plan.apiKeys) {
        // No value given: API Gateway generates one (read it with `aws apigateway get-api-key --include-value`).
        const key = new ApiKey(this, `ApiKey-${keyName}`, { apiKeyName: `switchyard-${stack.stage}-${keyName}`, description: `Usage plan ${name}` });
        usagePlan.addApiKey(key);
        apiKeys[keyName] = key;
      }
    }
    this.usagePlans = usagePlans;
    this.apiKeys = apiKeys;
  }

  /** The stage's base URL. */
  get url(): string {
    return this.api.url;
  }

  /**
   * Serves a route: its path and method, the authorizer unless the contract is public, and
   * the edge settings its handler reads (CORS origins, body cap). The handler joins the
   * dashboard and gets an error-rate alarm.
   */
  addRoute(route: RouteContract, handler: LambdaFunction): void {
    const { config } = SwitchyardStack.of(this);
    const resource = this.api.root.resourceForPath(route.path);
    const method = resource.addMethod(
      route.method,
      new LambdaIntegration(handler, { proxy: true, timeout: Duration.seconds(29) }),
      {
        operationName: route.operationId,
        apiKeyRequired: route.apiKey ?? false,
        ...(isPublic(route) ? { authorizationType: AuthorizationType.NONE } : { authorizer: this.authorizer, authorizationType: AuthorizationType.CUSTOM }),
      },
    );
    if (isPublic(route)) {
      this.acknowledgeUnauthenticated(method, `${route.method} ${route.path} is public by its route contract (auth: { public: true }).`);
    }
    for (const preflight of this.api.methods.filter((m) => m.httpMethod === 'OPTIONS')) {
      if (this.acknowledgedPreflights.has(preflight.node.path)) continue;
      this.acknowledgedPreflights.add(preflight.node.path);
      this.acknowledgeUnauthenticated(preflight, 'CORS preflight: browsers send OPTIONS without credentials by design.');
    }
    handler.addEnvironment('CORS_ORIGINS', config.corsOrigins.join(','));
    handler.addEnvironment('MAX_BODY_BYTES', String(route.request?.maxBodyBytes ?? config.api.maxBodyBytes));
    // The route's own policies first (the tightest), then the stage's defaults.
    const policies = [...new Set([...(route.rateLimit?.policies ?? []), ...(route.rateLimit?.defaults === false ? [] : config.rateLimits.defaults)])];
    if (policies.length) this.rateLimits.bindRoute(handler, { policies, cost: route.rateLimit?.cost ?? 1 });
    this.servedRoutes.push({ route, handler });
    this.observability.monitorFunction(handler, route.operationId);
  }

  private acknowledgeUnauthenticated(method: Construct, reason: string): void {
    Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason });
  }
}
