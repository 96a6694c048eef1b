import { createHash } from 'node:crypto';
import type { LocalEnvironment } from '../model';
import type { ResourceIdentity } from './resolve';

/**
 * What a resource is called locally: its `Ref` and its `Fn::GetAtt` attributes, in the same
 * formats AWS uses, so code that parses an ARN or a queue URL works unchanged. Names the
 * template gives are kept; others are made from the stack and logical id, deterministically,
 * so state kept between runs still lines up.
 */

export interface IdentityContext {
  readonly env: LocalEnvironment;
  readonly stackName: string;
  /** Base URL of the SQS endpoint (queue URLs are `<base>/<account>/<name>`). */
  readonly sqsEndpoint: string;
}

/** Types whose identity is known; anything else is served as "unsupported" but still resolvable. */
export const KNOWN_TYPES = new Set([
  'AWS::Lambda::Function',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::SQS::Queue',
  'AWS::S3::Bucket',
  'AWS::Events::EventBus',
  'AWS::Events::Rule',
  'AWS::SecretsManager::Secret',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Stage',
  'AWS::ApiGateway::Authorizer',
  'AWS::ApiGateway::GatewayResponse',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Stage',
  'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::Integration',
  'AWS::ApiGatewayV2::Authorizer',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::SNS::Topic',
  'AWS::KMS::Key',
  'AWS::Logs::LogGroup',
  'AWS::Logs::SubscriptionFilter',
  'AWS::Lambda::EventInvokeConfig',
]);

/**
 * Types with no behaviour to emulate: permissions, policies, alarms, dashboards, logging
 * plumbing. They resolve like any resource, and nobody is warned about them.
 */
export const INERT_TYPES = new Set([
  'AWS::Lambda::Permission',
  'AWS::IAM::Policy',
  'AWS::IAM::Role',
  'AWS::IAM::ManagedPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::S3::BucketPolicy',
  'AWS::SNS::TopicPolicy',
  'AWS::SNS::Subscription',
  'AWS::KMS::Key',
  'AWS::KMS::Alias',
  'AWS::Logs::LogGroup',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::Dashboard',
  'AWS::ApiGateway::Account',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Model',
  'AWS::ApiGateway::RequestValidator',
  'AWS::ApiGatewayV2::Deployment',
  'AWS::Events::Archive',
  'AWS::CDK::Metadata',
  'AWS::SecretsManager::SecretTargetAttachment',
]);

function hash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex');
}

/** An API Gateway style id: 10 lower-case letters and digits. */
export function apiIdFor(stackName: string, logicalId: string): string {
  return BigInt(`0x${hash(stackName, logicalId).slice(0, 16)}`).toString(36).padStart(10, '0').slice(-10);
}

/** `<stack>-<logicalId>`, shortened with a hash when over `max`. */
function generatedName(stackName: string, logicalId: string, max: number, lowerCase = false): string {
  let name = `${stackName}-${logicalId}`;
  if (name.length > max) name = `${name.slice(0, max - 9)}-${hash(stackName, logicalId).slice(0, 8)}`;
  return lowerCase ? name.toLowerCase() : name;
}

/**
 * A physical name the template gives: a literal, or an `Fn::Join` of literals and the pseudo
 * parameters a name may carry to be unique (`switchyard-dev-results-${AWS::AccountId}-${AWS::Region}`).
 * Anything else (a reference to another resource) leaves the name to be generated.
 */
