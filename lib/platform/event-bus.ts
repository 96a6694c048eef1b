import { Duration, Validations } from 'aws-cdk-lib';
import { Archive, EventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Observability } from './observability';
import { SwitchyardStack } from './stage';

export interface PlatformBusProps {
  readonly observability: Observability;
}

/**
 * The app's EventBridge bus, where domains publish what happened (`switchyard.<domain>`
 * sources) and subscribe through rules. Also:
 * - an archive of every event, so a consumer fixed after an outage can replay what it missed;
 * - one dead-letter queue for rule targets: an event EventBridge could not deliver after its
 *   retries lands there, with an alarm, instead of vanishing.
 */
export class PlatformBus extends Construct {
  readonly bus: EventBus;
  private readonly observability: Observability;
  private deadLetters?: Queue;

  constructor(scope: Construct, id: string, props: PlatformBusProps) {
    super(scope, id);
    const stack = SwitchyardStack.of(this);
    this.bus = new EventBus(this, 'Bus', { description: `Switchyard ${stack.stage} domain events` });
    new Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      eventPattern: { account: [stack.account] },
      retention: Duration.days(stack.config.production ? 90 : 7),
      description: 'Every domain event, for replay after a consumer outage',
    });
    this.observability = props.observability;
  }

  /**
   * The dead-letter queue for rule targets: give every target
   * `deadLetterQueue: bus.targetDeadLetterQueue`. Created, with its alarm, on first use.
   */
  get targetDeadLetterQueue(): Queue {
    if (!this.deadLetters) {
      this.deadLetters = new Queue(this, 'TargetDeadLetterQueue', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      Validations.of(this.deadLetters).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself a dead-letter queue, for EventBridge rule targets; it is alarmed on any message.',
      });
      this.observability.monitorDeadLetterQueue(this.deadLetters, 'EventTargets');
    }
    return this.deadLetters;
  }

  /** Lets a function publish to the bus and tells it which (`EVENT_BUS_NAME`). */
  grantPublish(fn: LambdaFunction): void {
    this.bus.grantPutEventsTo(fn);
    fn.addEnvironment('EVENT_BUS_NAME', this.bus.eventBusName);
  }

  /** Lets a function describe the bus (a health probe) and tells it which. */
  grantDescribe(fn: LambdaFunction): void {
    fn.addToRolePolicy(new PolicyStatement({ actions: ['events:DescribeEventBus'], resources: [this.bus.eventBusArn] }));
    fn.addEnvironment('EVENT_BUS_NAME', this.bus.eventBusName);
  }
}
