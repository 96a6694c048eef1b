import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaInvoker, LocalEnvironment, RestApiModel } from '../../model';
import { RestPipeline, type RestAccessLogEntry } from './pipeline';
import { UsagePlans } from './usage-plans';

export type { RestAccessLogEntry } from './pipeline';
export type { ApiKey } from './api-keys';
export { ApiKeyStore } from './api-keys';
export { UsagePlans } from './usage-plans';

/** How to serve one REST API stage. */
export interface RestGatewayOptions {
  readonly api: RestApiModel;
  /** Runs the API's integrations and authorizers. */
  readonly invoker: LambdaInvoker;
  /** Account and region of method ARNs and `requestContext.accountId`. */
  readonly env: LocalEnvironment;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /**
   * The longest the gateway waits for an integration (the method's own timeout applies when
   * shorter); API Gateway's default quota.
   * @default 29000
   */
  readonly integrationTimeoutMs?: number;
  /** Request bodies over this size get 413 `REQUEST_TOO_LARGE`; API Gateway's quota. @default 10485760 (10 MB) */
  readonly maxPayloadBytes?: number;
  /**
   * The API keys and usage plans that admit callers to methods requiring a key; one instance
   * shared by every gateway of a cloud, since a plan's limits span its API stages. When left out
   * no key is valid, as on a stage in no usage plan.
   */
  readonly usagePlans?: UsagePlans;
  /** Receives one access-log entry per request. */
  readonly log?: (entry: RestAccessLogEntry) => void;
}

/** A running REST API stage. */
export interface RestGateway {
  /** The stage's base URL, `http://127.0.0.1:<port>/<stage>`, as `RestApi.url` is on AWS (less the trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting requests and closes open connections. */
  close(): Promise<void>;
}

/**
 * Serves a REST API from its model with API Gateway's semantics: routing over the resource
 * tree, Lambda proxy events and responses in the v1 format, Lambda authorizers with caching and
 * IAM policy evaluation, API keys with usage plans (throttle and quota per key), CORS preflight
 * MOCK methods, gateway responses, the 29 s integration timeout, the 10 MB payload quota and
 * stage throttling. It knows nothing of the app it serves.
 */
export async function startRestGateway(options: RestGatewayOptions): Promise<RestGateway> {
  const pipeline = new RestPipeline({
    api: options.api,
    invoker: options.invoker,
    env: options.env,
    integrationTimeoutMs: options.integrationTimeoutMs ?? 29_000,
    maxPayloadBytes: options.maxPayloadBytes ?? 10 * 1024 * 1024,
    usagePlans: options.usagePlans ?? UsagePlans.none(),
    ...(options.log ? { log: options.log } : {}),
  });
  const server = createServer((request, response) => void pipeline.handle(request, response));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${urlHost(host)}:${port}/${options.api.stageName}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections would otherwise hold `close` open until they time out.
        server.closeAllConnections();
      }),
  };
}

/** The host to put in URLs: a wildcard address is reached through loopback; IPv6 goes in brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
