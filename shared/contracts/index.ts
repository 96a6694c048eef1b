import { chatRoutes } from './chat';
import { jobRoutes } from './jobs';
import { platformRoutes } from './platform';
import { rateLimiterRoutes } from './rate-limiter';
import { shortenerRoutes } from './shortener';
import type { RouteContract } from './route';

/**
 * Every REST route of the API. The OpenAPI document is generated from this list, and an
 * infra test proves that API Gateway serves exactly these routes, no more and no fewer.
 * A domain adds its routes here when it lands.
 */
export const allRoutes: readonly RouteContract[] = [...platformRoutes, ...rateLimiterRoutes, ...shortenerRoutes, ...chatRoutes, ...jobRoutes];
