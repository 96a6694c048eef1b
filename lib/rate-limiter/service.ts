import { Construct } from 'constructs';
import { checkLimitRoute, getLimitRoute, resetLimitRoute } from '#shared/contracts/rate-limiter';
import { AppFunction } from '../platform/app-function';
import type { PlatformRestApi } from '../platform/rest-api';
import type { RateLimiterStorage } from './storage';

export interface RateLimiterServiceProps {
  readonly restApi: PlatformRestApi;
  readonly storage: RateLimiterStorage;
}

/**
 * The rate limiter as a service for other backends: `POST /v1/limits/check`,
 * `GET /v1/limits/{key}` and `DELETE /v1/limits/{key}`, on the same bucket table as every
 * route's limits. Each function gets only the table actions it needs: check writes
 * conditionally, get reads, reset deletes.
 */
export class RateLimiterService extends Construct {
  readonly check: AppFunction;
  readonly get: AppFunction;
  readonly reset: AppFunction;

  constructor(scope: Construct, id: string, props: RateLimiterServiceProps) {
    super(scope, id);
    const { restApi, storage } = props;

    this.check = new AppFunction(this, 'CheckLimit', {
      domain: 'rate-limiter',
      entry: 'rate-limiter/check-limit.ts',
      description: 'POST /v1/limits/check: takes tokens from a bucket, atomically',
    });
    restApi.addRoute(checkLimitRoute, this.check);

    this.get = new AppFunction(this, 'GetLimit', {
      domain: 'rate-limiter',
      entry: 'rate-limiter/get-limit.ts',
      description: 'GET /v1/limits/{key}: what a bucket holds now',
    });
    restApi.addRoute(getLimitRoute, this.get);
    storage.table.grant(this.get, 'dynamodb:GetItem');

    this.reset = new AppFunction(this, 'ResetLimit', {
      domain: 'rate-limiter',
      entry: 'rate-limiter/reset-limit.ts',
      description: 'DELETE /v1/limits/{key}: resets a bucket',
    });
    restApi.addRoute(resetLimitRoute, this.reset);
    storage.table.grant(this.reset, 'dynamodb:DeleteItem');
  }
}
