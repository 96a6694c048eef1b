import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { LambdaInvoker } from '../model';
import { MetricStore } from '../services/metrics';
import { FaultInjector, FaultRuleError, type FaultRule, type FaultRuleInput } from './faults';
import { serviceError } from './service-errors';

/** An AWS JSON-protocol answer from an in-process service. */
export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

/** A service answered in this process, by operation name. */
export interface JsonService {
  handle(operation: string, body: Record<string, unknown>): JsonResponse | Promise<JsonResponse>;
}

/** Counts every AWS API call the local cloud serves, per service and operation, and DynamoDB's also per table. */
export class CallCounter {
  private readonly counts = new Map<string, Map<string, number>>();
  private readonly tables = new Map<string, Map<string, number>>();

  add(service: string, operation: string): void {
    bump(this.counts, service, operation);
  }

  /** Counts a DynamoDB call against each table it names (a transaction or batch may name several). */
  addTables(operation: string, tableNames: readonly string[]): void {
    for (const table of new Set(tableNames)) bump(this.tables, table, operation);
  }

  /** `{ dynamodb: { GetItem: 3 }, ... }` */
  snapshot(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.counts].map(([service, ops]) => [service, Object.fromEntries(ops)]));
  }

  /** `{ 'switchyard-dev-data-Chat...': { UpdateItem: 2 }, ... }`: DynamoDB calls by table and operation. */
  tableSnapshot(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.tables].map(([table, ops]) => [table, Object.fromEntries(ops)]));
  }

  /** Calls of one service (or one operation of it) since the last reset. */
  total(service: string, operation?: string): number {
    const ops = this.counts.get(service);
    if (!ops) return 0;
    return operation ? (ops.get(operation) ?? 0) : [...ops.values()].reduce((a, b) => a + b, 0);
  }

  reset(): void {
    this.counts.clear();
    this.tables.clear();
  }
}

function bump(counts: Map<string, Map<string, number>>, key: string, operation: string): void {
  const byOperation = counts.get(key) ?? new Map<string, number>();
  byOperation.set(operation, (byOperation.get(operation) ?? 0) + 1);
  counts.set(key, byOperation);
}

/** The tables a DynamoDB request names: `TableName`, the keys of `RequestItems`, each `TransactItems` entry's. */
export function tablesOf(request: Record<string, unknown>): string[] {
  const named = typeof request['TableName'] === 'string' ? [request['TableName']] : [];
  const batch = request['RequestItems'] && typeof request['RequestItems'] === 'object' ? Object.keys(request['RequestItems']) : [];
  const transaction = Array.isArray(request['TransactItems'])
    ? (request['TransactItems'] as Record<string, { TableName?: unknown } | undefined>[]).flatMap((item) => Object.values(item).map((action) => action?.TableName)).filter((name): name is string => typeof name === 'string')
    : [];
  return [...named, ...batch, ...transaction];
}

export interface AwsEndpointOptions {
  readonly host?: string;
  readonly port: number;
  readonly counter: CallCounter;
  /** Services that speak a JSON protocol and are proxied to a process of their own (DynamoDB Local). */
  readonly upstreams?: Readonly<Record<string, string>>;
  /** Services answered in this process, by signing name (`secretsmanager`, `events`). */
  readonly services?: Readonly<Record<string, JsonService>>;
  /** Serves the Lambda Invoke API (`aws lambda invoke`, the SDK's `InvokeCommand`). */
  readonly lambda?: LambdaInvoker;
  /**
   * Runs `Invoke` calls with `InvocationType: Event`, with Lambda's retries and destinations;
   * it throws (an error whose message starts `ResourceNotFoundException`) for an unknown function.
   * @default the synchronous invoker, run in the background without retries
   */
  readonly lambdaAsync?: { invoke(target: string, event: unknown): { readonly requestId: string } };
  /** The fault rules served on `/_local/faults` and applied to every call. @default a new one, with no rules */
  readonly faults?: FaultInjector;
  /** The metrics served on `/_local/metrics`. @default an empty store */
  readonly metrics?: MetricStore;
  /** How long a `timeout` fault holds a call its client has not given up on. @default 60 s */
  readonly faultTimeoutMs?: number;
}

export interface AwsEndpoint {
  readonly url: string;
  readonly port: number;
  readonly faults: FaultInjector;
  readonly metrics: MetricStore;
  close(): Promise<void>;
}

