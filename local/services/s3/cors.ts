/**
 * A bucket's CORS configuration, as S3 applies it: preflight `OPTIONS` answered from the first
 * rule that allows the origin, method and headers, and the same evaluation on actual requests
 * that carry an `Origin`, so a browser can PUT to a presigned URL and read the ETag.
 */
import { S3Error } from './errors';

/** One `CorsRules` entry of `AWS::S3::Bucket`, read from the template. */
export interface CorsRule {
  readonly allowedOrigins: readonly string[];
  readonly allowedMethods: readonly string[];
  readonly allowedHeaders: readonly string[];
  readonly exposedHeaders: readonly string[];
  readonly maxAgeSeconds?: number;
}

/** Reads `CorsConfiguration.CorsRules` as CloudFormation spells them (`AllowedOrigins`, `MaxAge`, ...). */
export function parseCorsRules(raw: readonly Record<string, unknown>[]): CorsRule[] {
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  return raw.map((rule) => {
    const maxAge = Number(rule['MaxAge']);
    return {
      allowedOrigins: strings(rule['AllowedOrigins']),
      allowedMethods: strings(rule['AllowedMethods']).map((method) => method.toUpperCase()),
      allowedHeaders: strings(rule['AllowedHeaders']),
      exposedHeaders: strings(rule['ExposedHeaders']),
      ...(rule['MaxAge'] !== undefined && Number.isFinite(maxAge) ? { maxAgeSeconds: maxAge } : {}),
    };
  });
}

/** What a browser sent in a preflight. */
export interface Preflight {
  readonly origin?: string;
  readonly method?: string;
  /** `Access-Control-Request-Headers`, as sent (comma-separated). */
  readonly requestHeaders?: string;
}

/**
 * The headers of a successful preflight answer.
 * @throws S3Error 400 when the preflight lacks an origin or method, 403 AccessForbidden when no rule allows it
 */
export function answerPreflight(rules: readonly CorsRule[], preflight: Preflight): Record<string, string> {
  if (!preflight.origin) throw new S3Error('BadRequest', 400, 'Insufficient information. Origin request header needed.');
  if (!preflight.method) throw new S3Error('BadRequest', 400, 'Invalid Access-Control-Request-Method: null');
  if (rules.length === 0) {
    throw new S3Error('AccessForbidden', 403, 'CORSResponse: CORS is not enabled for this bucket.', { Method: preflight.method, ResourceType: 'BUCKET' });
  }
  const requested = (preflight.requestHeaders ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const method = preflight.method.toUpperCase();
  const rule = rules.find(
    (candidate) =>
      originAllowed(candidate, preflight.origin!) &&
      candidate.allowedMethods.includes(method) &&
      requested.every((name) => candidate.allowedHeaders.some((pattern) => wildcard(pattern.toLowerCase()).test(name))),
  );
  if (!rule) {
    throw new S3Error(
      'AccessForbidden',
      403,
      "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
      { Method: method, ResourceType: 'OBJECT' },
    );
  }
  return {
    ...allowHeaders(rule, preflight.origin),
    ...(requested.length ? { 'access-control-allow-headers': requested.join(', ') } : {}),
    ...(rule.maxAgeSeconds !== undefined ? { 'access-control-max-age': String(rule.maxAgeSeconds) } : {}),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
}

/**
 * CORS headers for an actual (non-preflight) request from `origin`, or none when no rule allows
 * it; the browser then refuses the response, as with S3.
 */
export function corsHeaders(rules: readonly CorsRule[], origin: string | undefined, method: string): Record<string, string> {
  if (!origin) return {};
  const rule = rules.find((candidate) => originAllowed(candidate, origin) && candidate.allowedMethods.includes(method.toUpperCase()));
  if (!rule) return {};
  return { ...allowHeaders(rule, origin), vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method' };
}

function allowHeaders(rule: CorsRule, origin: string): Record<string, string> {
  // S3 answers `*` only when the rule allows every origin, and then never allows credentials.
  const any = rule.allowedOrigins.includes('*');
  return {
    'access-control-allow-origin': any ? '*' : origin,
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    ...(any ? {} : { 'access-control-allow-credentials': 'true' }),
    ...(rule.exposedHeaders.length ? { 'access-control-expose-headers': rule.exposedHeaders.join(', ') } : {}),
  };
}

function originAllowed(rule: CorsRule, origin: string): boolean {
  return rule.allowedOrigins.some((pattern) => wildcard(pattern).test(origin));
}

/** A CORS pattern (one `*` matching anything, as S3 allows) as an anchored regular expression. */
function wildcard(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}
