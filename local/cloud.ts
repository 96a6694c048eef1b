import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readAssembly } from './assembly/read';
import { CallCounter, startAwsEndpoint, type AwsEndpoint } from './aws/endpoint';
import type { FaultInjector } from './aws/faults';
import { ApiKeyStore, startRestGateway, UsagePlans, type ApiKey } from './gateway/rest/index';
import { startWebSocketGateway } from './gateway/websocket/index';
import { DEFAULT_ENVIRONMENT, type CloudModel, type LocalEnvironment } from './model';
import { freePort } from './net';
import { AsyncInvoker, type MessageAttribute } from './runtime/async-invoke';
import { LambdaRuntime, logGroupOf, type FunctionLogLine } from './runtime/lambda';
import { provisionTables, startDynamoDb, type DynamoDbLocal } from './services/dynamodb';
import { EventBridgeService } from './services/eventbridge/service';
import { lambdaLogStreamName } from './services/logs/awslogs';
import { LogSubscriptions } from './services/logs/subscriptions';
import { MetricStore } from './services/metrics';
import { startS3 } from './services/s3/index';
import { SecretsService } from './services/secrets';
import { startEventSourceMappings, startSqs } from './services/sqs/index';

/** Credentials every local client signs with; nothing checks them but the S3 emulator. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'LOCALCLOUDACCESSKEY', secretAccessKey: 'local-cloud-secret-access-key' } as const;

export interface LocalCloudOptions {
  /** The cloud assembly to serve (`cdk.out`). */
  readonly assemblyDir: string;
  /** Where state lives between runs; in memory when left out. */
  readonly stateDir?: string;
  /** Preferred ports; 0 (the default) lets the OS pick, a taken preferred port falls back to a free one. */
  readonly ports?: { readonly aws?: number; readonly rest?: number; readonly webSocket?: number };
  readonly env?: LocalEnvironment;
  readonly onLog?: (line: FunctionLogLine) => void;
  /** Warnings worth a person's attention: unsupported resources, unresolvable variables. */
  readonly onWarning?: (message: string) => void;
  /** WebSocket limits, shorter in tests. */
  readonly webSocket?: { readonly idleTimeoutMs?: number; readonly maxLifetimeMs?: number };
  /**
   * Waits before the retries of a failed asynchronous invocation (the last one repeats); AWS
   * waits 1 minute, then 2.
   * @default [1000, 2000]
   */
  readonly asyncRetryDelaysMs?: readonly number[];
  /** How long CloudWatch Logs subscriptions collect events before a delivery (about a second on AWS). @default 1000 */
  readonly logsFlushIntervalMs?: number;
}

export interface Endpoint {
  readonly name: string;
  readonly url: string;
}

interface Closable {
  close(): Promise<void>;
}

/**
 * The whole stack of one cloud assembly, on this machine: DynamoDB Local, Secrets Manager,
 * EventBridge, the Lambda runtime, and an API Gateway for every REST and WebSocket API, behind
 * one AWS endpoint that counts every call. It knows CloudFormation and AWS, not the app.
 */
export class LocalCloud {
  private constructor(
    private current: CloudModel,
    readonly aws: AwsEndpoint,
    readonly restApis: readonly Endpoint[],
    readonly webSocketApis: readonly (Endpoint & { readonly callbackUrl: string })[],
    readonly counter: CallCounter,
    readonly runtime: LambdaRuntime,
    readonly secrets: SecretsService,
    readonly events: EventBridgeService,
    private readonly closables: readonly Closable[],
    private readonly dynamoDb: DynamoDbLocal,
    /** `host:port` of each API's gateway, by API id. */
    readonly apiOrigins: Readonly<Record<string, string>>,
    private readonly reread: () => CloudModel,
  ) {}

