import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import type {
  GatewayResponseModel,
  InvocationOutcome,
  LambdaInvoker,
  LocalEnvironment,
  RestApiModel,
  RestAuthorizerModel,
  RestMethodModel,
  RestResourceModel,
} from '../../../local/model';
import { startRestGateway, type RestAccessLogEntry, type RestGateway, type RestGatewayOptions } from '../../../local/gateway/rest';

export const ENV: LocalEnvironment = { account: '000000000000', region: 'us-east-1' };
export const API_ID = 'a1b2c3d4e5';
export const STAGE = 'dev';

/** The ARN of a fixture function. */
export const fn = (name: string) => `arn:aws:lambda:${ENV.region}:${ENV.account}:function:${name}`;

/** What a fake function does with an event: a result, an error, or a promise of either. */
type Behaviour = (event: any) => Partial<InvocationOutcome> | Promise<Partial<InvocationOutcome>>;

/** A `LambdaInvoker` that records every event and answers from per-function behaviours. */
export class FakeInvoker implements LambdaInvoker {
  readonly calls: { target: string; event: any }[] = [];
  private readonly behaviours = new Map<string, Behaviour>();

  /** Sets what `target` does when invoked. */
  on(target: string, behaviour: Behaviour): this {
    this.behaviours.set(target, behaviour);
    return this;
  }

  /** The events `target` received, oldest first. */
  eventsOf(target: string): any[] {
    return this.calls.filter((c) => c.target === target).map((c) => c.event);
  }

  async invoke(target: string, event: unknown): Promise<InvocationOutcome> {
    this.calls.push({ target, event });
    const behaviour = this.behaviours.get(target);
    if (!behaviour) throw new Error(`no function ${target}`);
    return { requestId: randomUUID(), durationMs: 1, ...(await behaviour(event)) };
  }
}

/** A proxy result answering 200 with a JSON body. */
export const ok = (body: unknown = { ok: true }): Partial<InvocationOutcome> => ({
  result: { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) },
});

/** A function error as Lambda reports it. */
export const functionError = (errorMessage: string, errorType = 'Error'): Partial<InvocationOutcome> => ({ error: { errorType, errorMessage } });

/** An authorizer result: `effect` on `resource` for `principalId`, with a context map. */
export function policy(effect: 'Allow' | 'Deny', resource: string | string[], context: Record<string, unknown> = {}, principalId = 'alice'): Partial<InvocationOutcome> {
  return {
    result: {
      principalId,
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
      context,
    },
  };
}

/** The method ARN prefix of the fixture stage: append `METHOD/path`. */
export const STAGE_ARN = `arn:aws:execute-api:${ENV.region}:${ENV.account}:${API_ID}/${STAGE}`;

/** A Lambda proxy method. */
export function proxy(httpMethod: RestMethodModel['httpMethod'], functionName: string, extra: Partial<RestMethodModel> = {}, timeoutMs = 29_000): RestMethodModel {
  return {
    httpMethod,
    authorizationType: 'NONE',
    apiKeyRequired: false,
    integration: { type: 'AWS_PROXY', functionArn: fn(functionName), timeoutMs },
    ...extra,
  };
}

/** A method behind a Lambda authorizer. */
export const guarded = (httpMethod: RestMethodModel['httpMethod'], functionName: string, authorizerId: string) =>
  proxy(httpMethod, functionName, { authorizationType: 'CUSTOM', authorizerId });

/** A CDK-style CORS preflight. */
export function preflight(origins: string[]): RestMethodModel {
  return {
    httpMethod: 'OPTIONS',
    authorizationType: 'NONE',
    apiKeyRequired: false,
    integration: {
      type: 'MOCK',
      statusCode: 204,
      responseHeaders: {
        'Access-Control-Allow-Headers': 'Authorization,Content-Type',
        'Access-Control-Allow-Origin': origins[0]!,
        'Access-Control-Allow-Methods': 'OPTIONS,GET,POST',
        'Access-Control-Max-Age': '3600',
        ...(origins.length > 1 ? { Vary: 'Origin' } : {}),
      },
      ...(origins.length > 1 ? { allowedOrigins: origins } : {}),
    },
  };
}

export const tokenAuthorizer = (overrides: Partial<RestAuthorizerModel> = {}): RestAuthorizerModel => ({
  id: 'TokenAuthorizer',
  name: 'token',
  type: 'TOKEN',
  functionArn: fn('authorizer'),
  identitySource: 'method.request.header.Authorization',
  resultTtlSeconds: 300,
  ...overrides,
});

/** A hand-written REST API model. */
export function restApi(parts: {
  resources: RestResourceModel[];
  authorizers?: RestAuthorizerModel[];
  gatewayResponses?: GatewayResponseModel[];
  binaryMediaTypes?: string[];
  throttle?: RestApiModel['throttle'];
  apiKeySource?: RestApiModel['apiKeySource'];
}): RestApiModel {
  return {
    logicalId: 'Api',
    stackName: 'fixture-stack',
    name: 'fixture',
    apiId: API_ID,
    stageName: STAGE,
    resources: parts.resources,
    authorizers: parts.authorizers ?? [],
    gatewayResponses: parts.gatewayResponses ?? [],
    binaryMediaTypes: parts.binaryMediaTypes ?? [],
    ...(parts.throttle ? { throttle: parts.throttle } : {}),
    ...(parts.apiKeySource ? { apiKeySource: parts.apiKeySource } : {}),
  };
}

/** Running gateways, closed by `closeGateways` after each test. */
const running: RestGateway[] = [];

/** Starts a gateway on a free port, collecting its access log. */
export async function serve(
  api: RestApiModel,
  invoker: FakeInvoker,
  options: Partial<RestGatewayOptions> = {},
): Promise<{ gateway: RestGateway; log: RestAccessLogEntry[] }> {
  const log: RestAccessLogEntry[] = [];
  const gateway = await startRestGateway({ api, invoker, env: ENV, log: (entry) => log.push(entry), ...options });
  running.push(gateway);
  return { gateway, log };
}

export async function closeGateways(): Promise<void> {
  await Promise.all(running.splice(0).map((g) => g.close()));
}

/** A request sent with exactly these header lines (case and repeats kept), which `fetch` does not allow. */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: [string, string][]; body?: Buffer | string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // Node adds no Host line to headers given as a list, and HTTP/1.1 servers refuse a request without one.
    const lines = options.headers ?? [];
    const headers = lines.some(([name]) => name.toLowerCase() === 'host') ? lines : [['Host', new URL(url).host] as [string, string], ...lines];
    const request = httpRequest(url, { method: options.method ?? 'GET', headers: headers.flat() }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

/** Waits until `check` passes, failing after `timeoutMs`: async effects are polled, never slept on. */
export async function eventually(check: () => void, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
