import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import { AttributeType, ProjectionType, type TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { AppTable } from '../platform/app-table';
import { SwitchyardStack } from '../platform/stage';

/**
 * The job queue's storage (layout in functions/jobs/store.ts): the jobs table, spread by job id,
 * with three indexes (a tenant's jobs, a tenant's jobs of one status, and the sparse `due` index
 * of jobs scheduled more than 15 minutes ahead), and the results bucket (large results and
 * report exports, kept 30 days).
 */
/** Where results and exports are written, under the tenant: `results/<tenant>/<job>/...`. */
export const RESULTS_PREFIX = 'results/';

export class JobsStorage extends Construct {
  readonly table: TableV2;
  readonly results: Bucket;
  /** Signs webhook deliveries (Standard Webhooks); receivers get it out of band. */
  readonly webhookSecret: Secret;
  static readonly TENANT_INDEX = 'byTenant';
  static readonly STATUS_INDEX = 'byStatus';
  static readonly DUE_INDEX = 'due';

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = SwitchyardStack.of(this);
    const index = (indexName: string, partitionKey: string, sortKey: string) => ({
      indexName,
      partitionKey: { name: partitionKey, type: AttributeType.STRING },
      sortKey: { name: sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    this.table = new AppTable(this, 'Jobs', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      globalSecondaryIndexes: [
        index(JobsStorage.TENANT_INDEX, 'gsi1pk', 'gsi1sk'),
        index(JobsStorage.STATUS_INDEX, 'gsi2pk', 'gsi2sk'),
        index(JobsStorage.DUE_INDEX, 'duePk', 'dueSk'),
      ],
    });
    this.results = new Bucket(this, 'Results', {
      // A name known to both stacks, so that grants name their objects without a cross-stack token.
      bucketName: JobsStorage.resultsBucketName(stack),
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: stack.removalPolicy,
      lifecycleRules: [{ expiration: Duration.days(30) }],
    });
    this.webhookSecret = new Secret(this, 'WebhookSigningSecret', {
      description: `Switchyard ${stack.stage}: HMAC key that signs webhook deliveries`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: stack.removalPolicy,
    });
    Validations.of(this.webhookSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Receivers hold this key to verify signatures; rotating it is a coordinated change with them (new value, then receivers), not an automatic rotation.',
    });
    Validations.of(this.results).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Job results are written by the workers and read through presigned URLs only; CloudTrail data events are the audit trail where one is wanted, not server access logs.',
    });
  }

  /** Lets a function write results (`results/...`) and tells it where (`JOBS_RESULTS_BUCKET`). */
  grantWriteResults(fn: LambdaFunction): void {
    this.grantResults(fn, 's3:PutObject');
  }

  /** Lets a function read results, to presign their downloads. */
  grantReadResults(fn: LambdaFunction): void {
    this.grantResults(fn, 's3:GetObject');
  }

  private grantResults(fn: LambdaFunction, action: string): void {
    const stack = Stack.of(fn);
    fn.addToRolePolicy(
      new PolicyStatement({ actions: [action], resources: [`arn:${stack.partition}:s3:::${JobsStorage.resultsBucketName(stack)}/${RESULTS_PREFIX}*`] }),
    );
    if (fn.role) {
      // cdk-nag names the finding by the resource as it renders pseudo parameters.
      const literal = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
      const name = `switchyard-${SwitchyardStack.of(fn).stage}-job-results-${literal(stack.account, 'AccountId')}-${literal(stack.region, 'Region')}`;
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${literal(stack.partition, 'Partition')}:s3:::${name}/${RESULTS_PREFIX}*]`,
        reason: `Result keys are made per job at run time; the grant is one action on the results bucket's ${RESULTS_PREFIX} prefix.`,
      });
    }
  }

  /** The results bucket's name: the stage, account and region make it unique. */
  static resultsBucketName(stack: Stack): string {
    return `switchyard-${SwitchyardStack.of(stack).stage}-job-results-${stack.account}-${stack.region}`;
  }
}
