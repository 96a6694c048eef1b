import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { LambdaInvoker } from '../model';

/** An AWS JSON-protocol answer from an in-process service. */
export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

/** A service answered in this process, by operation name. */
export interface JsonService {
  handle(operation: string, body: Record<string, unknown>): JsonResponse | Promise<JsonResponse>;
}

/** Counts every AWS API call the local cloud serves, per service and operation. */
export class CallCounter {
  private readonly counts = new Map<string, Map<string, number>>();

  add(service: string, operation: string): void {
    const byOperation = this.counts.get(service) ?? new Map<string, number>();
    byOperation.set(operation, (byOperation.get(operation) ?? 0) + 1);
    this.counts.set(service, byOperation);
  }

  /** `{ dynamodb: { GetItem: 3 }, ... }` */
  snapshot(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.counts].map(([service, ops]) => [service, Object.fromEntries(ops)]));
  }

  /** Calls of one service (or one operation of it) since the last reset. */
  total(service: string, operation?: string): number {
    const ops = this.counts.get(service);
    if (!ops) return 0;
    return operation ? (ops.get(operation) ?? 0) : [...ops.values()].reduce((a, b) => a + b, 0);
  }

  reset(): void {
    this.counts.clear();
  }
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
}

export interface AwsEndpoint {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
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
 * scope, counts every call, and hands it to the service that serves it. Signatures are not
 * checked here: the local cloud trusts its own machine (S3 presigned URLs are the exception,
 * checked by the S3 emulator, because that check is a behaviour users rely on).
 */
export async function startAwsEndpoint(options: AwsEndpointOptions): Promise<AwsEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    void route(req, res, options).catch((error: Error) => {
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function route(req: IncomingMessage, res: ServerResponse, options: AwsEndpointOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  if (url.pathname === '/_local/calls') {
    if (req.method === 'DELETE') options.counter.reset();
    return jsonReply(res, 200, options.counter.snapshot());
  }

  const target = headerOf(req, 'x-amz-target');
  const [prefix, operation] = target ? target.split('.', 2) : [];
  // S3 is the service a request belongs to when nothing names another: a browser's presigned
  // POST carries its credential in the form body, and a plain GET of a public URL carries none.
  const service = (prefix && TARGET_PREFIXES[prefix]) ?? signingService(req) ?? 's3';

  if (service === 'lambda' && options.lambda) {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    options.counter.add('lambda', match ? 'Invoke' : 'Unknown');
    if (!match) return jsonReply(res, 404, { __type: 'ResourceNotFoundException', message: `${req.method} ${url.pathname} is not served locally` });
    return invokeFunction(decodeURIComponent(match[1]!), req, res, options.lambda);
  }

  options.counter.add(service, operation ?? restOperation(service, req.method ?? 'GET', url));

  const upstream = options.upstreams?.[service];
  if (upstream) return proxy(req, res, upstream);

  const inProcess = options.services?.[service];
  if (inProcess && operation) {
    const body = await readJson(req);
    const answer = await inProcess.handle(operation, body);
    return jsonReply(res, answer.status, answer.body, req.headers['content-type']);
  }
  jsonReply(res, 400, { __type: 'UnknownOperationException', message: `${service}${operation ? `.${operation}` : ''} is not served by the local cloud` });
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

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = (await readBody(req)).toString('utf8');
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

function proxy(req: IncomingMessage, res: ServerResponse, upstream: string): Promise<void> {
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
    req.pipe(forward);
  });
}

/** The Lambda Invoke REST API: `RequestResponse` waits, `Event` answers 202 at once. */
async function invokeFunction(name: string, req: IncomingMessage, res: ServerResponse, lambda: LambdaInvoker): Promise<void> {
  const raw = (await readBody(req)).toString('utf8');
  let event: unknown = {};
  try {
    event = raw ? JSON.parse(raw) : {};
  } catch {
    return jsonReply(res, 400, { __type: 'InvalidRequestContentException', message: 'Could not parse request body into json' });
  }
  if (headerOf(req, 'x-amz-invocation-type') === 'Event') {
    void lambda.invoke(name, event);
    res.writeHead(202, { 'x-amzn-requestid': crypto.randomUUID() });
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
