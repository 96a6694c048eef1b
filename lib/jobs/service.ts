import { Duration, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { cancelJobRoute, getJobRoute, listJobsRoute, redriveJobsRoute, retryJobRoute, submitJobRoute, type Priority } from '#shared/contracts/jobs';
import { AppFunction } from '../platform/app-function';
import type { PlatformBus } from '../platform/event-bus';
import type { IdempotencyTable } from '../platform/idempotency-table';
import type { Observability } from '../platform/observability';
import type { PlatformRestApi } from '../platform/rest-api';
import { SwitchyardStack } from '../platform/stage';
import { JobsStorage } from './storage';

export interface JobQueueProps {
  readonly restApi: PlatformRestApi;
  readonly storage: JobsStorage;
  readonly idempotency: IdempotencyTable;
  readonly observability: Observability;
  readonly bus: PlatformBus;
}

/** A lane: its FIFO queue, dead-letter queue and worker. */
export interface JobLane {
  readonly queue: Queue;
  readonly deadLetters: Queue;
  readonly worker: AppFunction;
}

const PRIORITIES: readonly Priority[] = ['high', 'normal', 'low'];
/**
 * A message a worker keeps failing without recording why (a crash loop) goes to the DLQ after
 * this many receives. Attempts (at most 20) end a job sooner; the margin is for jobs of a group
 * received, and skipped, while the job ahead of them was retried.
 */
const SAFETY_NET_RECEIVES = 100;

/**
 * The job queue: submission and management under `/v1/jobs`, one SQS FIFO lane per priority with
 * its own dead-letter queue and its own worker (so lanes never share workers: a low backlog cannot
 * hold back high work), a timer queue and a sweep for delayed jobs. Every function gets only the
 * table, queue, bucket and bus actions it takes.
 */
export class JobQueue extends Construct {
  readonly lanes: Readonly<Record<Priority, JobLane>>;
  readonly timer: Queue;

  constructor(scope: Construct, id: string, props: JobQueueProps) {
    super(scope, id);
    const { restApi, storage, idempotency, observability, bus } = props;
    const { config } = SwitchyardStack.of(this);
    const { table, results } = storage;
    const { maxTimeoutSeconds, batchSize, laneConcurrency, testTypes, webhookAllowHosts } = config.jobs;
    const workerTimeout = Duration.seconds(batchSize * maxTimeoutSeconds + 15);

    const deadLetterQueue = (name: string, fifo: boolean) => {
      const queue = new Queue(this, name, { fifo, encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
      Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue of the job queue; it is alarmed on any message.' });
      return queue;
    };

    const lanes = Object.fromEntries(
      PRIORITIES.map((priority) => {
        const label = priority[0]!.toUpperCase() + priority.slice(1);
        const deadLetters = deadLetterQueue(`${label}DeadLetterQueue`, true);
        const queue = new Queue(this, `${label}Lane`, {
          fifo: true,
          encryption: QueueEncryption.SQS_MANAGED,
          enforceSSL: true,
          // AWS's advice for event source mappings: six times the function's timeout.
          visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * 6),
          retentionPeriod: Duration.days(14),
          deadLetterQueue: { queue: deadLetters, maxReceiveCount: SAFETY_NET_RECEIVES },
        });
        return [priority, { queue, deadLetters }];
      }),
    ) as Record<Priority, { queue: Queue; deadLetters: Queue }>;
    const timerDeadLetters = deadLetterQueue('TimerDeadLetterQueue', false);
    // A release is a read, a send and a write per message (ten at most): short, so that a failed
    // one comes back within the minute a delayed job may start late (six times this, as AWS advises).
    const releaseTimeout = Duration.seconds(10);
    this.timer = new Queue(this, 'Timer', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(releaseTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: timerDeadLetters, maxReceiveCount: 5 },
    });

    const environment = {
      JOBS_TABLE_NAME: table.tableName,
      JOBS_RESULTS_BUCKET: results.bucketName,
      JOBS_MAX_TIMEOUT_SECONDS: String(maxTimeoutSeconds),
      JOBS_TEST_TYPES: String(testTypes),
      JOBS_TIMER_URL: this.timer.queueUrl,
      // Development receivers webhooks may reach (submission checks them too).
      ...(webhookAllowHosts.length ? { WEBHOOK_ALLOW_HOSTS: webhookAllowHosts.join(',') } : {}),
      ...Object.fromEntries(PRIORITIES.flatMap((p) => [[`JOBS_LANE_${p.toUpperCase()}_URL`, lanes[p].queue.queueUrl], [`JOBS_DLQ_${p.toUpperCase()}_URL`, lanes[p].deadLetters.queueUrl]])),
    };
    const fn = (name: string, entry: string, description: string, extra: Partial<ConstructorParameters<typeof AppFunction>[2]> = {}) =>
      new AppFunction(this, name, { domain: 'jobs', entry: `jobs/${entry}`, description, environment, ...extra });
    // The table, and an index only where it is read (`table.grant` would add every index to every function).
    const grantTable = (f: LambdaFunction, actions: readonly string[], index?: string) =>
      f.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [index ? `${table.tableArn}/index/${index}` : table.tableArn] }));
    const grantSendToLanes = (f: LambdaFunction) => PRIORITIES.forEach((p) => lanes[p].queue.grantSendMessages(f));

    const submit = fn('SubmitJob', 'submit-job.ts', 'POST /v1/jobs');
    grantTable(submit, ['dynamodb:PutItem', 'dynamodb:DeleteItem']);
    grantSendToLanes(submit);
    this.timer.grantSendMessages(submit);
    idempotency.bindIdempotency(submit);
    restApi.addRoute(submitJobRoute, submit);

    const get = fn('GetJob', 'get-job.ts', 'GET /v1/jobs/{jobId}');
    grantTable(get, ['dynamodb:GetItem']);
    storage.grantReadResults(get);
    restApi.addRoute(getJobRoute, get);

    const list = fn('ListJobs', 'list-jobs.ts', 'GET /v1/jobs');
    grantTable(list, ['dynamodb:Query'], JobsStorage.TENANT_INDEX);
    grantTable(list, ['dynamodb:Query'], JobsStorage.STATUS_INDEX);
    restApi.addRoute(listJobsRoute, list);

    const cancel = fn('CancelJob', 'cancel-job.ts', 'DELETE /v1/jobs/{jobId}');
    grantTable(cancel, ['dynamodb:UpdateItem']);
    bus.grantPublish(cancel);
    restApi.addRoute(cancelJobRoute, cancel);

    const retry = fn('RetryJob', 'retry-job.ts', 'POST /v1/jobs/{jobId}/retry');
    grantTable(retry, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    grantSendToLanes(retry);
    restApi.addRoute(retryJobRoute, retry);

    const redrive = fn('RedriveJobs', 'redrive-jobs.ts', 'POST /v1/jobs/dlq/redrive', { timeout: Duration.seconds(25) });
    grantTable(redrive, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    grantSendToLanes(redrive);
    PRIORITIES.forEach((p) => lanes[p].deadLetters.grantConsumeMessages(redrive));
    restApi.addRoute(redriveJobsRoute, redrive);

    this.lanes = Object.fromEntries(
      PRIORITIES.map((priority) => {
        const label = priority[0]!.toUpperCase() + priority.slice(1);
        const { queue, deadLetters } = lanes[priority];
        const worker = fn(`${label}Worker`, 'work-job.ts', `Runs the ${priority}-priority lane's jobs`, {
          timeout: workerTimeout,
          environment: {
            ...environment,
            JOBS_LANE: priority,
            WEBHOOK_SECRET_ARN: storage.webhookSecret.secretArn,
          },
          memorySize: 512,
        });
        storage.webhookSecret.grantRead(worker);
        // Its claims and ends (the run's idempotency records too: functions/jobs/run-store.ts), and the idempotency store's record read.
        grantTable(worker, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
        // report.export reads the tenant's history and presigns its download (the URL works only while the signer may read it).
        grantTable(worker, ['dynamodb:Query'], JobsStorage.TENANT_INDEX);
        grantTable(worker, ['dynamodb:Query'], JobsStorage.STATUS_INDEX);
        storage.grantWriteResults(worker);
        storage.grantReadResults(worker);
        deadLetters.grantSendMessages(worker);
        bus.grantPublish(worker);
        // Its own lane's messages: consumed by the mapping, their visibility set for backoff.
        worker.addEventSource(new SqsEventSource(queue, { batchSize, reportBatchItemFailures: true, maxConcurrency: laneConcurrency[priority] }));
        observability.monitorQueue(queue, deadLetters, `Jobs${label}Lane`);
        observability.monitorFunction(worker, `Jobs${label}Worker`);
        return [priority, { queue, deadLetters, worker }];
      }),
    ) as Record<Priority, JobLane>;

    const release = fn('ReleaseJob', 'release-job.ts', 'Moves a delayed job from the timer queue to its lane when it is due', { timeout: releaseTimeout });
    grantTable(release, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    grantSendToLanes(release);
    this.timer.grantSendMessages(release);
    idempotency.bindIdempotency(release);
    release.addEventSource(new SqsEventSource(this.timer, { batchSize: 10, reportBatchItemFailures: true }));
    observability.monitorQueue(this.timer, timerDeadLetters, 'JobsTimer');
    observability.monitorFunction(release, 'JobsRelease');

    const sweep = fn('SweepDueJobs', 'sweep-due-jobs.ts', 'Every minute: jobs due within 15 minutes onto the timer queue', { timeout: Duration.seconds(60) });
    grantTable(sweep, ['dynamodb:Query'], JobsStorage.DUE_INDEX);
    grantTable(sweep, ['dynamodb:UpdateItem']);
    this.timer.grantSendMessages(sweep);
    new Rule(this, 'SweepSchedule', { schedule: Schedule.rate(Duration.minutes(1)), targets: [new LambdaTarget(sweep, { retryAttempts: 0 })] });
    observability.monitorFunction(sweep, 'JobsSweep');
  }
}
