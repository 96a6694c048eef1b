/**
 * fauxqs (an SQS emulator: FIFO groups, deduplication, visibility, DLQ redrive) embedded in
 * this process. It is never given a port: requests reach it through Fastify's `inject`, so it
 * is not reachable from the network (its own server listens on every interface) and a queue's
 * fauxqs URL does not depend on any port.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildApp, type BuildAppOptions } from 'fauxqs';
import type { LocalEnvironment } from '../../model';
import { FAUXQS_HOST, QueueAddressing } from './addressing';
import { toInternalRequest, toPublicResponse } from './translate';

/** An SQS JSON 1.0 answer, ready to send. */
export interface SqsAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface SqsCallOptions {
  /** The endpoint the client reached (`http://host:port`); queue URLs in the answer name it. */
  readonly base: string;
  /**
   * Aborted once the client has gone. A long poll that outlives its client would otherwise
   * leave the messages it took invisible until their visibility timeout, with nobody to
   * process them; they are made visible again instead.
   */
  readonly abandoned?: AbortSignal;
}

type Json = Record<string, unknown>;

/** fauxqs's SQS store: every queue and its messages. */
export type FauxqsSqsStore = FauxqsStores['sqsStore'];
type FauxqsStores = NonNullable<BuildAppOptions['stores']>;

/** Headers of fauxqs's answers worth passing on (the rest are Fastify's or hop-by-hop). */
const PASSED_HEADERS = ['content-type', 'x-amzn-query-error'];

/** The SQS API over an embedded fauxqs, with queue URLs and ARNs in the clients' form. */
export class EmbeddedFauxqs {
  private constructor(
    private readonly app: ReturnType<typeof buildApp>,
    /** The queues themselves, for what the SQS API cannot do: saving and restoring messages. */
    readonly store: FauxqsSqsStore,
    readonly addressing: QueueAddressing,
    private readonly env: LocalEnvironment,
  ) {}

  static async start(env: LocalEnvironment): Promise<EmbeddedFauxqs> {
    const stores = await createStores();
    // `defaultRegion` is the region of every queue: no signature reaches fauxqs (see `inject`).
    const app = buildApp({ logger: false, defaultRegion: env.region, stores });
    await app.ready();
    return new EmbeddedFauxqs(app, stores.sqsStore, new QueueAddressing(env), env);
  }

  /** Serves one SQS operation; `payload` is the request's JSON text. */
  async call(operation: string, payload: string, options: SqsCallOptions): Promise<SqsAnswer> {
    const request = parseObject(payload);
    const refusal = request && this.refuse(operation, request);
    if (refusal) return refusal;

    const forwarded = request ? JSON.stringify(toInternalRequest(request, this.addressing)) : payload;
    const answer = await this.inject(operation, forwarded);
    const status = answer.statusCode;
    const parsed = status === 200 ? parseObject(answer.payload) : undefined;
    if (operation === 'ReceiveMessage' && options.abandoned?.aborted && parsed) {
      await this.release(JSON.parse(forwarded) as Json, parsed);
    }

    const headers: Record<string, string> = { 'x-amzn-requestid': randomUUID() };
    for (const name of PASSED_HEADERS) {
      const value = answer.headers[name];
      if (value !== undefined) headers[name] = String(value);
    }
    const body = parsed ? JSON.stringify(toPublicResponse(parsed, this.addressing, options.base)) : answer.payload;
    return { status, headers, body };
  }

  async close(): Promise<void> {
    // Fastify's preClose hook ends fauxqs's long polls, so pending ReceiveMessage calls answer.
    await this.app.close();
  }

  /** What AWS refuses and fauxqs would not: another account's queue. */
  private refuse(operation: string, request: Json): SqsAnswer | undefined {
    const owner = request['QueueOwnerAWSAccountId'];
    if (operation === 'GetQueueUrl' && typeof owner === 'string' && owner !== this.env.account) {
      return errorAnswer('QueueDoesNotExist', 'NonExistentQueue', 'The specified queue does not exist.');
    }
    return undefined;
  }

  private inject(operation: string, payload: string) {
    // Only what fauxqs reads: no Authorization, so every queue is in the cloud's one region,
    // and a fixed Host, so the URL of a queue a client creates is `addressing.internalUrl`.
    return this.app.inject({
      method: 'POST',
      url: '/',
      headers: { host: FAUXQS_HOST, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${operation}` },
      payload,
    });
  }

  /** Makes the messages of an undelivered ReceiveMessage answer visible again. */
  private async release(request: Json, answer: Json): Promise<void> {
    const messages = Array.isArray(answer['Messages']) ? (answer['Messages'] as Json[]) : [];
    for (const message of messages) {
      await this.inject('ChangeMessageVisibility', JSON.stringify({ QueueUrl: request['QueueUrl'], ReceiptHandle: message['ReceiptHandle'], VisibilityTimeout: 0 }));
    }
  }
}

/**
 * fauxqs's stores, made here so that local SQS holds its SQS store: `buildApp` takes stores but
 * keeps those it makes to itself. fauxqs 1.9 exports only `buildApp` (its `exports` map has `.`
 * alone), so the store classes are loaded from the files beside its entry point,
 * `dist/sqs/sqsStore.js`, `dist/sns/snsStore.js` and `dist/s3/s3Store.js`: not a public
 * surface, hence the check, which names what moved if an upgrade breaks it.
 */
async function createStores(): Promise<FauxqsStores> {
  const entry = pathToFileURL(fauxqsEntry()).href;
  const load = async <T>(path: string, name: string): Promise<T> => {
    const module = (await import(new URL(path, entry).href)) as Record<string, unknown>;
    const constructor = module[name];
    if (typeof constructor !== 'function') throw new Error(`fauxqs has no ${name} in ${path} any more; local SQS needs it to keep messages across restarts`);
    return new (constructor as new () => T)();
  };
  return {
    sqsStore: await load<FauxqsStores['sqsStore']>('./sqs/sqsStore.js', 'SqsStore'),
    snsStore: await load<FauxqsStores['snsStore']>('./sns/snsStore.js', 'SnsStore'),
    s3Store: await load<FauxqsStores['s3Store']>('./s3/s3Store.js', 'S3Store'),
  };
}

/**
 * fauxqs's `dist/app.js`, found the way Node would find the package: `import.meta.resolve` is
 * not available everywhere this runs (vitest's module runner lacks it), and `require.resolve`
 * refuses an import-only `exports` map, so the package folder is looked for on the lookup paths.
 */
function fauxqsEntry(): string {
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths('fauxqs') ?? []) {
    const entry = join(dir, 'fauxqs', 'dist', 'app.js');
    if (existsSync(entry)) return entry;
  }
  throw new Error('fauxqs is not installed (npm ci installs it)');
}

/** An error in the JSON 1.0 form fauxqs and SQS answer with. */
export function errorAnswer(code: string, queryCode: string, message: string): SqsAnswer {
  return {
    status: 400,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-query-error': `AWS.SimpleQueueService.${queryCode};Sender`,
      'x-amzn-requestid': randomUUID(),
    },
    body: JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message }),
  };
}

function parseObject(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}
