/**
 * Where the end-to-end suite points. Tests speak only HTTP, WebSocket and the AWS SDK to these
 * endpoints, so the same tests run against the local cloud, LocalStack or a deployed stack.
 */
export interface E2eTarget {
  readonly name: 'local' | 'localstack' | 'aws';
  /** REST API base URL, ending in `/`. */
  readonly restUrl: string;
  /** WebSocket URL (`ws://` or `wss://`). */
  readonly webSocketUrl: string;
  /** AWS endpoint for SDK clients; undefined against AWS itself. */
  readonly awsEndpoint?: string;
  /** A usage-plan API key for the routes that need one (`x-api-key`). */
  readonly apiKey?: string;
  /** The service stack's outputs (function names and the like). */
  readonly outputs: Readonly<Record<string, string>>;
  /** Mints a token for a user of a tenant with scopes; undefined where tokens come from an IdP. */
  readonly token: (user: string, tenant: string, scopes?: readonly string[]) => Promise<string>;
}

/** What the global setup hands to the tests (functions cannot cross that boundary). */
export interface ProvidedTarget {
  readonly name: E2eTarget['name'];
  readonly restUrl: string;
  readonly webSocketUrl: string;
  readonly awsEndpoint?: string;
  readonly apiKey?: string;
  readonly outputs: Readonly<Record<string, string>>;
  /** The HS256 secret, issuer, audience and claim names tokens are minted with. */
  readonly signing: { readonly secret: string; readonly issuer: string; readonly audience: string; readonly claims: { readonly user: string; readonly tenant: string; readonly scopes: string } };
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2eTarget: ProvidedTarget;
  }
}
