import { readFileSync } from 'node:fs';
import { DynamoDBClient, GetItemCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DescribeEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { csv, positiveInt, readEnv } from '#shared/env';
import { ConfigurationError } from '#shared/errors';
import { checkReadiness, type Probe } from '#shared/health';
import { logger } from '#shared/powertools';
import { lambdaContext } from '../../support/lambda-context';

// Failed checks are logged by design; the test output does not need them.
beforeAll(() => logger.setLogLevel('SILENT'));

const dynamoDb = mockClient(DynamoDBClient);
const eventBridge = mockClient(EventBridgeClient);

const context = lambdaContext('switchyard-get-health');

/** Resolves after `ms` of (possibly fake) time. */
const after = (ms: number, value: unknown = 'ok'): Promise<unknown> => new Promise((resolve) => setTimeout(() => resolve(value), ms));

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('checkReadiness', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  it('passes when every probe answers, with each latency', async () => {
    // Prepare
    const probes: Record<string, Probe> = { dynamodb: () => after(20), eventbridge: () => after(35) };

    // Act
    const pending = checkReadiness(probes, { version: '1.4.0', timeoutMs: 1000, uptimeSeconds: 42.9, now: () => Date.now() });
    await vi.advanceTimersByTimeAsync(35);
    const report = await pending;

    // Assess
    expect(report).toEqual({
      status: 'pass',
      version: '1.4.0',
      uptimeSeconds: 42,
      checks: { dynamodb: { status: 'pass', latencyMs: 20 }, eventbridge: { status: 'pass', latencyMs: 35 } },
    });
  });

  it('fails when one probe rejects, naming its error, while the others still pass', async () => {
    // Prepare
    const probes: Record<string, Probe> = {
      dynamodb: () => after(5).then(() => Promise.reject(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} }))),
      eventbridge: () => after(10),
    };

    // Act
    const pending = checkReadiness(probes, { version: '1.4.0', timeoutMs: 1000, uptimeSeconds: 1, now: () => Date.now() });
    await vi.advanceTimersByTimeAsync(10);
    const report = await pending;

    // Assess
    expect(report.status).toBe('fail');
    expect(report.checks['dynamodb']).toEqual({ status: 'fail', latencyMs: 5, error: 'ResourceNotFoundException' });
    expect(report.checks['eventbridge']).toEqual({ status: 'pass', latencyMs: 10 });
  });

  it('cuts a probe that never answers off at the timeout and aborts its signal', async () => {
    // Prepare
    let hung: AbortSignal | undefined;
    let answered: AbortSignal | undefined;
    const probes: Record<string, Probe> = {
      dynamodb: (signal) => {
        hung = signal;
        return new Promise(() => undefined);
      },
      eventbridge: (signal) => {
        answered = signal;
        return after(10);
      },
    };
    let settled = false;

    // Act
    const pending = checkReadiness(probes, { version: '1.4.0', timeoutMs: 50, uptimeSeconds: 1, now: () => Date.now() }).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(49);
    const settledBeforeTimeout = settled;
    await vi.advanceTimersByTimeAsync(1);
    const report = await pending;

    // Assess
    expect(settledBeforeTimeout).toBe(false);
    expect(report.status).toBe('fail');
    expect(report.checks['dynamodb']).toEqual({ status: 'fail', latencyMs: 50, error: 'Timeout' });
    expect(report.checks['eventbridge']).toEqual({ status: 'pass', latencyMs: 10 });
    expect(hung?.aborted).toBe(true);
    expect(answered?.aborted).toBe(false);
  });

  it('leaves no timer behind once every probe has answered', async () => {
    // Act
    const pending = checkReadiness({ dynamodb: () => Promise.resolve() }, { version: '1', timeoutMs: 60_000, uptimeSeconds: 1 });
    await vi.advanceTimersByTimeAsync(0);
    await pending;

    // Assess
    expect(vi.getTimerCount()).toBe(0);
  });

  it('names only the kind of failure: no message, address, stack or other detail', async () => {
    // Prepare
    class SocketError extends Error {
      override name = 'SocketError';
    }
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.12:443'), { code: 'ECONNREFUSED' });
    const probes: Record<string, Probe> = {
      plain: () => Promise.reject(new Error('table arn:aws:dynamodb:eu-west-1:123456789012:table/x is being deleted')),
      named: () => Promise.reject(new SocketError('socket hang up at 10.0.0.12')),
      coded: () => Promise.reject(refused),
      odd: () => Promise.reject('not an error'),
    };

    // Act
    const report = await checkReadiness(probes, { version: '1', timeoutMs: 1000, uptimeSeconds: 1 });

    // Assess
    expect(report.checks['plain']?.error).toBe('Error');
    expect(report.checks['named']?.error).toBe('SocketError');
    expect(report.checks['coded']?.error).toBe('ECONNREFUSED');
    expect(report.checks['odd']?.error).toBe('Error');
    expect(JSON.stringify(report)).not.toMatch(/10\.0\.0\.12|123456789012/);
  });

  it('measures latency with performance.now by default, in whole milliseconds', async () => {
    // Prepare
    vi.useRealTimers();

    // Act
    const report = await checkReadiness({ dynamodb: () => after(15) }, { version: '1', timeoutMs: 1000, uptimeSeconds: 0 });

    // Assess
    const latency = report.checks['dynamodb']!.latencyMs;
    expect(Number.isInteger(latency)).toBe(true);
    expect(latency).toBeGreaterThanOrEqual(14);
    expect(latency).toBeLessThan(1000);
  });
});

