import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SwitchyardStack } from './stage';

const PERIOD = Duration.minutes(5);

/**
 * One alarm topic and one dashboard for the whole app. Every domain registers what it
 * runs (`monitorFunction`, `monitorQueue`, ...) and gets the same widgets and alarms.
 *
 * Alarms are only for what a person must act on: a function or the API failing more than
 * the stage allows, p99 latency over its budget, work stuck in a queue, and anything in a
 * dead-letter queue. Throttles and traffic are on the dashboard, not paging anyone.
 */
export class Observability extends Construct {
  readonly alarmTopic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  private readonly alarmAction: SnsAction;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = SwitchyardStack.of(this);

    // Alarms cannot publish to a topic encrypted with the AWS-managed SNS key, so the
    // topic gets its own key that CloudWatch may use.
    const key = new Key(this, 'AlarmTopicKey', {
      description: `Switchyard ${stack.stage}: encrypts the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: stack.removalPolicy,
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: `Switchyard ${stack.stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (stack.config.alarmEmail) {
      this.alarmTopic.addSubscription(new EmailSubscription(stack.config.alarmEmail));
    }
    this.alarmAction = new SnsAction(this.alarmTopic);

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `switchyard-${stack.stage}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# Switchyard ${stack.stage}\nError rates, p99 latency, throttles, queue age and dead letters for every domain. Alarms go to the \`${stack.stage}\` alarm topic.`,
        width: 24,
        height: 2,
      }),
    );
  }

  /** Error rate, p99 duration and throttles of one function; alarms on its error rate. */
  monitorFunction(fn: IFunction, label: string): void {
    const { alarms: limits } = SwitchyardStack.of(this).config;
    const errorRate = new MathExpression({
      label: `${label} error %`,
      expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
      usingMetrics: {
        errors: fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        invocations: fn.metricInvocations({ period: PERIOD, statistic: 'Sum' }),
      },
      period: PERIOD,
    });
    this.alarm(`${label}ErrorRate`, errorRate, limits.errorRatePercent, `${label}: more than ${limits.errorRatePercent}% of invocations failed`);
    this.addRow(
      new GraphWidget({ title: `${label}: error %`, left: [errorRate], width: 8 }),
      new GraphWidget({ title: `${label}: p99 duration (ms)`, left: [fn.metricDuration({ period: PERIOD, statistic: 'p99' })], width: 8 }),
      new GraphWidget({
        title: `${label}: invocations and throttles`,
        left: [fn.metricInvocations({ period: PERIOD })],
        right: [fn.metricThrottles({ period: PERIOD })],
        width: 8,
      }),
    );
  }

  /**
   * Depth and age of a work queue, with its dead-letter queue: alarms when the oldest
   * message is older than the stage allows, and on any message in the DLQ.
   */
  monitorQueue(queue: IQueue, deadLetterQueue: IQueue | undefined, label: string): void {
    const { alarms: limits } = SwitchyardStack.of(this).config;
    const oldest = queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' });
    this.alarm(`${label}OldestMessage`, oldest, limits.oldestMessageAgeSeconds, `${label}: a message has waited over ${limits.oldestMessageAgeSeconds} s`);
    const widgets: IWidget[] = [
      new GraphWidget({ title: `${label}: depth`, left: [queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD })], width: 8 }),
      new GraphWidget({ title: `${label}: oldest message (s)`, left: [oldest], width: 8 }),
    ];
    if (deadLetterQueue) widgets.push(this.monitorDeadLetters(deadLetterQueue, label));
    this.addRow(...widgets);
  }

  /** Alarms on any message in a dead-letter queue: each one is work that did not happen. */
  monitorDeadLetterQueue(deadLetterQueue: IQueue, label: string): void {
    this.addRow(this.monitorDeadLetters(deadLetterQueue, label));
  }

  /** 5xx rate and p99 latency of the REST API, with alarms on both; 4xx and count on the dashboard. */
  monitorRestApi(api: RestApi): void {
    const { alarms: limits } = SwitchyardStack.of(this).config;
    const serverErrorRate = new MathExpression({
      label: 'REST 5xx %',
      expression: '100 * errors',
      usingMetrics: { errors: api.metricServerError({ period: PERIOD, statistic: 'Average' }) },
      period: PERIOD,
    });
    const p99 = api.metricLatency({ period: PERIOD, statistic: 'p99' });
    this.alarm('RestApi5xxRate', serverErrorRate, limits.errorRatePercent, `REST API: more than ${limits.errorRatePercent}% of requests failed with 5xx`);
    this.alarm('RestApiP99Latency', p99, limits.p99LatencyMs, `REST API: p99 latency above ${limits.p99LatencyMs} ms`);
    this.addRow(
      new GraphWidget({ title: 'REST: requests', left: [api.metricCount({ period: PERIOD })], width: 8 }),
      new GraphWidget({
        title: 'REST: 4xx and 5xx',
        left: [api.metricClientError({ period: PERIOD }), api.metricServerError({ period: PERIOD })],
        width: 8,
      }),
      new GraphWidget({ title: 'REST: p99 latency (ms)', left: [p99, api.metricIntegrationLatency({ period: PERIOD, statistic: 'p99' })], width: 8 }),
    );
  }

  /** Connections, messages and errors of the WebSocket API. */
  monitorWebSocketApi(api: WebSocketApi, stage: WebSocketStage): void {
    const metric = (metricName: string, statistic = 'Sum') =>
      new Metric({ namespace: 'AWS/ApiGateway', metricName, dimensionsMap: { ApiId: api.apiId, Stage: stage.stageName }, period: PERIOD, statistic });
    this.addRow(
      new GraphWidget({ title: 'WebSocket: connects and messages', left: [metric('ConnectCount'), metric('MessageCount')], width: 8 }),
      new GraphWidget({
        title: 'WebSocket: errors',
        left: [metric('ClientError'), metric('ExecutionError'), metric('IntegrationError')],
        width: 8,
      }),
      new GraphWidget({ title: 'WebSocket: p99 integration latency (ms)', left: [metric('IntegrationLatency', 'p99')], width: 8 }),
    );
  }

  private monitorDeadLetters(deadLetterQueue: IQueue, label: string): IWidget {
    const depth = deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' });
    // One message is enough: a dead letter is lost work until someone redrives it.
    this.alarm(`${label}DeadLetters`, depth, 0, `${label}: messages in the dead-letter queue; inspect, fix, then redrive`, 1);
    return new GraphWidget({ title: `${label}: dead letters`, left: [depth], width: 8 });
  }

  /** Breaches in `datapoints` of the last 3 periods raise it (2 by default, to ride out a blip). */
  private alarm(id: string, metric: Metric | MathExpression, threshold: number, description: string, datapoints = 2): void {
    const alarm = new Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: datapoints,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.alarmAction);
    alarm.addOkAction(this.alarmAction);
    this.alarms.push(alarm);
  }

  private addRow(...widgets: IWidget[]): void {
    this.dashboard.addWidgets(...widgets);
  }
}
