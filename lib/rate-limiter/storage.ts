import { AttributeType, type TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { maxCostOf } from '#shared/rate-limit/policy';
import { AppTable } from '../platform/app-table';
import { SwitchyardStack } from '../platform/stage';

/**
 * The rate limiter's buckets: one item per key (`pk`), changed only by conditional UpdateItem,
 * expiring through TTL on `expiresAt` once the bucket would be full again (the code checks
 * expiry itself too, since TTL deletion lags).
 */
export class RateLimiterStorage extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new AppTable(this, 'Buckets', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });
  }

  /**
   * Lets a function consume from buckets (conditional UpdateItem only: the limiter never reads
   * or deletes) and tells it which policies apply to it, in order.
   */
  bindRoute(fn: LambdaFunction, limits: { readonly policies: readonly string[]; readonly cost: number }): void {
    const { config } = SwitchyardStack.of(fn);
    const unknown = limits.policies.filter((name) => !(name in config.rateLimits.policies));
    if (unknown.length) throw new Error(`${fn.node.path}: unknown rate limit policies ${unknown.join(', ')}`);
    for (const name of limits.policies) {
      const policy = config.rateLimits.policies[name]!;
      if (policy.subject === 'key') throw new Error(`${fn.node.path}: policy ${name} has subject "key": it belongs to the rate-limit service, not to routes`);
      if (limits.cost > maxCostOf(policy)) throw new Error(`${fn.node.path}: cost ${limits.cost} exceeds what policy ${name} can ever admit (${maxCostOf(policy)})`);
    }
    this.table.grant(fn, 'dynamodb:UpdateItem');
    fn.addEnvironment('RATE_LIMIT_TABLE_NAME', this.table.tableName);
    fn.addEnvironment('RATE_LIMIT_POLICIES', JSON.stringify(config.rateLimits.policies));
    fn.addEnvironment('RATE_LIMIT_ROUTE_POLICIES', limits.policies.join(','));
    fn.addEnvironment('RATE_LIMIT_COST', String(limits.cost));
    fn.addEnvironment('RATE_LIMIT_TIMEOUT_MS', String(config.rateLimits.timeoutMs));
  }
}