const HEALTH_ENV = {
  AWS_REGION: 'us-east-1',
  APP_VERSION: '2026.03.01-4f2a9c1',
  IDEMPOTENCY_TABLE_NAME: 'switchyard-dev-idempotency',
  EVENT_BUS_NAME: 'switchyard-dev-bus',
  HEALTH_CHECK_TIMEOUT_MS: '50',
  POWERTOOLS_SERVICE_NAME: 'health-test',
  POWERTOOLS_METRICS_NAMESPACE: 'SwitchyardTest',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  // Dev mode makes Powertools write through the global console, which the tests silence.
  POWERTOOLS_DEV: 'true',
} as const;

/** GET /health as API Gateway sends it: the POST fixture made a public, bodiless GET. */
function healthEvent(): APIGatewayProxyEvent {
  const event = JSON.parse(readFileSync(new URL('../../events/apigw/rest-proxy-post.json', import.meta.url), 'utf8')) as APIGatewayProxyEvent;
  event.httpMethod = 'GET';
  event.resource = '/health';
  event.path = '/health';
  event.body = null;
  event.pathParameters = null;
  event.queryStringParameters = null;
  delete event.headers['Authorization'];
  delete event.headers['Content-Type'];
  delete event.requestContext.authorizer;
  event.requestContext.resourcePath = '/health';
  event.requestContext.httpMethod = 'GET';
  return event;
}

/** The options a mocked `send` was called with (the SDK's second argument), which the mock's types leave out. */
function sendOptions(call: { args: readonly unknown[] } | undefined): { abortSignal?: AbortSignal } | undefined {
  return call?.args[1] as { abortSignal?: AbortSignal } | undefined;
}

type HealthHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** Imports the handler afresh, so it reads the environment stubbed for this test. */
async function importHandler(): Promise<HealthHandler> {
  const module = await import('../../../functions/platform/get-health');
  return module.handler as HealthHandler;
}

describe('GET /health (get-health handler)', () => {
  beforeEach(() => {
    dynamoDb.reset();
    eventBridge.reset();
    vi.resetModules();
    for (const [name, value] of Object.entries(HEALTH_ENV)) vi.stubEnv(name, value);
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  });

  it('answers 200 and pass when both dependencies answer, without any authorizer context', async () => {
    // Prepare
    dynamoDb.on(GetItemCommand).resolves({});
    eventBridge.on(DescribeEventBusCommand).resolves({ Name: HEALTH_ENV.EVENT_BUS_NAME });
    const handler = await importHandler();

    // Act
    const result = await handler(healthEvent(), context);

    // Assess
    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body);
    expect(body).toMatchObject({
      status: 'pass',
      version: HEALTH_ENV.APP_VERSION,
      checks: { dynamodb: { status: 'pass' }, eventbridge: { status: 'pass' } },
    });
    expect(Number.isInteger(body.uptimeSeconds)).toBe(true);
    expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('probes the configured table and bus, handing each call an abort signal', async () => {
    // Prepare
    dynamoDb.on(GetItemCommand).resolves({});
    eventBridge.on(DescribeEventBusCommand).resolves({});
    const handler = await importHandler();

    // Act
    await handler(healthEvent(), context);

    // Assess
    const [getItem] = dynamoDb.commandCalls(GetItemCommand);
    const [describeBus] = eventBridge.commandCalls(DescribeEventBusCommand);
    expect(getItem?.args[0].input).toMatchObject({ TableName: HEALTH_ENV.IDEMPOTENCY_TABLE_NAME, Key: { id: { S: 'health#probe' } } });
    expect(describeBus?.args[0].input).toEqual({ Name: HEALTH_ENV.EVENT_BUS_NAME });
    expect(sendOptions(getItem)?.abortSignal).toBeInstanceOf(AbortSignal);
    expect(sendOptions(describeBus)?.abortSignal).toBeInstanceOf(AbortSignal);
  });

  it('answers 503 with the DynamoDB check failed when DynamoDB rejects', async () => {
    // Prepare
    dynamoDb.on(GetItemCommand).rejects(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} }));
    eventBridge.on(DescribeEventBusCommand).resolves({});
    const handler = await importHandler();

    // Act
    const result = await handler(healthEvent(), context);

    // Assess
    expect(result.statusCode).toBe(503);
    const body = JSON.parse(result.body);
    expect(body.status).toBe('fail');
    expect(body.checks.dynamodb).toMatchObject({ status: 'fail', error: 'ResourceNotFoundException' });
    expect(body.checks.eventbridge.status).toBe('pass');
    expect(result.headers?.['content-type']).toBe('application/json; charset=utf-8');
  });

  it('answers 503 after HEALTH_CHECK_TIMEOUT_MS when the bus never answers, aborting the call', async () => {
    // Prepare
    dynamoDb.on(GetItemCommand).resolves({});
    eventBridge.on(DescribeEventBusCommand).callsFake(() => new Promise(() => undefined));
    const handler = await importHandler();

    // Act
    const result = await handler(healthEvent(), context);

    // Assess
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).checks.eventbridge).toMatchObject({ status: 'fail', error: 'Timeout' });
    const signal = sendOptions(eventBridge.commandCalls(DescribeEventBusCommand)[0])?.abortSignal;
    expect(signal?.aborted).toBe(true);
  });

  it('refuses to load without IDEMPOTENCY_TABLE_NAME, naming it', async () => {
    // Prepare
    vi.stubEnv('IDEMPOTENCY_TABLE_NAME', undefined);

    // Act
    const loading = importHandler();

    // Assess
    const error = await loading.then(
      () => undefined,
      (e: unknown) => e,
    );
    // The handler loaded its own copy of the errors module; compare against that one.
    const { ConfigurationError: LoadedConfigurationError } = await import('#shared/errors');
    expect(error).toBeInstanceOf(LoadedConfigurationError);
    expect((error as Error).message).toContain('IDEMPOTENCY_TABLE_NAME is not set');
  });
});