function given(props: Record<string, unknown>, key: string, env?: LocalEnvironment): string | undefined {
  const value = props[key];
  if (typeof value === 'string') return value || undefined;
  const join = (value as { 'Fn::Join'?: unknown } | undefined)?.['Fn::Join'];
  if (!env || !Array.isArray(join) || join.length !== 2 || typeof join[0] !== 'string' || !Array.isArray(join[1])) return undefined;
  const pseudo: Record<string, string> = { 'AWS::AccountId': env.account, 'AWS::Region': env.region, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' };
  const parts = (join[1] as unknown[]).map((part) => (typeof part === 'string' ? part : pseudo[String((part as { Ref?: unknown } | null)?.Ref)]));
  return parts.every((part) => part !== undefined) ? parts.join(join[0]) : undefined;
}

/** The local identity of one resource. */
export function identityOf(type: string, logicalId: string, props: Record<string, unknown>, ctx: IdentityContext): ResourceIdentity {
  const { region, account } = ctx.env;
  const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:${account}:${resource}`;
  switch (type) {
    case 'AWS::Lambda::Function': {
      const name = given(props, 'FunctionName', ctx.env) ?? generatedName(ctx.stackName, logicalId, 64);
      return { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } };
    }
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable': {
      const name = given(props, 'TableName', ctx.env) ?? generatedName(ctx.stackName, logicalId, 255);
      const tableArn = arn('dynamodb', `table/${name}`);
      return { ref: name, attributes: { Arn: tableArn, StreamArn: `${tableArn}/stream/2026-01-01T00:00:00.000` } };
    }
    case 'AWS::SQS::Queue': {
      const fifo = props['FifoQueue'] === true || props['FifoQueue'] === 'true';
      const name = given(props, 'QueueName', ctx.env) ?? `${generatedName(ctx.stackName, logicalId, fifo ? 75 : 80)}${fifo ? '.fifo' : ''}`;
      const url = `${ctx.sqsEndpoint}/${account}/${name}`;
      return { ref: url, attributes: { Arn: arn('sqs', name), QueueName: name, QueueUrl: url } };
    }
    case 'AWS::S3::Bucket': {
      const name = given(props, 'BucketName', ctx.env) ?? generatedName(ctx.stackName, logicalId, 63, true);
      return {
        ref: name,
        attributes: {
          Arn: `arn:aws:s3:::${name}`,
          DomainName: `${name}.s3.amazonaws.com`,
          RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
          DualStackDomainName: `${name}.s3.dualstack.${region}.amazonaws.com`,
          WebsiteURL: `http://${name}.s3-website-${region}.amazonaws.com`,
        },
      };
    }
    case 'AWS::Events::EventBus': {
      const name = given(props, 'Name') ?? generatedName(ctx.stackName, logicalId, 256);
      const busArn = arn('events', `event-bus/${name}`);
      return { ref: name, attributes: { Arn: busArn, Name: name } };
    }
    case 'AWS::Events::Rule': {
      const name = given(props, 'Name') ?? generatedName(ctx.stackName, logicalId, 64);
      const bus = given(props, 'EventBusName');
      return { ref: name, attributes: { Arn: arn('events', `rule/${bus && bus !== 'default' ? `${bus}/` : ''}${name}`) } };
    }
    case 'AWS::SecretsManager::Secret': {
      const name = given(props, 'Name') ?? generatedName(ctx.stackName, logicalId, 256);
      const secretArn = arn('secretsmanager', `secret:${name}-${hash(name).slice(0, 6)}`);
      return { ref: secretArn, attributes: { Id: secretArn } };
    }
    case 'AWS::ApiGateway::RestApi': {
      const id = apiIdFor(ctx.stackName, logicalId);
      return { ref: id, attributes: { RootResourceId: `${id.slice(0, 6)}root`, RestApiId: id } };
    }
    case 'AWS::ApiGatewayV2::Api': {
      const id = apiIdFor(ctx.stackName, logicalId);
      const protocol = props['ProtocolType'] === 'WEBSOCKET' ? 'wss' : 'https';
      return { ref: id, attributes: { ApiId: id, ApiEndpoint: `${protocol}://${id}.execute-api.${region}.amazonaws.com` } };
    }
    case 'AWS::ApiGateway::Stage':
    case 'AWS::ApiGatewayV2::Stage':
      return { ref: given(props, 'StageName') ?? 'prod', attributes: {} };
    case 'AWS::IAM::Role': {
      const name = given(props, 'RoleName') ?? generatedName(ctx.stackName, logicalId, 64);
      return { ref: name, attributes: { Arn: `arn:aws:iam::${account}:role/${name}`, RoleId: `AROA${hash(name).slice(0, 17).toUpperCase()}` } };
    }
    case 'AWS::SNS::Topic': {
      const name = given(props, 'TopicName') ?? generatedName(ctx.stackName, logicalId, 256);
      const topicArn = arn('sns', name);
      return { ref: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
    }
    case 'AWS::KMS::Key': {
      const id = hash(ctx.stackName, logicalId).slice(0, 32).replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5');
      return { ref: id, attributes: { Arn: arn('kms', `key/${id}`), KeyId: id } };
    }
    case 'AWS::Logs::SubscriptionFilter': {
      // CloudFormation names a filter the template leaves unnamed; deliveries carry the name.
      const name = given(props, 'FilterName') ?? generatedName(ctx.stackName, logicalId, 512);
      return { ref: name, attributes: {} };
    }
    case 'AWS::Logs::LogGroup': {
      const name = given(props, 'LogGroupName') ?? `/aws/local/${generatedName(ctx.stackName, logicalId, 200)}`;
      return { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } };
    }
    default: {
      // Sub-resources (API Gateway resources, routes, authorizers...) are referred to by id.
      const id = hash(ctx.stackName, logicalId).slice(0, 10);
      return { ref: id, attributes: { Arn: arn(type.split('::')[1]?.toLowerCase() ?? 'unknown', `${logicalId}/${id}`), Id: id } };
    }
  }
}
