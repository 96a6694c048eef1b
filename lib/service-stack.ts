import { CfnOutput, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { getHealthRoute, getLivenessRoute, getMeRoute, getOpenApiRoute } from '#shared/contracts/platform';
import type { DataStack } from './data-stack';
import { AppFunction } from './platform/app-function';
import { PlatformAuth } from './platform/auth';
import { PlatformBus } from './platform/event-bus';
import { Observability } from './platform/observability';
import { PlatformRestApi } from './platform/rest-api';
import { SwitchyardStack, type SwitchyardStackProps } from './platform/stage';
import { PlatformWebSocketApi } from './platform/websocket-api';
import { ChatService } from './chat/service';
import { JobQueue } from './jobs/service';
import { RateLimiterService } from './rate-limiter/service';
import { ShortenerService } from './shortener/service';

export interface ServiceStackProps extends SwitchyardStackProps {
  readonly data: DataStack;
  /** Reported by `/health`. */
  readonly version: string;
}

/**
 * Everything stateless: functions, APIs, the bus, queues, alarms. Composes the platform and
 * one construct per domain; it may be destroyed and redeployed at will.
 */
export class ServiceStack extends SwitchyardStack {
  readonly observability: Observability;
  readonly bus: PlatformBus;
  readonly auth: PlatformAuth;
  readonly restApi: PlatformRestApi;
  readonly webSocketApi: PlatformWebSocketApi;
  readonly rateLimiter: RateLimiterService;
  readonly shortener: ShortenerService;
  readonly chat: ChatService;
  readonly jobs: JobQueue;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const { data } = props;

    this.observability = new Observability(this, 'Observability');
    this.bus = new PlatformBus(this, 'Events', { observability: this.observability });
    this.auth = new PlatformAuth(this, 'Auth', { observability: this.observability, ...(data.signingSecret ? { signingSecret: data.signingSecret } : {}) });
    this.restApi = new PlatformRestApi(this, 'Rest', { auth: this.auth, observability: this.observability, rateLimits: data.rateLimits });

    const version = { APP_VERSION: props.version };
    const health = new AppFunction(this, 'GetHealth', {
      domain: 'platform',
      entry: 'platform/get-health.ts',
      description: 'GET /health: readiness, with dependency checks',
      environment: version,
    });
    data.idempotency.table.grant(health, 'dynamodb:GetItem');
    health.addEnvironment('IDEMPOTENCY_TABLE_NAME', data.idempotency.table.tableName);
    this.bus.grantDescribe(health);
    this.restApi.addRoute(getHealthRoute, health);

    const liveness = new AppFunction(this, 'GetLiveness', {
      domain: 'platform',
      entry: 'platform/get-liveness.ts',
      description: 'GET /health/live: liveness',
      environment: version,
      memorySize: 256,
    });
    this.restApi.addRoute(getLivenessRoute, liveness);

    const openApi = new AppFunction(this, 'GetOpenApi', {
      domain: 'platform',
      entry: 'platform/get-openapi.ts',
      description: 'GET /openapi.json: the OpenAPI 3.1 document generated from the route contracts',
      environment: version,
    });
    this.restApi.addRoute(getOpenApiRoute, openApi);

    const me = new AppFunction(this, 'GetMe', {
      domain: 'platform',
      entry: 'platform/get-me.ts',
      description: 'GET /v1/me: the principal the token proves',
      memorySize: 256,
    });
    this.restApi.addRoute(getMeRoute, me);

    // Chat keeps the connection registry, so its handlers answer $connect and $disconnect.
    const chatConnections = ChatService.connectionHandlers(this, data.chat);
    this.webSocketApi = new PlatformWebSocketApi(this, 'WebSocket', {
      auth: this.auth,
      observability: this.observability,
      rateLimits: data.rateLimits,
      connectHandler: chatConnections.connect,
      disconnectHandler: chatConnections.disconnect,
      defaultHandler: new AppFunction(this, 'WsDefault', {
        domain: 'platform',
        entry: 'platform/ws-default.ts',
        description: 'WebSocket $default: answers unknown actions with an error frame',
        memorySize: 256,
      }),
    });

    this.rateLimiter = new RateLimiterService(this, 'RateLimiter', { restApi: this.restApi, storage: data.rateLimits });
    this.shortener = new ShortenerService(this, 'Shortener', {
      restApi: this.restApi,
      storage: data.shortener,
      idempotency: data.idempotency,
      observability: this.observability,
    });

    this.chat = new ChatService(this, 'Chat', {
      restApi: this.restApi,
      webSocketApi: this.webSocketApi,
      storage: data.chat,
      connections: chatConnections,
      idempotency: data.idempotency,
      observability: this.observability,
    });

    this.jobs = new JobQueue(this, 'Jobs', {
      restApi: this.restApi,
      storage: data.jobs,
      idempotency: data.idempotency,
      observability: this.observability,
      bus: this.bus,
    });

    new CfnOutput(this, 'RestApiUrl', { value: this.restApi.url, description: 'Base URL of the REST API' });
    new CfnOutput(this, 'WebSocketUrl', { value: this.webSocketApi.url, description: 'wss:// URL of the WebSocket API' });
    new CfnOutput(this, 'EventBusName', { value: this.bus.bus.eventBusName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
    new CfnOutput(this, 'ClickRecorderFunction', {
      value: this.shortener.recordClicks.functionName,
      description: 'Counts link clicks; replay a dead-lettered delivery by invoking it with the message body',
    });
    new CfnOutput(this, 'ApiKeyIds', {
      value: Stack.of(this).toJsonString(Object.fromEntries(Object.entries(this.restApi.apiKeys).map(([name, key]) => [name, key.keyId]))),
      description: 'API keys by name (JSON); read a value with `aws apigateway get-api-key --api-key <id> --include-value`',
    });
  }
}