/** What the routes share: the options, with the stores settled, and the calls a fault holds. */
interface EndpointState extends AwsEndpointOptions {
  readonly faults: FaultInjector;
  readonly metrics: MetricStore;
  readonly held: Set<IncomingMessage>;
}

/** `X-Amz-Target` prefixes of the JSON protocols, by the signing name of their service. */
const TARGET_PREFIXES: Record<string, string> = {
  DynamoDB_20120810: 'dynamodb',
  DynamoDBStreams_20120810: 'dynamodb',
  AmazonSQS: 'sqs',
  AWSEvents: 'events',
  secretsmanager: 'secretsmanager',
};

/**
 * The one endpoint the SDK and the AWS CLI talk to (`AWS_ENDPOINT_URL`). It tells services
 * apart by `X-Amz-Target` or, failing that, the service in the request's SigV4 credential
 * scope, counts every call, fails it if a fault rule says so (`/_local/faults`), and hands it
 * to the service that serves it. Signatures are not checked here: the local cloud trusts its
 * own machine (S3 presigned URLs are the exception, checked by the S3 emulator, because that
 * check is a behaviour users rely on).
 */
export async function startAwsEndpoint(options: AwsEndpointOptions): Promise<AwsEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const state: EndpointState = { ...options, faults: options.faults ?? new FaultInjector(), metrics: options.metrics ?? new MetricStore(), held: new Set() };
  const server: Server = createServer((req, res) => {
    void route(req, res, state).catch((error: Error) => {
      if (!res.headersSent) jsonReply(res, 500, { __type: 'InternalFailure', message: error.message });
      else res.destroy(error);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${host}:${port}`,
    port,
    faults: state.faults,
    metrics: state.metrics,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Calls a `timeout` fault holds would keep the server open for a minute.
        for (const req of state.held) req.socket.destroy();
      }),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, options: EndpointState): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  if (url.pathname === '/_local/calls') {
    if (req.method === 'DELETE') options.counter.reset();
    return jsonReply(res, 200, url.searchParams.get('by') === 'table' ? options.counter.tableSnapshot() : options.counter.snapshot());
  }
  if (url.pathname === '/_local/faults' || url.pathname.startsWith('/_local/faults/')) return faultsApi(req, res, url, options.faults);
  if (url.pathname === '/_local/metrics') return metricsApi(req, res, url, options.metrics);

  const target = headerOf(req, 'x-amz-target');
  const [prefix, jsonOperation] = target ? target.split('.', 2) : [];
  // S3 is the service a request belongs to when nothing names another: a browser's presigned
  // POST carries its credential in the form body, and a plain GET of a public URL carries none.
  const service = (prefix && TARGET_PREFIXES[prefix]) ?? signingService(req) ?? 's3';
  const invocation = service === 'lambda' && options.lambda ? /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname) : undefined;
  const operation =
    service === 'lambda' && options.lambda ? (invocation ? 'Invoke' : 'Unknown') : (jsonOperation ?? restOperation(service, req.method ?? 'GET', url));
  options.counter.add(service, operation);

  // The body is read ahead when a fault rule has to look into it, and for DynamoDB (small JSON
  // bodies), whose calls are also counted per table; otherwise it streams.
  let body: Buffer | undefined;
  if (service === 'dynamodb' && jsonOperation) {
    body = await readBody(req);
    options.counter.addTables(jsonOperation, tablesOf(parseJson(body)));
  }
  const candidates = options.faults.candidates(service, operation, req.url ?? '/');
  if (candidates.any) {
    if (candidates.needsBody) body ??= await readBody(req);
    const rule = options.faults.take(service, operation, { target: req.url ?? '/', ...(body ? { body: body.toString('utf8') } : {}) });
    if (rule) return injectFault(rule, req, res, options);
  }

  if (service === 'lambda' && options.lambda) {
    if (!invocation) return jsonReply(res, 404, { __type: 'ResourceNotFoundException', message: `${req.method} ${url.pathname} is not served locally` });
    return invokeFunction(decodeURIComponent(invocation[1]!), req, res, options, body);
  }

  const upstream = options.upstreams?.[service];
  if (upstream) return proxy(req, res, upstream, body);

  const inProcess = options.services?.[service];
  if (inProcess && jsonOperation) {
    const answer = await inProcess.handle(jsonOperation, parseJson(body ?? (await readBody(req))));
    return jsonReply(res, answer.status, answer.body, req.headers['content-type']);
  }
  jsonReply(res, 400, { __type: 'UnknownOperationException', message: `${service}${jsonOperation ? `.${jsonOperation}` : ''} is not served by the local cloud` });
}

/**
 * `/_local/faults`: `POST` adds a rule (201, the rule with its id), `GET` lists them, `DELETE`
 * clears them all, `DELETE /_local/faults/{id}` removes one (404 when there is none).
 */
async function faultsApi(req: IncomingMessage, res: ServerResponse, url: URL, faults: FaultInjector): Promise<void> {
  const id = url.pathname.startsWith('/_local/faults/') ? decodeURIComponent(url.pathname.slice('/_local/faults/'.length)) : undefined;
  if (id !== undefined) {
    if (req.method !== 'DELETE') return jsonReply(res, 405, { message: 'a rule can only be deleted' });
    const removed = faults.remove(id);
    return removed ? jsonReply(res, 200, removed) : jsonReply(res, 404, { message: `no fault rule ${id}` });
  }
  if (req.method === 'GET') return jsonReply(res, 200, faults.list());
  if (req.method === 'DELETE') {
    faults.clear();
    return jsonReply(res, 200, []);
  }
  if (req.method !== 'POST') return jsonReply(res, 405, { message: `${req.method} is not served on /_local/faults` });
  const raw = (await readBody(req)).toString('utf8');
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch {
    return jsonReply(res, 400, { message: 'the body must be a JSON fault rule' });
  }
  try {
    return jsonReply(res, 201, faults.add(input as FaultRuleInput));
  } catch (error) {
    if (error instanceof FaultRuleError) return jsonReply(res, 400, { message: error.message });
    throw error;
  }
}

/**
 * `/_local/metrics`: `GET` the series, filtered by `namespace`, `name` and `dimension.<name>=<value>`
 * (`values=false` leaves the values out); `DELETE` forgets them all.
 */
function metricsApi(req: IncomingMessage, res: ServerResponse, url: URL, metrics: MetricStore): void {
  if (req.method === 'DELETE') {
    metrics.reset();
    return jsonReply(res, 200, []);
  }
  if (req.method !== 'GET') return jsonReply(res, 405, { message: `${req.method} is not served on /_local/metrics` });
  const q = url.searchParams;
  const dimensions = Object.fromEntries([...q].filter(([key]) => key.startsWith('dimension.')).map(([key, value]) => [key.slice('dimension.'.length), value]));
  const namespace = q.get('namespace');
  const name = q.get('name');
  jsonReply(
    res,
    200,
    metrics.query({ ...(namespace ? { namespace } : {}), ...(name ? { name } : {}), dimensions, values: q.get('values') !== 'false' }),
  );
}

/**
 * Fails a call the way `rule` says: drops the connection (`unavailable`), answers the service's
 * throttling error or its 500, or holds the call unanswered until its client gives up
 * (`timeout`; the connection is dropped after `faultTimeoutMs`).
 */
function injectFault(rule: FaultRule, req: IncomingMessage, res: ServerResponse, options: EndpointState): void {
  if (rule.mode === 'unavailable') return void req.socket.destroy();
  if (rule.mode === 'timeout') {
    options.held.add(req);
    const cap = setTimeout(() => req.socket.destroy(), options.faultTimeoutMs ?? 60_000);
    res.on('close', () => {
      clearTimeout(cap);
      options.held.delete(req);
    });
    // Read and drop the body, so the client is not stalled writing it.
    return void req.resume();
  }
  req.resume();
  const answer = serviceError(rule.service, rule.mode === 'throttle' ? 'throttle' : 'error', { method: req.method ?? 'GET', ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}) });
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

/**
 * The operation of a REST-style call (S3): its method and the shape of its path and query,
 * close to the S3 API's names.
 */
function restOperation(service: string, method: string, url: URL): string {
  if (service !== 's3') return `${method} ${url.pathname}`;
  const isObject = url.pathname.split('/').filter(Boolean).length > 1;
  const q = url.searchParams;
  if (q.has('uploads')) return method === 'POST' ? 'CreateMultipartUpload' : 'ListMultipartUploads';
  if (q.has('uploadId')) {
    if (method === 'PUT') return q.has('partNumber') ? 'UploadPart' : 'UploadPartCopy';
    if (method === 'POST') return 'CompleteMultipartUpload';
    if (method === 'DELETE') return 'AbortMultipartUpload';
    return 'ListParts';
  }
  if (!isObject) {
    if (method === 'GET') return q.has('list-type') ? 'ListObjectsV2' : 'ListObjects';
    if (method === 'POST') return q.has('delete') ? 'DeleteObjects' : 'PostObject';
    if (method === 'HEAD') return 'HeadBucket';
    return method === 'PUT' ? 'CreateBucket' : 'DeleteBucket';
  }
  return { GET: 'GetObject', PUT: 'PutObject', HEAD: 'HeadObject', DELETE: 'DeleteObject', POST: 'PostObject' }[method] ?? method;
}

/** The service name in `Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/<service>/aws4_request`. */
function signingService(req: IncomingMessage): string | undefined {
  const authorization = headerOf(req, 'authorization') ?? '';
  const fromHeader = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization)?.[1];
  if (fromHeader) return fromHeader;
  const query = new URL(req.url ?? '/', 'http://local').searchParams.get('X-Amz-Credential');
  return query?.split('/')[3];
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer): Record<string, unknown> {
  const raw = body.toString('utf8');
  if (!raw) return {};
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Answers in the JSON protocol of the request (1.0 or 1.1), with the error type in the header too. */
function jsonReply(res: ServerResponse, status: number, body: unknown, contentType?: string): void {
  const payload = JSON.stringify(body ?? {});
  const errorType = status >= 400 && body && typeof body === 'object' ? (body as { __type?: string }).__type : undefined;
  res.writeHead(status, {
    'content-type': contentType?.startsWith('application/x-amz-json') ? contentType : 'application/json',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': crypto.randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(payload);
}

/** Passes a call on to the process that serves it; `body` when it was already read. */
function proxy(req: IncomingMessage, res: ServerResponse, upstream: string, body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const target = new URL(upstream);
    // The path goes on exactly as sent (a URL object would fold `a/../b` in an S3 key), and so
    // does the Host header: a SigV4 signature (an S3 presigned URL's, say) covers both.
    const forward = httpRequest({ hostname: target.hostname, port: target.port, path: req.url ?? '/', method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', resolve);
      answer.on('error', reject);
    });
    forward.on('error', reject);
    // A client that gives up (an abandoned long poll) abandons the upstream call too, so the
    // upstream can release what it held for it.
    res.on('close', () => {
      if (!res.writableFinished) forward.destroy();
    });
    if (body) forward.end(body);
    else req.pipe(forward);
  });
}

/** The Lambda Invoke REST API: `RequestResponse` waits, `Event` answers 202 at once and runs with Lambda's retries. */
async function invokeFunction(name: string, req: IncomingMessage, res: ServerResponse, options: EndpointState, body?: Buffer): Promise<void> {
  const lambda = options.lambda!;
  const raw = (body ?? (await readBody(req))).toString('utf8');
  let event: unknown = {};
  try {
    event = raw ? JSON.parse(raw) : {};
  } catch {
    return jsonReply(res, 400, { __type: 'InvalidRequestContentException', message: 'Could not parse request body into json' });
  }
  if (headerOf(req, 'x-amz-invocation-type') === 'Event') {
    let requestId: string = crypto.randomUUID();
    if (options.lambdaAsync) {
      try {
        requestId = options.lambdaAsync.invoke(name, event).requestId;
      } catch (error) {
        const message = (error as Error).message;
        if (message.startsWith('ResourceNotFoundException')) return jsonReply(res, 404, { __type: 'ResourceNotFoundException', message: message.replace(/^ResourceNotFoundException: /, '') });
        throw error;
      }
    } else {
      void lambda.invoke(name, event);
    }
    res.writeHead(202, { 'x-amzn-requestid': requestId });
    return void res.end();
  }
  const outcome = await lambda.invoke(name, event);
  if (outcome.error?.errorType === 'ResourceNotFoundException') {
    return jsonReply(res, 404, { __type: 'ResourceNotFoundException', message: outcome.error.errorMessage });
  }
  const payload = JSON.stringify(outcome.error ?? outcome.result ?? null);
  res.writeHead(200, {
    'content-type': 'application/json',
    'x-amzn-requestid': outcome.requestId,
    'x-amz-executed-version': '$LATEST',
    ...(outcome.error ? { 'x-amz-function-error': 'Unhandled' } : {}),
  });
  res.end(payload);
}