  /**
   * Picks up a new synthesis of the same app: functions whose bundle or environment changed
   * start cold on their next call (the others stay warm), new tables are created, and state is
   * kept. Changes to routes, rules or queues need a restart; they are reported, not applied.
   * @returns the functions reloaded, and what needs a restart
   */
  async reload(): Promise<{ reloaded: string[]; needsRestart: string[] }> {
    const next = this.reread();
    const before = new Map(this.model.functions.map((f) => [f.functionName, f]));
    const changed = next.functions.filter((f) => {
      const old = before.get(f.functionName);
      return !old || old.codeDir !== f.codeDir || JSON.stringify(old.environment) !== JSON.stringify(f.environment);
    });
    await this.runtime.reload(changed);
    await provisionTables(this.dynamoDb.client, next.tables);
    const shape = (m: CloudModel) =>
      JSON.stringify([m.restApis, m.apiKeys, m.usagePlans, m.usagePlanKeys, m.webSocketApis, m.rules, m.queues, m.eventSourceMappings, m.buckets, m.subscriptionFilters, m.functions.map((f) => [f.functionName, f.logGroupName, f.asyncInvoke, f.deadLetterArn])]);
    const needsRestart = shape(next) === shape(this.model) ? [] : ['routes, API keys, rules, queues, buckets, subscription filters or asynchronous invocation settings changed'];
    this.current = next;
    return { reloaded: changed.map((f) => f.functionName), needsRestart };
  }

  /** Fault rules the AWS endpoint applies to the app's calls (`/_local/faults`). */
  get faults(): FaultInjector {
    return this.aws.faults;
  }

  /** The CloudWatch metrics functions published as EMF lines (`/_local/metrics`). */
  get metrics(): MetricStore {
    return this.aws.metrics;
  }

  /** Processes the cloud runs besides this one (DynamoDB Local), for resource accounting. */
  get childPids(): number[] {
    return this.dynamoDb.pid ? [this.dynamoDb.pid] : [];
  }

  /** What the cloud serves, as last read from the assembly. */
  get model(): CloudModel {
    return this.current;
  }

  /** The API keys and usage plans the REST gateways check methods that require a key against. */
  private usagePlans = UsagePlans.none();

  /** Asynchronous invocations, with Lambda's retries, destinations and dead-letter queues. */
  private asyncInvoker?: AsyncInvoker;

  /**
   * Invokes a function asynchronously, as `Invoke` with `InvocationType: Event` does: retried on
   * error, its record sent to the function's destinations.
   * @returns the request id its attempts and records carry
   * @throws AsyncInvokeError ResourceNotFoundException when there is no such function
   */
  invokeAsync(target: string, event: unknown): { readonly requestId: string } {
    return this.asyncInvoker!.invoke(target, event);
  }

  /** Every API key of the app with its value (generated ones kept under the state dir), for clients to send as `x-api-key`. */
  get apiKeys(): readonly ApiKey[] {
    return this.usagePlans.apiKeys;
  }

