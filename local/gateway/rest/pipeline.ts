import { validateHeaderName, validateHeaderValue, type IncomingMessage, type ServerResponse } from 'node:http';
import type { LambdaInvoker, LocalEnvironment, RestApiModel, RestMethodModel } from '../../model';
import { LambdaAuthorizers } from './authorizer';
import type { ContextVariables } from './context-template';
import { errorMessageOf, renderGatewayResponse, type GatewayError } from './gateway-responses';
import { newRequestIds, type RequestIds } from './ids';
import { invokeWithin } from './invoke';
import { firstAcceptedType, isBinaryMediaType } from './media-types';
import { mockResponse } from './mock-integration';
import { forwardingHeaders, proxyEventOf, requestContextOf, type StageRequest } from './proxy-event';
import { parseProxyResponse } from './proxy-response';
import { headerPairsOf, headerValue, parseQuery, readBody } from './request';
import { RestRouter, type RouteMatch } from './router';
import { TokenBucket } from './throttle';
import type { UsagePlans } from './usage-plans';

/** One access-log entry, written when a request has been answered. */
export interface RestAccessLogEntry {
  readonly requestId: string;
  readonly extendedRequestId: string;
  readonly method: string;
  /** The path as requested, stage included. */
  readonly path: string;
  /** The matched resource (`/v1/links/{code}`), empty when none matched. */
  readonly resourcePath: string;
  readonly status: number;
  readonly latencyMs: number;
  readonly sourceIp: string;
  /** Time in the Lambda integration, when one was called. */
  readonly integrationLatencyMs?: number;
  /** The gateway response type, when the gateway answered itself. */
  readonly responseType?: string;
  /** Why the gateway answered itself: what AWS would put in its execution log, not in the response. */
  readonly error?: string;
}

/** Settings of one gateway, its defaults applied. */
export interface PipelineSettings {
  readonly api: RestApiModel;
  readonly invoker: LambdaInvoker;
  readonly env: LocalEnvironment;
  readonly integrationTimeoutMs: number;
  readonly maxPayloadBytes: number;
  /** The API keys and usage plans admitting callers to methods that require a key. */
  readonly usagePlans: UsagePlans;
  readonly log?: (entry: RestAccessLogEntry) => void;
}

/**
 * How API Gateway answers a Lambda proxy integration's function error or malformed result:
 * 502 `{"message": "Internal server error"}` through the DEFAULT_5XX response. AWS does not
 * use INTEGRATION_FAILURE for these (LocalStack's AWS-validated emulation agrees), so an API
 * customising only INTEGRATION_FAILURE still shows the plain message for a crashed function.
 */
const FUNCTION_ERROR: GatewayError = { type: 'DEFAULT_5XX', message: 'Internal server error', statusCode: 502 };

/** Response headers that describe the connection; Node sets its own. */
const HOP_BY_HOP = new Set(['connection', 'content-length', 'keep-alive', 'transfer-encoding']);

/** What is known of a request while it goes through the pipeline, for its answer and its log line. */
interface Exchange {
  readonly request: StageRequest;
  readonly rawPath: string;
  readonly started: number;
  resourcePath: string;
  match?: RouteMatch;
  authorizer?: Readonly<Record<string, string | number | null>>;
  /** The authorizer's `usageIdentifierKey`: the API key when the API's key source is AUTHORIZER. */
  usageIdentifierKey?: string;
  /** `$context.identity.apiKey`: the key sent, then the key validated. */
  apiKey?: string;
  /** `$context.identity.apiKeyId`, once the key is validated. */
  apiKeyId?: string;
  integrationLatencyMs?: number;
}

/**
 * The stages a request goes through, in API Gateway's order: body size, stage, stage
 * throttling, route, authorizer, API key and usage plan (key, throttle, quota), integration.
 * Each stage either passes the request on or has the gateway answer with one of its gateway
 * responses.
 */
export class RestPipeline {
  private readonly router: RestRouter;
  private readonly authorizers: LambdaAuthorizers;
  private readonly bucket?: TokenBucket;

  constructor(private readonly settings: PipelineSettings) {
    this.router = new RestRouter(settings.api.resources);
    this.authorizers = new LambdaAuthorizers(settings.api, settings.invoker, settings.integrationTimeoutMs);
    const throttle = settings.api.throttle;
    if (throttle) this.bucket = new TokenBucket(throttle.rateLimit, throttle.burstLimit);
  }

