import type { LimitOutcome } from './limiter';
import { quotaWindow, type PolicySet } from './policy';

/**
 * Response headers for a limited request, in two dialects:
 * - the IETF httpapi draft's structured fields (draft-ietf-httpapi-ratelimit-headers-08 and
 *   later): `RateLimit-Policy: "burst";q=60;w=60` names each policy with its quota and window,
 *   `RateLimit: "burst";r=12;t=30` says what is left and when it refills;
 * - the widespread `X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch seconds), for the
 *   deciding policy only.
 * A refusal adds `Retry-After`, unless nothing will ever be admitted (a spent quota that does
 * not reset): then no honest value exists, and none is sent.
 */
export function rateLimitHeaders(outcome: LimitOutcome, policies: PolicySet, now: number): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!outcome.decisions.length) return headers;
  const nowSeconds = Math.floor(now / 1000);
  headers['ratelimit-policy'] = outcome.decisions
    .map(({ policy }) => {
      const { quota, windowSeconds } = quotaWindow(policies[policy]!);
      return `"${policy}";q=${quota}${windowSeconds === undefined ? '' : `;w=${windowSeconds}`}`;
    })
    .join(', ');
  headers['ratelimit'] = outcome.decisions
    .map((d) => {
      const t = d.allowed ? (d.resetAt === null ? undefined : Math.max(0, d.resetAt - nowSeconds)) : (d.retryAfterSeconds ?? undefined);
      return `"${d.policy}";r=${d.remaining}${t === undefined ? '' : `;t=${t}`}`;
    })
    .join(', ');
  const deciding = outcome.deciding!;
  headers['x-ratelimit-limit'] = String(deciding.limit);
  headers['x-ratelimit-remaining'] = String(deciding.remaining);
  if (deciding.resetAt !== null) headers['x-ratelimit-reset'] = String(deciding.resetAt);
  if (!deciding.allowed && deciding.retryAfterSeconds !== null) headers['retry-after'] = String(deciding.retryAfterSeconds);
  return headers;
}
