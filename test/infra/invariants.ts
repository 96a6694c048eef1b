import type { Template } from 'aws-cdk-lib/assertions';

/**
 * Security and operability rules every template must keep, written as functions that list
 * what breaks them, so each rule is itself tested against a stack that breaks it.
 */

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }>;

function resourcesOf(template: Template, type?: string): Resources {
  const all = template.toJSON()['Resources'] as Resources;
  return type ? Object.fromEntries(Object.entries(all).filter(([, r]) => r.Type === type)) : all;
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Actions that support no resource-level permission, so `Resource: *` is the narrowest there is. */
export const ACTIONS_WITHOUT_RESOURCE_SCOPE = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'cloudwatch:PutMetricData']);

/** IAM statements that allow every action of a service (or all), or `*` resources where a narrower one exists. */
export function broadIamStatements(template: Template): string[] {
  const problems: string[] = [];
  const policies = { ...resourcesOf(template, 'AWS::IAM::Policy'), ...resourcesOf(template, 'AWS::IAM::Role') };
  for (const [id, resource] of Object.entries(policies)) {
    const documents = resource.Type === 'AWS::IAM::Policy'
      ? [resource.Properties?.['PolicyDocument']]
      : asArray(resource.Properties?.['Policies'] as { PolicyDocument: unknown }[] | undefined).map((p) => p.PolicyDocument);
    for (const document of documents) {
      for (const statement of asArray((document as { Statement?: Record<string, unknown>[] })?.Statement)) {
        if (statement['Effect'] !== 'Allow') continue;
        const actions = asArray(statement['Action'] as string | string[]);
        const resources = asArray(statement['Resource'] as unknown);
        for (const action of actions) {
          if (action === '*' || action.endsWith(':*')) problems.push(`${id}: allows ${action}`);
        }
        if (resources.includes('*')) {
          const scoped = actions.filter((a) => !ACTIONS_WITHOUT_RESOURCE_SCOPE.has(a));
          if (scoped.length) problems.push(`${id}: ${scoped.join(', ')} on *`);
        }
      }
    }
  }
  return problems;
}

/** Queues with neither a dead-letter queue nor a role as one. */
export function queuesWithoutDeadLetter(template: Template): string[] {
  const queues = resourcesOf(template, 'AWS::SQS::Queue');
  const serialized = JSON.stringify(template.toJSON()['Resources']);
  return Object.entries(queues)
    .filter(([id, queue]) => {
      if (queue.Properties?.['RedrivePolicy']) return false;
      // A DLQ is referenced by another queue's redrive policy, by a target's DeadLetterConfig, or
      // as a function's on-failure destination for asynchronous invocations.
      return (
        !serialized.includes(`"deadLetterTargetArn":{"Fn::GetAtt":["${id}","Arn"]}`) &&
        !serialized.includes(`"DeadLetterConfig":{"Arn":{"Fn::GetAtt":["${id}","Arn"]}}`) &&
        !serialized.includes(`"OnFailure":{"Destination":{"Fn::GetAtt":["${id}","Arn"]}}`)
      );
    })
    .map(([id]) => id);
}

/** Queues not encrypted at rest. */
export function unencryptedQueues(template: Template): string[] {
  return Object.entries(resourcesOf(template, 'AWS::SQS::Queue'))
    .filter(([, q]) => q.Properties?.['SqsManagedSseEnabled'] !== true && !q.Properties?.['KmsMasterKeyId'])
    .map(([id]) => id);
}

/** Whether a resource policy denies requests without TLS for the resource `id`. */
function deniesInsecureTransport(template: Template, policyType: string, targetKey: string, id: string): boolean {
  return Object.values(resourcesOf(template, policyType)).some((policy) => {
    const targets = JSON.stringify(policy.Properties?.[targetKey]);
    if (!targets.includes(`"${id}"`)) return false;
    return asArray((policy.Properties?.['PolicyDocument'] as { Statement?: Record<string, unknown>[] })?.Statement).some(
      (s) => s['Effect'] === 'Deny' && JSON.stringify(s['Condition'] ?? {}).includes('"aws:SecureTransport":"false"'),
    );
  });
}

/** Queues whose policy does not refuse plain HTTP. */
export function queuesWithoutTls(template: Template): string[] {
  return Object.keys(resourcesOf(template, 'AWS::SQS::Queue')).filter((id) => !deniesInsecureTransport(template, 'AWS::SQS::QueuePolicy', 'Queues', id));
}

/** Buckets that do not block every kind of public access, or accept plain HTTP. */
export function unsafeBuckets(template: Template): string[] {
  return Object.entries(resourcesOf(template, 'AWS::S3::Bucket')).flatMap(([id, bucket]) => {
    const problems: string[] = [];
    const block = (bucket.Properties?.['PublicAccessBlockConfiguration'] ?? {}) as Record<string, unknown>;
    const flags = ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets'];
    if (!flags.every((f) => block[f] === true)) problems.push(`${id}: public access not fully blocked`);
    if (!deniesInsecureTransport(template, 'AWS::S3::BucketPolicy', 'Bucket', id)) problems.push(`${id}: TLS not enforced`);
    return problems;
  });
}

/** Tables without point-in-time recovery or not retained on stack deletion. */
export function tablesNotProductionReady(template: Template): string[] {
  const tables = { ...resourcesOf(template, 'AWS::DynamoDB::GlobalTable'), ...resourcesOf(template, 'AWS::DynamoDB::Table') };
  return Object.entries(tables).flatMap(([id, table]) => {
    const problems: string[] = [];
    const pitr = table.Type === 'AWS::DynamoDB::Table'
      ? table.Properties?.['PointInTimeRecoverySpecification']
      : asArray(table.Properties?.['Replicas'] as Record<string, unknown>[])[0]?.['PointInTimeRecoverySpecification'];
    if ((pitr as { PointInTimeRecoveryEnabled?: boolean } | undefined)?.PointInTimeRecoveryEnabled !== true) problems.push(`${id}: no point-in-time recovery`);
    if (table.DeletionPolicy !== 'Retain') problems.push(`${id}: not retained`);
    return problems;
  });
}

/** Resource types that hold data and so belong in the data stack only. */
export const STATEFUL_TYPES = ['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable', 'AWS::S3::Bucket', 'AWS::SecretsManager::Secret'];

export function statefulResources(template: Template): string[] {
  return Object.entries(resourcesOf(template))
    .filter(([, r]) => STATEFUL_TYPES.includes(r.Type))
    .map(([id, r]) => `${id} (${r.Type})`);
}

export { resourcesOf };
