import { AttributeType, type TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { AppTable } from './app-table';

/**
 * The Powertools idempotency table, shared by every consumer and every idempotent POST.
 * Keys are `<function>#<hash of the payload>`, so functions never collide; records expire
 * through TTL on `expiration`.
 */
export class IdempotencyTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new AppTable(this, 'Table', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiration',
    });
  }

  /**
   * Lets a function keep idempotency records here and tells it where
   * (`IDEMPOTENCY_TABLE_NAME`). Powertools reads, conditionally writes, updates and deletes
   * records; it never scans.
   */
  bindIdempotency(fn: LambdaFunction): void {
    this.table.grant(fn, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    fn.addEnvironment('IDEMPOTENCY_TABLE_NAME', this.table.tableName);
  }
}