  /** Answers one HTTP request. Never rejects: an emulator fault becomes a 500. */
  async handle(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const receivedAt = new Date();
    const sent = headerPairsOf(incoming);
    const ids = newRequestIds(receivedAt, headerValue(sent, 'X-Amzn-Trace-Id'));
    const sourceIp = (incoming.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const url = incoming.url ?? '/';
    const queryAt = url.indexOf('?');
    const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
    const stagePrefix = `/${this.settings.api.stageName}`;
    const inStage = rawPath === stagePrefix || rawPath.startsWith(`${stagePrefix}/`);

    try {
      const body = await readBody(incoming, this.settings.maxPayloadBytes);
      const request: StageRequest = {
        ids,
        receivedAt,
        httpMethod: incoming.method ?? 'GET',
        path: inStage ? rawPath.slice(stagePrefix.length) || '/' : rawPath,
        headers: forwardingHeaders(sent, { sourceIp, port: incoming.socket.localPort ?? 0, traceId: ids.traceId }),
        query: parseQuery(queryAt < 0 ? '' : url.slice(queryAt + 1)),
        body: body.tooLarge ? Buffer.alloc(0) : body.body,
        sourceIp,
        protocol: `HTTP/${incoming.httpVersion}`,
      };
      const exchange: Exchange = { request, rawPath, started, resourcePath: '' };
      if (body.tooLarge) return this.answerWithError(response, exchange, { type: 'REQUEST_TOO_LARGE' }, `body over ${this.settings.maxPayloadBytes} bytes`);
      if (!inStage) return this.answerForbidden(response, exchange);
      await this.serve(response, exchange);
    } catch (error) {
      this.answerEmulatorFault(response, ids, { method: incoming.method ?? 'GET', rawPath, sourceIp, started }, error);
    }
  }

  private async serve(response: ServerResponse, exchange: Exchange): Promise<void> {
    const { request } = exchange;
    if (this.bucket && !this.bucket.take()) return this.answerWithError(response, exchange, { type: 'THROTTLED' }, 'stage throttle limit reached');

    const match = this.router.match(request.httpMethod, request.path);
    if (!match) return this.answerWithError(response, exchange, { type: 'MISSING_AUTHENTICATION_TOKEN' }, 'no resource and method match this request');
    exchange.match = match;
    exchange.resourcePath = match.resource.path;
    const { method } = match;

    // A REQUEST authorizer's event shows the key sent, before usage plans have checked it.
    if (method.apiKeyRequired && this.keySource === 'HEADER') exchange.apiKey = headerValue(request.headers, 'x-api-key');

    if (method.authorizationType === 'CUSTOM') {
      if (!(await this.authorize(response, exchange, method))) return;
    } else if (method.authorizationType !== 'NONE') {
      return this.answerWithError(
        response,
        exchange,
        { type: 'API_CONFIGURATION_ERROR' },
        `authorization type ${method.authorizationType} is not emulated locally; only NONE and CUSTOM (Lambda authorizers) are`,
      );
    }

    // API Gateway verifies the usage plan after the authorizer: an AUTHORIZER key source needs its answer.
    if (method.apiKeyRequired && !this.admitKey(response, exchange, method)) return;

    const { integration } = method;
    if (integration.type === 'MOCK') {
      const mock = mockResponse(integration, headerValue(request.headers, 'Origin'));
      return this.send(response, exchange, mock.statusCode, mock.headers, '');
    }
    await this.callFunction(response, exchange, integration.functionArn, Math.min(integration.timeoutMs, this.settings.integrationTimeoutMs));
  }

  /** Runs the method's Lambda authorizer; false when the gateway has answered instead. */
  private async authorize(response: ServerResponse, exchange: Exchange, method: RestMethodModel): Promise<boolean> {
    const { api, env } = this.settings;
    const { request, match } = exchange;
    const requestContext = this.requestContextOf(exchange);
    const decision = await this.authorizers.authorize(method, {
      request,
      methodArn: `arn:aws:execute-api:${env.region}:${env.account}:${api.apiId}/${api.stageName}/${request.httpMethod}/${request.path.slice(1)}`,
      resourcePath: exchange.resourcePath,
      pathParameters: match?.pathParameters ?? null,
      requestContext,
      contextVariables: flatten('context', requestContext),
    });
    if (decision.allowed) {
      exchange.authorizer = { ...decision.context, principalId: decision.principalId, integrationLatency: decision.latencyMs };
      if (decision.usageIdentifierKey !== undefined) exchange.usageIdentifierKey = decision.usageIdentifierKey;
      return true;
    }
    if (decision.principalId !== undefined) exchange.authorizer = { ...decision.context, principalId: decision.principalId };
    this.answerWithError(response, exchange, decision.error, decision.detail);
    return false;
  }

  private get keySource(): 'HEADER' | 'AUTHORIZER' {
    return this.settings.api.apiKeySource ?? 'HEADER';
  }

  /** Checks the request's API key against the usage plans; false when the gateway has answered instead. */
  private admitKey(response: ServerResponse, exchange: Exchange, method: RestMethodModel): boolean {
    const { api } = this.settings;
    const source = this.keySource;
    const admission = this.settings.usagePlans.admit({
      apiId: api.apiId,
      stage: api.stageName,
      resourcePath: exchange.resourcePath,
      httpMethod: method.httpMethod,
      source,
      value: source === 'HEADER' ? exchange.apiKey : exchange.usageIdentifierKey,
    });
    if (!admission.admitted) {
      this.answerWithError(response, exchange, admission.error, admission.detail);
      return false;
    }
    exchange.apiKey = admission.key.value;
    exchange.apiKeyId = admission.key.id;
    return true;
  }

  private async callFunction(response: ServerResponse, exchange: Exchange, functionArn: string, timeoutMs: number): Promise<void> {
    const { request, match } = exchange;
    const event = proxyEventOf({
      api: this.settings.api,
      request,
      resourcePath: exchange.resourcePath,
      pathParameters: match?.pathParameters ?? null,
      requestContext: this.requestContextOf(exchange),
    });
    const invocation = await invokeWithin(this.settings.invoker, functionArn, event, timeoutMs);
    exchange.integrationLatencyMs = invocation.latencyMs;
    if (invocation.kind === 'timed-out') {
      return this.answerWithError(response, exchange, { type: 'INTEGRATION_TIMEOUT' }, `${functionArn} did not answer within ${timeoutMs} ms`);
    }
    if (invocation.kind === 'failed') {
      return this.answerWithError(response, exchange, { type: 'API_CONFIGURATION_ERROR' }, `${functionArn} could not be invoked: ${String(invocation.error)}`);
    }
    const { error, result } = invocation.outcome;
    if (error) return this.answerWithError(response, exchange, FUNCTION_ERROR, `${functionArn} failed: ${error.errorType}: ${error.errorMessage}`);
    const proxy = parseProxyResponse(result);
    if (!proxy) return this.answerWithError(response, exchange, FUNCTION_ERROR, `${functionArn} returned a malformed Lambda proxy response`);

    const headers: Record<string, string[]> = {};
    for (const [name, values] of proxy.headers) if (!HOP_BY_HOP.has(name.toLowerCase())) headers[name] = [...values];
    // API Gateway's REST default when the function names no content type.
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = ['application/json'];
    const invalid = Object.entries(headers).find(([name, values]) => !isValidHeader(name, values));
    if (invalid) return this.answerWithError(response, exchange, FUNCTION_ERROR, `${functionArn} returned header ${JSON.stringify(invalid[0])}, which HTTP cannot carry`);
    const binary = proxy.isBase64Encoded && isBinaryMediaType(firstAcceptedType(headerValue(request.headers, 'Accept')), this.settings.api.binaryMediaTypes);
    const body = binary ? Buffer.from(proxy.body, 'base64') : Buffer.from(proxy.body, 'utf8');
    this.send(response, exchange, proxy.statusCode, headers, body);
  }

  private requestContextOf(exchange: Exchange): Record<string, unknown> {
    return {
      ...requestContextOf({
        api: this.settings.api,
        env: this.settings.env,
        request: exchange.request,
        resourcePath: exchange.resourcePath,
        ...(exchange.apiKey ? { apiKey: exchange.apiKey } : {}),
        ...(exchange.apiKeyId ? { apiKeyId: exchange.apiKeyId } : {}),
      }),
      ...(exchange.authorizer ? { authorizer: exchange.authorizer } : {}),
    };
  }

  private answerWithError(response: ServerResponse, exchange: Exchange, error: GatewayError, detail: string): void {
    const { request, match } = exchange;
    const message = errorMessageOf(error);
    const variables = flatten('context', {
      ...this.requestContextOf(exchange),
      error: { message, messageString: JSON.stringify(message), responseType: error.type },
    });
    const rendered = renderGatewayResponse(this.settings.api, error, variables, (source, name) => {
      if (source === 'header') return headerValue(request.headers, name);
      if (source === 'querystring') return request.query.single?.[name];
      return match?.pathParameters?.[name];
    });
    this.send(response, exchange, rendered.statusCode, rendered.headers, rendered.body, { responseType: error.type, error: detail });
  }

  /** A path outside the stage: no API configuration applies, so no gateway response either. */
  private answerForbidden(response: ServerResponse, exchange: Exchange): void {
    const headers = { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'ForbiddenException' };
    this.send(response, exchange, 403, headers, '{"message":"Forbidden"}', { error: `the path is not under stage /${this.settings.api.stageName}` });
  }

  private send(
    response: ServerResponse,
    exchange: Exchange,
    statusCode: number,
    headers: Readonly<Record<string, string | string[]>>,
    body: string | Buffer,
    failure: { responseType?: string; error: string } | undefined = undefined,
  ): void {
    const { ids } = exchange.request;
    response.statusCode = statusCode;
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    setIdentifiers(response, ids);
    response.end(body);
    this.log({
      requestId: ids.requestId,
      extendedRequestId: ids.extendedRequestId,
      method: exchange.request.httpMethod,
      path: exchange.rawPath,
      resourcePath: exchange.resourcePath,
      status: statusCode,
      latencyMs: Math.round(performance.now() - exchange.started),
      sourceIp: exchange.request.sourceIp,
      ...(exchange.integrationLatencyMs !== undefined ? { integrationLatencyMs: exchange.integrationLatencyMs } : {}),
      ...(failure?.responseType ? { responseType: failure.responseType } : {}),
      ...(failure ? { error: failure.error } : {}),
    });
  }

  private answerEmulatorFault(
    response: ServerResponse,
    ids: RequestIds,
    request: { method: string; rawPath: string; sourceIp: string; started: number },
    fault: unknown,
  ): void {
    if (!response.headersSent) {
      response.statusCode = 500;
      response.setHeader('Content-Type', 'application/json');
      setIdentifiers(response, ids);
      response.end('{"message":"Internal server error"}');
    } else {
      response.destroy();
    }
    this.log({
      requestId: ids.requestId,
      extendedRequestId: ids.extendedRequestId,
      method: request.method,
      path: request.rawPath,
      resourcePath: '',
      status: 500,
      latencyMs: Math.round(performance.now() - request.started),
      sourceIp: request.sourceIp,
      error: `local REST gateway fault: ${fault instanceof Error ? (fault.stack ?? fault.message) : String(fault)}`,
    });
  }

  private log(entry: RestAccessLogEntry): void {
    try {
      this.settings.log?.(entry);
    } catch {
      // A failing logger must not take the gateway down with it.
    }
  }
}

function isValidHeader(name: string, values: readonly string[]): boolean {
  try {
    validateHeaderName(name);
    for (const value of values) validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}

function setIdentifiers(response: ServerResponse, ids: RequestIds): void {
  response.setHeader('x-amzn-RequestId', ids.requestId);
  response.setHeader('x-amz-apigw-id', ids.extendedRequestId);
  response.setHeader('X-Amzn-Trace-Id', ids.traceId);
}

/** `{ identity: { sourceIp } }` under `context` as `context.identity.sourceIp`, values as strings. */
function flatten(prefix: string, value: unknown, into = new Map<string, string | null>()): ContextVariables {
  if (value === null) into.set(prefix, null);
  else if (typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) flatten(`${prefix}.${key}`, child, into);
  } else if (value !== undefined) into.set(prefix, String(value));
  return into;
}
