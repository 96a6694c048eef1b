import type { LambdaInvoker, LocalEnvironment, WebSocketApiModel } from '../../model';

/** The three `@connections` operations of the API Gateway Management API. */
export type ManagementOperation = 'PostToConnection' | 'GetConnection' | 'DeleteConnection';

/** One thing the gateway did or refused, for the local cloud's terminal and for tests. */
export interface WebSocketGatewayLogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly connectionId?: string;
  readonly requestId?: string;
  readonly routeKey?: string;
  /** The HTTP status of a refused handshake or a management call. */
  readonly statusCode?: number;
}

export interface WebSocketGatewayOptions {
  readonly api: WebSocketApiModel;
  readonly invoker: LambdaInvoker;
  readonly env: LocalEnvironment;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks any free port. @default 0 */
  readonly port?: number;
  /** Closes a connection after this long without a message either way. @default 600_000 (10 minutes, AWS's quota) */
  readonly idleTimeoutMs?: number;
  /** Closes every connection this long after it opened. @default 7_200_000 (2 hours, AWS's quota) */
  readonly maxLifetimeMs?: number;
  /** The largest message a client may send or `@connections` may post. @default 131_072 (128 KB) */
  readonly maxMessageBytes?: number;
  /** The largest frame a client may send; larger posts are cut into frames this size. @default 32_768 (32 KB) */
  readonly maxFrameBytes?: number;
  /** Called once for every `@connections` request, whatever its outcome. */
  readonly onManagementCall?: (operation: ManagementOperation) => void;
  readonly log?: (entry: WebSocketGatewayLogEntry) => void;
}

/** A running WebSocket API stage. */
export interface WebSocketGateway {
  /** Where clients connect: `ws://127.0.0.1:<port>/<stage>`. */
  readonly url: string;
  /** The `@connections` endpoint for the Management API client: `http://127.0.0.1:<port>/<stage>`. */
  readonly callbackUrl: string;
  readonly port: number;
  /** How many connections are open now. */
  connections(): number;
  /**
   * Closes every connection (1001, as at a deployment), waits for their `$disconnect` and any
   * integration still running, then stops listening.
   */
  close(): Promise<void>;
}