describe('readEnv', () => {
  const shape = {
    APP_VERSION: z.string().min(1),
    IDEMPOTENCY_TABLE_NAME: z.string().min(1),
    EVENT_BUS_NAME: z.string().min(1),
    HEALTH_CHECK_TIMEOUT_MS: positiveInt.default(1000),
  };

  it('returns typed values, with defaults for what is left out', () => {
    // Act
    const env = readEnv(shape, { APP_VERSION: '1.0.0', IDEMPOTENCY_TABLE_NAME: 'table', EVENT_BUS_NAME: 'bus' });

    // Assess
    expect(env).toEqual({ APP_VERSION: '1.0.0', IDEMPOTENCY_TABLE_NAME: 'table', EVENT_BUS_NAME: 'bus', HEALTH_CHECK_TIMEOUT_MS: 1000 });
  });

  it('coerces numbers and splits lists', () => {
    // Act
    const env = readEnv({ TIMEOUT: positiveInt, ORIGINS: csv }, { TIMEOUT: '250', ORIGINS: 'https://a.example, https://b.example,,' });

    // Assess
    expect(env).toEqual({ TIMEOUT: 250, ORIGINS: ['https://a.example', 'https://b.example'] });
  });

  it('names every missing variable in one ConfigurationError', () => {
    // Act
    const read = () => readEnv(shape, { APP_VERSION: '1.0.0' });

    // Assess
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow('IDEMPOTENCY_TABLE_NAME is not set');
    expect(read).toThrow('EVENT_BUS_NAME is not set');
  });

  it('names a malformed variable with the rule it broke', () => {
    // Act
    const read = () => readEnv(shape, { APP_VERSION: '1.0.0', IDEMPOTENCY_TABLE_NAME: 'table', EVENT_BUS_NAME: 'bus', HEALTH_CHECK_TIMEOUT_MS: '-5' });

    // Assess
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(/HEALTH_CHECK_TIMEOUT_MS: Too small: expected number to be >0/);
  });

  it('reports a variable set to an empty string as malformed, not missing', () => {
    // Act
    const read = () => readEnv(shape, { APP_VERSION: '', IDEMPOTENCY_TABLE_NAME: 'table', EVENT_BUS_NAME: 'bus' });

    // Assess
    expect(read).toThrow(/APP_VERSION: Too small/);
    expect(read).not.toThrow(/APP_VERSION is not set/);
  });

  it('reads the source it is given, not process.env', () => {
    // Prepare
    vi.stubEnv('APP_VERSION', 'from-process');

    // Act
    const env = readEnv({ APP_VERSION: z.string() }, { APP_VERSION: 'from-source' });

    // Assess
    expect(env).toEqual({ APP_VERSION: 'from-source' });
    expect(() => readEnv({ APP_VERSION: z.string() }, {})).toThrow('APP_VERSION is not set');
  });
});
