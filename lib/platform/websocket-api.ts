import { type CfnElement, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RateLimiterStorage } from '../rate-limiter/storage';
import type { PlatformAuth } from './auth';
import type { Observability } from './observability';
import { SwitchyardStack } from './stage';

export interface PlatformWebSocketApiProps {
  readonly auth: PlatformAuth;
  readonly observability: Observability;
  /** Runs on `$connect`, after the authorizer allowed the connection. */
  readonly connectHandler: LambdaFunction;
  /** Answers frames whose `action` matches no route. */
  readonly defaultHandler: LambdaFunction;
  /** Runs on `$disconnect` (best effort: API Gateway may not deliver it). @default none */
  readonly disconnectHandler?: LambdaFunction;
  /** Where message rate-limit buckets live: every message route is limited per connection and per user. */
  readonly rateLimits: RateLimiterStorage;
}

/**
 * The WebSocket API. Clients connect with a JWT, as `?token=<jwt>` or as the subprotocols
 * `bearer, <jwt>` (browsers cannot set headers on a WebSocket), and send JSON frames whose
 * `action` selects the route.
 */
export class PlatformWebSocketApi extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  private readonly observability: Observability;
  private readonly rateLimits: RateLimiterStorage;

  constructor(scope: Construct, id: string, props: PlatformWebSocketApiProps) {
    super(scope, id);
    const stack = SwitchyardStack.of(this);
    this.observability = props.observability;
    this.rateLimits = props.rateLimits;

    const authorizer = new WebSocketLambdaAuthorizer('JwtAuthorizer', props.auth.connectionAuthorizer, {
      // No identity source: the token may come from the query string or from a header, and
      // an identity source would make API Gateway refuse whichever one is absent.
      identitySource: [],
    });
    this.api = new WebSocketApi(this, 'Api', {
      apiName: `switchyard-${stack.stage}-ws`,
      description: `Switchyard ${stack.stage} WebSocket API`,
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: { integration: this.integration('Connect', props.connectHandler), authorizer },
      defaultRouteOptions: { integration: this.integration('Default', props.defaultHandler) },
      ...(props.disconnectHandler ? { disconnectRouteOptions: { integration: this.integration('Disconnect', props.disconnectHandler) } } : {}),
    });

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'WebSocket APIs authorize once, on $connect (which has the JWT authorizer); frames on an open connection carry the identity established there.',
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: stack.logRetention, removalPolicy: stack.removalPolicy });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: stack.stage,
      autoDeploy: true,
      throttle: { rateLimit: stack.config.api.throttle.rateLimit, burstLimit: stack.config.api.throttle.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            connectionId: '$context.connectionId',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            ip: '$context.identity.sourceIp',
            status: '$context.status',
            integrationLatency: '$context.integrationLatency',
            tenantId: '$context.authorizer.tenantId',
            userId: '$context.authorizer.userId',
            error: '$context.error.message',
          }),
        ),
      },
    });

    this.grantManageConnections(props.defaultHandler);
    this.limitMessages(props.defaultHandler);
    this.observability.monitorFunction(props.connectHandler, 'WsConnect');
    this.observability.monitorFunction(props.defaultHandler, 'WsDefault');
    if (props.disconnectHandler) this.observability.monitorFunction(props.disconnectHandler, 'WsDisconnect');
    props.observability.monitorWebSocketApi(this.api, this.stage);
  }

  /** `wss://` URL clients connect to. */
  get url(): string {
    return this.stage.url;
  }

  /** The `https://` endpoint of the @connections management API. */
  get callbackUrl(): string {
    return this.stage.callbackUrl;
  }

  /** Routes frames whose `action` is `routeKey` to `handler`, which may then reply to connections. */
  addRoute(routeKey: string, handler: LambdaFunction, label: string): void {
    this.api.addRoute(routeKey, { integration: this.integration(label, handler) });
    this.grantManageConnections(handler);
    this.limitMessages(handler);
    this.observability.monitorFunction(handler, label);
  }

  /** Message routes are limited per connection and per user, by the stage's WebSocket defaults. */
  private limitMessages(handler: LambdaFunction): void {
    const { config } = SwitchyardStack.of(this);
    this.rateLimits.bindRoute(handler, { policies: config.rateLimits.webSocketDefaults, cost: 1 });
  }

  /**
   * Lets a function post to, read and close this stage's connections, and tells it where
   * (`WEBSOCKET_CALLBACK_URL`).
   */
  grantManageConnections(fn: LambdaFunction): void {
    if (fn.role) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${this.connectionsArnAsNagSeesIt()}]`,
        reason: "Connection ids are created at run time; the grant is limited to this API stage's @connections.",
      });
    }
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: [
          Stack.of(this).formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: `${this.stage.stageName}/*/@connections/*` }),
        ],
      }),
    );
    fn.addEnvironment('WEBSOCKET_CALLBACK_URL', this.stage.callbackUrl);
  }

  /**
   * cdk-nag names a finding after the rendered ARN: tokens become `<LogicalId>` or
   * `<AWS::Pseudo>`, literals (a region or partition known at synth) stay as they are.
   */
  private connectionsArnAsNagSeesIt(): string {
    const stack = Stack.of(this);
    const literal = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
    const apiId = `<${stack.getLogicalId(this.api.node.defaultChild as CfnElement)}>`;
    return `arn:${literal(stack.partition, 'Partition')}:execute-api:${literal(stack.region, 'Region')}:${literal(stack.account, 'AccountId')}:${apiId}/${this.stage.stageName}/*/@connections/*`;
  }

  private integration(id: string, handler: LambdaFunction): WebSocketLambdaIntegration {
    return new WebSocketLambdaIntegration(`${id}Integration`, handler, { timeout: Duration.seconds(29) });
  }
}
