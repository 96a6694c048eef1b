import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { SwitchyardStack } from './stage';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The metrics namespace every function publishes to. */
export const METRICS_NAMESPACE = 'Switchyard';

export interface AppFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'runtime' | 'architecture' | 'logGroup' | 'logRetention'> {
  /** The handler file, relative to `functions/`: `platform/get-health.ts`. */
  readonly entry: string;
  /** The bounded context the function belongs to; becomes the Powertools service name. */
  readonly domain: string;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 512 (MB; more memory is also more CPU, which shortens cold starts) */
  readonly memorySize?: number;
}

/**
 * Every Lambda function in Switchyard. Fixes, once:
 * - Node.js 24 on ARM64 (Graviton: about 20 % cheaper per GB-second than x86 for the same work);
 * - X-Ray active tracing;
 * - its own log group, with the stage's retention and removal policy, in JSON log format;
 * - its own role, allowed to write to that log group only (not the AWS-managed basic
 *   execution policy, which may write to any log group);
 * - Powertools service name, metrics namespace and log level;
 * - bundling: ESM, minified, with source maps that `--enable-source-maps` applies to stack traces.
 *
 * The AWS SDK v3 is bundled, not taken from the runtime. The runtime's copy changes under
 * us without a deploy; bundling pins the version the tests ran against, and esbuild keeps
 * only the clients a handler imports, so the bundles stay small.
 */
export class AppFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    const stack = SwitchyardStack.of(scope);
    const { config } = stack;
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: stack.logRetention,
      removalPolicy: stack.removalPolicy,
    });
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    const { entry, domain, environment, bundling, ...rest } = props;
    super(scope, id, {
      role,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      memorySize: 512,
      timeout: Duration.seconds(10),
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      ...rest,
      entry: path.join(ROOT, 'functions', entry),
      projectRoot: ROOT,
      depsLockFilePath: path.join(ROOT, 'package-lock.json'),
      environment: {
        STAGE: stack.stage,
        POWERTOOLS_SERVICE_NAME: domain,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: config.production ? 'INFO' : 'DEBUG',
        NODE_OPTIONS: '--enable-source-maps',
        ...environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        externalModules: [],
        // Some CommonJS dependencies (the X-Ray SDK under the tracer) call `require`,
        // which an ES module does not have.
        banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
        ...bundling,
      },
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions. The infra tests prove no other action is granted on *.',
    });
  }
}
