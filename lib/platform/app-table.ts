import { Billing, TableV2, type TablePropsV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { SwitchyardStack } from './stage';

/**
 * Every DynamoDB table in Switchyard: on-demand, with the stage's point-in-time recovery,
 * removal policy and (in production) deletion protection. It belongs in the data stack; an
 * infra test fails if one appears anywhere else.
 */
export class AppTable extends TableV2 {
  constructor(scope: Construct, id: string, props: Omit<TablePropsV2, 'billing' | 'removalPolicy' | 'pointInTimeRecoverySpecification' | 'deletionProtection'>) {
    const stack = SwitchyardStack.of(scope);
    super(scope, id, {
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: stack.config.pointInTimeRecovery },
      removalPolicy: stack.removalPolicy,
      deletionProtection: stack.config.production,
      ...props,
    });
  }
}
