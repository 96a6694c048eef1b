import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct, IConstruct } from 'constructs';
import type { StageConfig } from '../config';

export interface SwitchyardStackProps extends StackProps {
  /** The stage name: `dev`, `prod`, or any other stage defined in cdk.json. */
  readonly stage: string;
  /** The stage's validated configuration. */
  readonly config: StageConfig;
}

/**
 * A stack that knows its stage. Constructs anywhere below it read the stage configuration
 * through `SwitchyardStack.of(this)`, so log retention, removal policies and the like come
 * from one place without being threaded through every constructor.
 */
export class SwitchyardStack extends Stack {
  readonly stage: string;
  readonly config: StageConfig;

  constructor(scope: Construct, id: string, props: SwitchyardStackProps) {
    super(scope, id, props);
    this.stage = props.stage;
    this.config = props.config;
  }

  /** The nearest `SwitchyardStack` above `construct`. */
  static override of(construct: IConstruct): SwitchyardStack {
    const stack = Stack.of(construct);
    if (!(stack instanceof SwitchyardStack)) {
      throw new Error(`${construct.node.path} is not inside a SwitchyardStack`);
    }
    return stack;
  }

  /** What happens to stateful resources when the stack is deleted. */
  get removalPolicy(): RemovalPolicy {
    return this.config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
  }

  get logRetention(): RetentionDays {
    return this.config.logRetentionDays as RetentionDays;
  }
}
