import type { WebSocket } from 'ws';
import type { ConnectionFacts } from './events';

/** Why a connection ended: what `$disconnect` reports as `disconnectStatusCode` and `disconnectReason`. */
export interface DisconnectCause {
  readonly statusCode: number;
  readonly reason: string;
}

/** The connection limits API Gateway enforces (WebSocket quotas), in milliseconds and bytes. */
export interface ConnectionLimits {
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly maxFrameBytes: number;
}

/**
 * Close codes and reasons. 1005 with "Client-side close frame status not set" and 1000 with
 * "Connection Closed Normally" (what `DeleteConnection` gives) are what AWS reports; the others
 * are this gateway's best guess, since AWS does not document them.
 */
export const CLOSE = {
  deleted: { statusCode: 1000, reason: 'Connection Closed Normally' },
  goingAway: { statusCode: 1001, reason: 'Going away' },
  binaryFrame: { statusCode: 1003, reason: 'Binary frames are not supported' },
  tooBig: { statusCode: 1009, reason: 'Message too big' },
} as const satisfies Record<string, DisconnectCause>;

/** How a client's own close is reported: its code, and its reason or a default text for the code. */
function clientCause(code: number, reason: string): DisconnectCause {
  if (reason) return { statusCode: code, reason };
  const defaults: Record<number, string> = {
    1000: CLOSE.deleted.reason,
    1001: CLOSE.goingAway.reason,
    1005: 'Client-side close frame status not set',
    1006: 'Connection closed abnormally',
  };
  return { statusCode: code, reason: defaults[code] ?? '' };
}

/**
 * One open WebSocket connection: its facts (id, identity, authorizer context), its activity
 * and its two clocks. AWS closes a connection after 10 minutes without a message either way
 * (messages posted through `@connections` count, which is how server keep-alives work) and
 * after 2 hours in any case.
 */
export class LiveConnection {
  private state: 'open' | 'closing' | 'closed' = 'open';
  private cause: DisconnectCause | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly lifetimeTimer: NodeJS.Timeout;
  private lastActive: number;
  /** Settles once the socket has closed, with why it closed. */
  readonly closed: Promise<DisconnectCause>;

  constructor(
    readonly facts: ConnectionFacts,
    private readonly socket: WebSocket,
    private readonly limits: ConnectionLimits,
  ) {
    this.lastActive = facts.connectedAt;
    this.lifetimeTimer = setTimeout(() => this.close(CLOSE.goingAway), Math.max(0, facts.connectedAt + limits.maxLifetimeMs - Date.now()));
    this.lifetimeTimer.unref();
    this.armIdleTimer();
    this.closed = new Promise((resolve) => {
      socket.once('close', (code: number, reason: Buffer) => {
        this.state = 'closed';
        clearTimeout(this.idleTimer);
        clearTimeout(this.lifetimeTimer);
        resolve(this.cause ?? clientCause(code, reason.toString('utf8')));
      });
    });
  }

  get id(): string {
    return this.facts.connectionId;
  }

  /** Open, and not being closed: the only state in which it takes or sends messages. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  get lastActiveAt(): number {
    return this.lastActive;
  }

  /** A message went through, either way: the idle clock starts again. */
  touch(): void {
    this.lastActive = Date.now();
    this.armIdleTimer();
  }

  /**
   * Sends one message. Like API Gateway, it is cut into frames of at most the frame quota, so
   * a client sees a large `@connections` post as one fragmented message.
   */
  send(data: Buffer, binary: boolean): void {
    if (!this.isOpen) return;
    const size = Math.max(1, this.limits.maxFrameBytes);
    for (let at = 0; at === 0 || at < data.length; at += size) {
      this.socket.send(data.subarray(at, at + size), { binary, fin: at + size >= data.length });
    }
    this.touch();
  }

  /** Starts the closing handshake; the first cause given is the one `$disconnect` reports. */
  close(cause: DisconnectCause): void {
    if (!this.isOpen) return;
    this.cause = cause;
    this.state = 'closing';
    clearTimeout(this.idleTimer);
    this.socket.close(cause.statusCode, cause.reason);
  }

  /** Records why `ws` itself is closing the connection (a protocol error or an oversized message). */
  failed(cause: DisconnectCause): void {
    this.cause ??= cause;
    if (this.state === 'open') this.state = 'closing';
  }

  /** Drops the TCP connection without a closing handshake (shutdown of a client that does not answer). */
  terminate(): void {
    this.cause ??= CLOSE.goingAway;
    this.socket.terminate();
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.close(CLOSE.goingAway), this.limits.idleTimeoutMs);
    this.idleTimer.unref();
  }
}