  /** Environment variables that point an AWS SDK or CLI at this cloud. */
  get clientEnvironment(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL: this.aws.url,
      AWS_REGION: this.model.env.region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    };
  }

  static async start(options: LocalCloudOptions): Promise<LocalCloud> {
    const env = options.env ?? DEFAULT_ENVIRONMENT;
    const warn = options.onWarning ?? (() => undefined);
    const awsPort = await freePort(options.ports?.aws ?? 0);
    const awsUrl = `http://127.0.0.1:${awsPort}`;

    // API ids are known before ports are given out, so URLs in the template resolve locally.
    const apiPorts = new Map<string, number>();
    const probe = readAssembly(options.assemblyDir, { env, endpoints: { sqs: awsUrl, api: () => undefined } });
    let next = options.ports?.rest ?? 0;
    for (const api of [...probe.restApis, ...probe.webSocketApis]) {
      const port = await freePort(next);
      apiPorts.set(api.apiId, port);
      if (next) next = port + 1;
    }
    const readOptions = {
      env,
      endpoints: {
        sqs: awsUrl,
        api: (apiId: string, protocol: 'https' | 'wss') => {
          const port = apiPorts.get(apiId);
          if (!port) return undefined;
          return `${protocol === 'wss' ? 'ws' : 'http'}://127.0.0.1:${port}`;
        },
      },
    };
    const model = readAssembly(options.assemblyDir, readOptions);
    for (const resource of model.unsupported) warn(`not served locally: ${resource.type} ${resource.stackName}/${resource.logicalId}`);
    for (const fn of model.functions) {
      for (const variable of fn.unresolved) warn(`${fn.functionName}: ${variable.name} has no local value: ${variable.reason}`);
    }

    const closables: Closable[] = [];
    try {
      const dynamoDb = await startDynamoDb({ port: await freePort(), ...(options.stateDir ? { dataDir: join(options.stateDir, 'dynamodb') } : {}) });
      closables.push({ close: () => dynamoDb.stop() });
      await provisionTables(dynamoDb.client, model.tables);

      const sqsService = await startSqs({
        queues: model.queues,
        env,
        onWarning: warn,
        ...(options.stateDir ? { stateFile: join(options.stateDir, 'sqs.json') } : {}),
      });
      closables.push({ close: () => sqsService.stop() });

      const secrets = new SecretsService(model.secrets, options.stateDir ? join(options.stateDir, 'secrets.json') : undefined);
      const counter = new CallCounter();
      const metrics = new MetricStore();
      // Set once the async invoker exists; no function runs before `start` returns.
      let subscriptions: LogSubscriptions | undefined;
      const runtime = new LambdaRuntime(model.functions, {
        env,
        baseEnvironment: functionBaseEnvironment(awsUrl),
        // EMF lines are metrics whoever reads the logs; CloudWatch Logs extracts them likewise.
        onLog: (line) => {
          metrics.ingestLine(line.line);
          subscriptions?.ingest({ logGroup: line.logGroup ?? `/aws/lambda/${line.functionName}`, logStream: line.logStream ?? lambdaLogStreamName(new Date(), '0'.repeat(32)), message: line.line });
          options.onLog?.(line);
        },
      });

      // EventBridge's deliveries are the platform's, not the app's calls: straight to SQS.
      const sqs = new SQSClient({ endpoint: sqsService.endpoint, region: env.region, credentials: LOCAL_CREDENTIALS });
      const sendToQueue = async (queueArn: string, body: string, attributes?: Readonly<Record<string, MessageAttribute>>) => {
        await sqs.send(
          new SendMessageCommand({ QueueUrl: `${sqsService.endpoint}/${env.account}/${queueArn.split(':').pop()}`, MessageBody: body, ...(attributes ? { MessageAttributes: { ...attributes } } : {}) }),
        );
      };
      const asyncInvoker = new AsyncInvoker({
        runtime,
        ...(options.asyncRetryDelaysMs ? { retryDelaysMs: options.asyncRetryDelaysMs } : {}),
        onWarning: warn,
        targets: {
          sqs: sendToQueue,
          // `events` is made below; a record reaches here only after a function has run.
          eventBridge: async (busArn, entry) => {
            const answer = await events.handle('PutEvents', {
              Entries: [{ Source: entry.source, DetailType: entry.detailType, Detail: JSON.stringify(entry.detail), Resources: [...entry.resources], EventBusName: busArn }],
            });
            if (answer.status !== 200 || (answer.body as { FailedEntryCount?: number }).FailedEntryCount) throw new Error(`PutEvents refused: ${JSON.stringify(answer.body)}`);
          },
        },
      });
      // CloudWatch Logs invokes a Lambda destination asynchronously.
      const logs = new LogSubscriptions({
        filters: model.subscriptionFilters,
        env,
        deliver: (functionArn, event) => void asyncInvoker.invoke(functionArn, event),
        ...(options.logsFlushIntervalMs !== undefined ? { flushIntervalMs: options.logsFlushIntervalMs } : {}),
        onWarning: warn,
      });
      subscriptions = logs;
      // Closables close all at once; these three in order: the last log batches are handed to
      // Lambda, attempts under way get a moment to finish, then the environments go.
      closables.push({
        close: async () => {
          await logs.stop();
          await asyncInvoker.stop();
          await runtime.close();
        },
      });
      const logGroups = new Set(model.functions.map(logGroupOf));
      for (const filter of model.subscriptionFilters) {
        if (!logGroups.has(filter.logGroupName)) warn(`subscription filter ${filter.name}: no function logs to ${filter.logGroupName}`);
      }
      const events = new EventBridgeService({
        buses: model.buses,
        rules: model.rules,
        env,
        deliver: {
          // EventBridge invokes Lambda asynchronously: delivery succeeds once Lambda accepts the
          // event, and Lambda's own retries (two, as on AWS) take over from there.
          lambda: async (functionArn, event) => {
            asyncInvoker.invoke(functionArn, event);
          },
          sqs: async (queueArn, body, { messageGroupId }) => {
            const queueName = queueArn.split(':').pop()!;
            await sqs.send(
              new SendMessageCommand({
                QueueUrl: `${sqsService.endpoint}/${env.account}/${queueName}`,
                MessageBody: body,
                ...(messageGroupId ? { MessageGroupId: messageGroupId } : {}),
                // EventBridge deduplicates FIFO deliveries by event; the body carries the event id.
                ...(queueName.endsWith('.fifo') ? { MessageDeduplicationId: createHash('sha256').update(body).digest('hex') } : {}),
              }),
            );
          },
        },
      });
      events.start();
      closables.push({ close: async () => events.stop() });

      const s3 = await startS3({
        buckets: model.buckets,
        env,
        credentials: LOCAL_CREDENTIALS,
        log: warn,
        ...(options.stateDir ? { dataDir: join(options.stateDir, 's3') } : {}),
        notify: {
          eventBridge: async (entry) => {
            const answer = await events.handle('PutEvents', {
              Entries: [{ Source: entry.source, DetailType: entry.detailType, Detail: JSON.stringify(entry.detail), Resources: entry.resources, Time: entry.time.toISOString() }],
            });
            if (answer.status !== 200 || (answer.body as { FailedEntryCount?: number }).FailedEntryCount) throw new Error(`PutEvents refused: ${JSON.stringify(answer.body)}`);
          },
          // S3 invokes Lambda asynchronously, like EventBridge.
          lambda: async (functionArn, event) => {
            asyncInvoker.invoke(functionArn, event);
          },
          sqs: (queueArn, body) => sendToQueue(queueArn, body),
        },
      });
      closables.push({ close: () => s3.stop() });

      const aws = await startAwsEndpoint({
        port: awsPort,
        counter,
        upstreams: { dynamodb: dynamoDb.endpoint, sqs: sqsService.endpoint, s3: s3.endpoint },
        services: { secretsmanager: secrets, events },
        lambda: runtime,
        lambdaAsync: asyncInvoker,
        metrics,
      });
      closables.push(aws);

      // Pollers talk to SQS directly: their receives are the platform's, not the app's calls.
      const mappings = startEventSourceMappings({
        mappings: model.eventSourceMappings,
        queues: model.queues,
        invoker: runtime,
        endpoint: sqsService.endpoint,
        env,
        onError: warn,
      });
      closables.push({ close: () => mappings.stop() });

      // One set of usage plans for every gateway: a plan's limits are per key across its API stages.
      const usagePlans = new UsagePlans({
        keys: new ApiKeyStore(model.apiKeys, options.stateDir ? join(options.stateDir, 'api-keys.json') : undefined),
        plans: model.usagePlans,
        planKeys: model.usagePlanKeys,
      });
      const restApis: Endpoint[] = [];
      for (const api of model.restApis) {
        const gateway = await startRestGateway({ api, invoker: runtime, env, port: apiPorts.get(api.apiId)!, usagePlans });
        closables.push(gateway);
        // Like API Gateway's own stage URL, with the trailing slash, so `${url}health` works.
        restApis.push({ name: api.name, url: gateway.url.replace(/\/?$/, '/') });
      }
      const webSocketApis: (Endpoint & { callbackUrl: string })[] = [];
      for (const api of model.webSocketApis) {
        const gateway = await startWebSocketGateway({
          api,
          invoker: runtime,
          env,
          port: apiPorts.get(api.apiId)!,
          onManagementCall: (operation) => counter.add('execute-api', operation),
          ...(options.webSocket?.idleTimeoutMs ? { idleTimeoutMs: options.webSocket.idleTimeoutMs } : {}),
          ...(options.webSocket?.maxLifetimeMs ? { maxLifetimeMs: options.webSocket.maxLifetimeMs } : {}),
        });
        closables.push(gateway);
        webSocketApis.push({ name: api.name, url: gateway.url, callbackUrl: gateway.callbackUrl });
      }
      const apiOrigins = Object.fromEntries([...apiPorts].map(([apiId, port]) => [apiId, `127.0.0.1:${port}`]));
      const reread = () => readAssembly(options.assemblyDir, readOptions);
      const cloud = new LocalCloud(model, aws, restApis, webSocketApis, counter, runtime, secrets, events, closables, dynamoDb, apiOrigins, reread);
      cloud.usagePlans = usagePlans;
      cloud.asyncInvoker = asyncInvoker;
      return cloud;
    } catch (error) {
      await Promise.allSettled([...closables].reverse().map((c) => c.close()));
      throw error;
    }
  }

  /** Stops everything it started, newest first. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.closables].reverse().map((c) => c.close()));
    this.dynamoDb.client.destroy();
  }
}

/** What every function gets before its own variables: the way to this machine's AWS. */
export function functionBaseEnvironment(awsUrl: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: awsUrl,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    // No X-Ray daemon here: the tracer stays off instead of failing every segment.
    POWERTOOLS_TRACE_ENABLED: 'false',
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    // The SDK warns that the host's Node.js is older than Lambda's; once, from the CLI, is enough.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}
