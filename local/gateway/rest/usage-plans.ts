import type { ThrottleModel, UsagePlanKeyModel, UsagePlanModel } from '../../model';
import { ApiKeyStore, type ApiKey } from './api-keys';
import type { GatewayError } from './gateway-responses';
import { TokenBucket } from './throttle';

/** A request to a method that requires an API key, as the usage plans see it. */
export interface KeyedRequest {
  readonly apiId: string;
  readonly stage: string;
  /** The matched resource (`/v1/items/{id}`) and the method's own HTTP method (`ANY` for an ANY method). */
  readonly resourcePath: string;
  readonly httpMethod: string;
  /** Where the key came from, for the log line when there is none. */
  readonly source: 'HEADER' | 'AUTHORIZER';
  /** The key value presented: the `x-api-key` header, or the authorizer's `usageIdentifierKey`. */
  readonly value: string | undefined;
}

/** Whether a keyed request may go on; a refusal carries the gateway response to answer with. */
export type KeyAdmission =
  | { readonly admitted: true; readonly key: ApiKey }
  | {
      readonly admitted: false;
      readonly error: GatewayError;
      /** Why, for the access log: the client only sees the gateway response. */
      readonly detail: string;
    };

export interface UsagePlansOptions {
  readonly keys: ApiKeyStore;
  readonly plans: readonly UsagePlanModel[];
  readonly planKeys: readonly UsagePlanKeyModel[];
  /** Milliseconds since the epoch; quota periods are aligned on UTC. @default Date.now */
  readonly now?: () => number;
}

interface QuotaUsage {
  periodStart: number;
  used: number;
}

/**
 * API keys and usage plans, as API Gateway applies them to a method that requires a key:
 * 1. the key must exist, be enabled, and be in a usage plan attached to the request's API
 *    stage, else `INVALID_API_KEY` (403);
 * 2. the plan's throttle, a token bucket per key (a per-method throttle of the plan's API
 *    stage replaces it for that method), else `THROTTLED` (429);
 * 3. the plan's quota, requests per key per UTC day, week (from Monday) or month, less
 *    `offset` in the first period, else `QUOTA_EXCEEDED` (429).
 * Limits are per key and plan, whichever of the plan's API stages the requests go to, so one
 * instance serves every gateway of a cloud. Usage is kept in memory: a restart starts afresh.
 */
export class UsagePlans {
  private readonly keysOfPlan = new Map<string, Set<string>>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly quotas = new Map<string, QuotaUsage>();
  private readonly firstPeriod = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: UsagePlansOptions) {
    this.now = options.now ?? Date.now;
    for (const { usagePlanId, keyId } of options.planKeys) {
      const keys = this.keysOfPlan.get(usagePlanId) ?? new Set<string>();
      keys.add(keyId);
      this.keysOfPlan.set(usagePlanId, keys);
    }
    const startedAt = this.now();
    for (const plan of options.plans) if (plan.quota) this.firstPeriod.set(plan.id, periodStart(plan.quota.period, startedAt));
  }

  /** Usage plans that admit no key: every keyed method answers 403, as on a stage in no usage plan. */
  static none(): UsagePlans {
    return new UsagePlans({ keys: new ApiKeyStore([]), plans: [], planKeys: [] });
  }

  /** Every API key, with its value. */
  get apiKeys(): readonly ApiKey[] {
    return this.options.keys.list();
  }

  /** Checks one request's key against the plans, and counts it against the key's throttle and quota. */
  admit(request: KeyedRequest): KeyAdmission {
    const { apiId, stage } = request;
    if (!request.value) {
      return refuse(
        { type: 'INVALID_API_KEY' },
        request.source === 'HEADER' ? 'the method requires an API key and the request has no x-api-key header' : 'the method requires an API key and the authorizer returned no usageIdentifierKey',
      );
    }
    const key = this.options.keys.find(request.value);
    if (!key) return refuse({ type: 'INVALID_API_KEY' }, 'no API key has the value presented');
    if (!key.enabled) return refuse({ type: 'INVALID_API_KEY' }, `API key ${key.name} (${key.id}) is disabled`);

    // API Gateway lets a key be in at most one usage plan per API stage.
    const plan = this.options.plans.find((p) => this.keysOfPlan.get(p.id)?.has(key.id) && p.apiStages.some((s) => s.apiId === apiId && s.stage === stage));
    if (!plan) return refuse({ type: 'INVALID_API_KEY' }, `API key ${key.name} (${key.id}) is in no usage plan for API stage ${apiId}/${stage}`);

    const methodKey = `${request.resourcePath === '/' ? '' : request.resourcePath}/${request.httpMethod}`;
    const methodThrottle = plan.apiStages.find((s) => s.apiId === apiId && s.stage === stage)?.methodThrottles[methodKey];
    const throttle = methodThrottle ?? plan.throttle;
    if (throttle) {
      const bucketKey = methodThrottle ? `${plan.id}\n${key.id}\n${apiId}/${stage}\n${methodKey}` : `${plan.id}\n${key.id}`;
      if (!this.bucket(bucketKey, throttle).take()) {
        const scope = methodThrottle ? `method ${methodKey} of usage plan ${plan.name}` : `usage plan ${plan.name}`;
        return refuse({ type: 'THROTTLED' }, `API key ${key.name} is over the throttle of ${scope} (rate ${throttle.rateLimit}/s, burst ${throttle.burstLimit})`);
      }
    }

    if (plan.quota && !this.countAgainstQuota(plan, key)) {
      return refuse({ type: 'QUOTA_EXCEEDED' }, `API key ${key.name} has used the quota of usage plan ${plan.name} (${plan.quota.limit} requests a ${plan.quota.period.toLowerCase()})`);
    }
    return { admitted: true, key };
  }

  private bucket(bucketKey: string, throttle: ThrottleModel): TokenBucket {
    let bucket = this.buckets.get(bucketKey);
    if (!bucket) {
      bucket = new TokenBucket(throttle.rateLimit, throttle.burstLimit, this.now);
      this.buckets.set(bucketKey, bucket);
    }
    return bucket;
  }

  /** Counts one request; false when the key has used its quota for the current period. */
  private countAgainstQuota(plan: UsagePlanModel, key: ApiKey): boolean {
    const quota = plan.quota!;
    const start = periodStart(quota.period, this.now());
    const usageKey = `${plan.id}\n${key.id}`;
    let usage = this.quotas.get(usageKey);
    if (!usage || usage.periodStart !== start) {
      usage = { periodStart: start, used: 0 };
      this.quotas.set(usageKey, usage);
    }
    const limit = quota.limit - (start === this.firstPeriod.get(plan.id) ? quota.offset : 0);
    if (usage.used >= limit) return false;
    usage.used += 1;
    return true;
  }
}

function refuse(error: GatewayError, detail: string): KeyAdmission {
  return { admitted: false, error, detail };
}

/** The start (ms, UTC) of the quota period `at` falls in: the day, the week from Monday, the month. */
export function periodStart(period: 'DAY' | 'WEEK' | 'MONTH', at: number): number {
  const date = new Date(at);
  const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()];
  if (period === 'MONTH') return Date.UTC(year, month, 1);
  if (period === 'WEEK') return Date.UTC(year, month, day - ((date.getUTCDay() + 6) % 7));
  return Date.UTC(year, month, day);
}
