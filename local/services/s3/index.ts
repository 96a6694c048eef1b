/**
 * The local S3: an S3 endpoint on `node:http` for any CDK app's buckets. Every request must be
 * signed with SigV4 for the given credentials (header, presigned query, or a signed POST
 * policy), CORS follows each bucket's rules, and writes notify EventBridge, Lambda and SQS in
 * S3's own event shapes. Objects live in memory, or under `dataDir` between runs.
 *
 * Behind the local cloud's AWS endpoint (`local/aws/endpoint.ts`), which passes the Host header
 * through, presigned URLs made for the AWS endpoint's address verify here unchanged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { BucketModel, LocalEnvironment } from '../../model';
import type { OperationContext } from './context';
import { answerPreflight, corsHeaders, parseCorsRules, type CorsRule } from './cors';
import { S3Error } from './errors';
import { MultipartUploads } from './multipart-state';
import { NotificationPublisher, newRequestIds, type S3Notify } from './notifications';
import { selectOperation } from './operations';
import { isFormUpload, postObject } from './post-object';
import { addressRequest, errorResponse, header, readPayload, send, type S3Request } from './request';
import { SigV4Verifier, type SigningCredentials } from './sigv4';
import { ObjectStore } from './store';

export type { S3Notify } from './notifications';
export type { SigningCredentials } from './sigv4';

export interface S3Options {
  /** The buckets of the cloud model; they exist from the start, with their CORS and notifications. */
  readonly buckets: readonly BucketModel[];
  readonly env: LocalEnvironment;
  /** The only credentials whose signatures are accepted. */
  readonly credentials: SigningCredentials;
  /** @default 0 (the OS picks a free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Where objects are kept between runs; in memory when left out. */
  readonly dataDir?: string;
  /** Where S3 event notifications go. */
  readonly notify: S3Notify;
  /** Where failed notifications and internal errors are reported. @default a line on stderr */
  readonly log?: (message: string) => void;
}

export interface LocalS3 {
  /** `http://127.0.0.1:<port>`: the S3 endpoint, for `upstreams.s3` of the AWS endpoint. */
  readonly endpoint: string;
  /** Stops listening, waits for notifications under way, and closes open connections. */
  stop(): Promise<void>;
}

/**
 * Starts the local S3 with the model's buckets (kept objects of `dataDir` stay).
 * @example
 * const s3 = await startS3({ buckets: model.buckets, env, credentials: LOCAL_CREDENTIALS, dataDir, notify });
 * await startAwsEndpoint({ ..., upstreams: { dynamodb: dynamoDb.endpoint, s3: s3.endpoint } });
 */
export async function startS3(options: S3Options): Promise<LocalS3> {
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const store = await ObjectStore.open(options.dataDir);
  for (const bucket of options.buckets) await store.createBucket(bucket.name);

  const service: Service = {
    store,
    uploads: new MultipartUploads(),
    notifications: new NotificationPublisher(options.buckets, options.env, options.notify, log),
    verifier: new SigV4Verifier(options.credentials, options.env.region),
    corsRules: new Map(options.buckets.map((bucket) => [bucket.name, parseCorsRules(bucket.corsRules)])),
    env: options.env,
    accessKeyId: options.credentials.accessKeyId,
    log,
  };

  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => void handle(req, res, service));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    endpoint: `http://${host}:${port}`,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await service.notifications.drain();
      server.closeAllConnections();
      await closed;
    },
  };
}

interface Service {
  readonly store: ObjectStore;
  readonly uploads: MultipartUploads;
  readonly notifications: NotificationPublisher;
  readonly verifier: SigV4Verifier;
  readonly corsRules: ReadonlyMap<string, readonly CorsRule[]>;
  readonly env: LocalEnvironment;
  readonly accessKeyId: string;
  readonly log: (message: string) => void;
}

async function handle(req: IncomingMessage, res: ServerResponse, service: Service): Promise<void> {
  const request = addressRequest(req, newRequestIds(), (name) => service.store.hasBucket(name));
  const rules = (request.bucket !== undefined && service.corsRules.get(request.bucket)) || [];
  let cors: Record<string, string> = {};
  let bodyRead = false;
  try {
    if (request.method === 'OPTIONS') {
      const preflight = answerPreflight(rules, {
        origin: header(req.headers, 'origin'),
        method: header(req.headers, 'access-control-request-method'),
        requestHeaders: header(req.headers, 'access-control-request-headers'),
      });
      return send(res, request, { status: 200 }, preflight);
    }
    cors = corsHeaders(rules, header(req.headers, 'origin'), request.method);

    // A form upload carries its signature in the form; anything else must be signed itself.
    const formUpload = request.method === 'POST' && request.bucket !== undefined && request.key === undefined && isBucketPostForm(request);
    const payloadHash = formUpload ? undefined : (await service.verifier.verify(request)).payloadHash;
    let body: Promise<Buffer> | undefined;
    const context: OperationContext = {
      request,
      store: service.store,
      uploads: service.uploads,
      notifications: service.notifications,
      env: service.env,
      accessKeyId: service.accessKeyId,
      now: () => new Date(),
      body: () => {
        bodyRead = true;
        body ??= readPayload(req, payloadHash);
        return body;
      },
    };
    const response = formUpload ? await postObject(context, service.verifier) : await selectOperation(request).run(context);
    send(res, request, response, cors);
  } catch (error) {
    // An answer given before the body was read still lets the client finish sending it.
    if (!bodyRead) req.resume();
    const failure = error instanceof S3Error ? error : internalError(error, request, service.log);
    if (res.headersSent) return void res.destroy();
    send(res, request, errorResponse(failure, request), cors);
  }
}

function isBucketPostForm(request: S3Request): boolean {
  return request.query['delete'] === undefined && request.query['uploads'] === undefined && isFormUpload(header(request.headers, 'content-type'));
}

function internalError(error: unknown, request: S3Request, log: (message: string) => void): S3Error {
  log(`s3: ${request.method} ${request.rawPath} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
}
