/**
 * Local SQS: the queues of a cloud model, served over the SQS JSON protocol by an embedded
 * fauxqs behind a small HTTP front that gives queues AWS's URL and ARN forms with the local
 * cloud's account (see `addressing.ts` for why fauxqs needs that).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { LocalEnvironment, QueueModel } from '../../model';
import { EmbeddedFauxqs, errorAnswer, type SqsAnswer } from './fauxqs';
import { restoreMessages, saveMessages } from './persistence';
import { createQueueRequests } from './provision';

export { startEventSourceMappings, DEFAULT_MAXIMUM_CONCURRENCY, type EventSourceMappings, type EventSourceMappingsOptions } from './event-source';

export interface SqsOptions {
  readonly queues: readonly QueueModel[];
  readonly env: LocalEnvironment;
  /** 0 (the default) lets the OS pick. */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /**
   * Where messages are kept between runs (JSON). When set, `stop` saves every queue's messages
   * there and the next start puts them back into the queues the model still has; see the README
   * for what is kept.
   * @default undefined (messages live only as long as the process)
   */
  readonly stateFile?: string;
  /**
   * Told of a redrive policy naming a queue the model does not have (its messages are never
   * dead-lettered), and, with `stateFile`, of a state file that cannot be read, saved messages
   * of a queue gone from the model, and a snapshot that could not be written.
   */
  readonly onWarning?: (message: string) => void;
}

export interface LocalSqs {
  /**
   * `http://<host>:<port>`: an SQS JSON-protocol endpoint. It takes a queue URL on any host
   * (only `/<account>/<name>` counts), and answers with queue URLs on the host the request
   * named, so clients that come through the AWS endpoint (which passes `Host` on) get URLs of
   * the AWS endpoint, as the model's are.
   */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts local SQS and creates every queue of the model with its attributes (FIFO,
 * deduplication, visibility, retention, delay, long polling, redrive), dead-letter queues
 * first, then puts back the messages saved in `stateFile`, if any.
 * @throws Error naming the queue when fauxqs refuses one
 */
export async function startSqs(options: SqsOptions): Promise<LocalSqs> {
  const host = options.host ?? '127.0.0.1';
  const warn = options.onWarning ?? (() => undefined);
  const fauxqs = await EmbeddedFauxqs.start(options.env);
  try {
    await createQueues(fauxqs, options);
    // Before the server listens, so that no client sees the queues half restored.
    if (options.stateFile) await restoreMessages(fauxqs.store, options.stateFile, warn);
    const server = createServer((req, res) => {
      void serve(fauxqs, req, res, `http://${host}:${portOf(server)}`).catch((error: Error) => {
        if (!res.headersSent) reply(res, errorAnswer('InternalError', 'InternalError', error.message), 500);
        else res.destroy(error);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    return {
      endpoint: `http://${host}:${portOf(server)}`,
      stop: async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Ending fauxqs answers the long polls still open, so their connections can close.
        await fauxqs.close();
        server.closeAllConnections();
        await closed;
        // After fauxqs has closed: the long polls it ended may have taken messages, which are
        // saved as in flight. A failed save is a warning, as the cloud stops its services all at
        // once and would not report a rejection.
        if (options.stateFile) {
          await saveMessages(fauxqs.store, options.stateFile).catch((error: Error) => warn(`SQS state could not be saved to ${options.stateFile}: ${error.message}`));
        }
      },
    };
  } catch (error) {
    await fauxqs.close();
    throw error;
  }
}

async function createQueues(fauxqs: EmbeddedFauxqs, options: SqsOptions): Promise<void> {
  const arns = new Set(options.queues.map((queue) => queue.arn));
  for (const queue of options.queues) {
    if (queue.redrive && !arns.has(queue.redrive.deadLetterArn)) {
      options.onWarning?.(`${queue.name}: its dead-letter queue ${queue.redrive.deadLetterArn} is not served locally; messages stay in the queue`);
    }
  }
  for (const request of createQueueRequests(options.queues)) {
    const answer = await fauxqs.call('CreateQueue', JSON.stringify(request), { base: 'http://local' });
    if (answer.status !== 200) throw new Error(`queue ${request.QueueName} could not be created: ${answer.body}`);
  }
}

async function serve(fauxqs: EmbeddedFauxqs, req: IncomingMessage, res: ServerResponse, ownBase: string): Promise<void> {
  const payload = await readBody(req);
  const target = req.headers['x-amz-target'];
  const operation = typeof target === 'string' && target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : undefined;
  if (req.method !== 'POST' || !operation) {
    // fauxqs would take a query-protocol call (form-encoded `Action=SendMessage`) for SNS.
    return reply(res, errorAnswer('InvalidAction', 'InvalidAction', 'Only the SQS JSON protocol (POST / with X-Amz-Target: AmazonSQS.<Operation>) is served locally'));
  }
  const abandoned = new AbortController();
  res.once('close', () => {
    if (!res.writableEnded) abandoned.abort();
  });
  const base = req.headers.host ? `http://${req.headers.host}` : ownBase;
  const answer = await fauxqs.call(operation, payload, { base, abandoned: abandoned.signal });
  if (!res.destroyed) reply(res, answer);
}

function reply(res: ServerResponse, answer: SqsAnswer, status = answer.status): void {
  res.writeHead(status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}
