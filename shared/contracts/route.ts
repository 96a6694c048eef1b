import type { z } from 'zod';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who may call a route: anyone, or a verified token holding every listed scope. */
export type RouteAuth = { readonly public: true } | { readonly scopes: readonly string[] };

export interface RouteResponse {
  readonly description: string;
  /** Absent for responses without a body (204, a redirect). */
  readonly body?: z.ZodType;
  /** Response headers worth documenting, name → description. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One route, declared once. The same object:
 * - creates the API Gateway resource, method and authorizer binding (`lib/platform/rest-api.ts`),
 * - validates the request in the handler (`#shared/http/handler`),
 * - describes the route in the OpenAPI document (`#shared/contracts/openapi`).
 */
export interface RouteContract<
  TParams extends z.ZodType = z.ZodType,
  TQuery extends z.ZodType = z.ZodType,
  TBody extends z.ZodType = z.ZodType,
  TAuth extends RouteAuth = RouteAuth,
> {
  /** Unique, camelCase; also the OpenAPI operationId. */
  readonly operationId: string;
  readonly method: HttpMethod;
  /** API Gateway path syntax: `/v1/links/{code}`. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly auth: TAuth;
  /**
   * Requires an API key (`x-api-key`) that belongs to one of the stage's usage plans, which meter
   * and throttle it at the edge. Keys identify a calling backend for metering; they never
   * authorize (the token does). @default false
   */
  readonly apiKey?: boolean;
  readonly request?: {
    readonly params?: TParams;
    readonly query?: TQuery;
    readonly body?: TBody;
    /** Largest body accepted, in bytes. @default the stage's `api.maxBodyBytes` */
    readonly maxBodyBytes?: number;
  };
  /**
   * The route's rate limits: its own policies (tightest first), then the stage's defaults unless
   * `defaults: false`, at `cost` tokens a request. @default the stage's defaults, cost 1
   */
  readonly rateLimit?: {
    readonly policies?: readonly string[];
    readonly defaults?: boolean;
    readonly cost?: number;
  };
  /** By status code. Error responses (problem+json) are added to the document for every route. */
  readonly responses: Readonly<Record<number, RouteResponse>>;
}

/** Declares a route; only here for type inference of the schemas. */
export function defineRoute<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  const A extends RouteAuth = RouteAuth,
>(route: RouteContract<P, Q, B, A>): RouteContract<P, Q, B, A> {
  return route;
}

/** True when a route needs no token. */
export function isPublic(route: RouteContract): boolean {
  return 'public' in route.auth;
}
