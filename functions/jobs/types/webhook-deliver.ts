import { createHmac } from 'node:crypto';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { z } from 'zod';
import { readEnv } from '#shared/env';
import { ConfigurationError } from '#shared/errors';
import { requestPinned, type PinnedResponse } from '#shared/net/outbound-http';
import { checkOutboundUrl, MAX_OUTBOUND_URL_LENGTH, OutboundUrlRefusedError, parseAllowHosts, vetDestination, type OutboundPolicy, type Resolver } from '#shared/net/outbound-url';
import {
  CircuitOpenError,
  isTransientStatus,
  parseRetryAfterMs,
  resilientCall,
  ResponseStatusError,
  type ResilienceOptions,
  type ResilientCall,
} from '#shared/resilience';
import { defineJobType, PermanentJobError, type JobContext, type JobType } from './job-type';

/**
 * `webhook.deliver`: POSTs a JSON body to a tenant's URL, signed as Standard Webhooks
 * (https://www.standardwebhooks.com/) sign, so the receiver can check who sent it and when.
 *
 * Each try sends the same `webhook-id` (the job id) across tries and attempts: receivers dedupe
 * on it, which turns the queue's at-least-once delivery into effectively-once effects. The
 * timestamp and signature are made afresh per try, because receivers refuse old timestamps.
 *
 * Outcome of one attempt:
 * - 2xx: the result `{ status, attempts, durationMs }` (`attempts`: tries within this attempt);
 * - 3xx (never followed: a redirect could lead anywhere the guard did not vet), and 4xx other
 *   than 408 and 429: `PermanentJobError`, the job is dead at once;
 * - 408, 429, 5xx, network errors and timeouts, once the in-attempt retries are spent, and an
 *   open circuit: a plain Error, which the queue retries later with its backoff;
 * - a URL or resolved address the SSRF guard refuses (`#shared/net/outbound-url`): `PermanentJobError`.
 */

export const MAX_CUSTOM_HEADERS = 20;
/** Of a custom header's value; longer values belong in the body. */
export const MAX_HEADER_VALUE_LENGTH = 1024;

/**
 * Header names a payload may not set:
 * - hop-by-hop headers and the framing ones (`host`, `content-length`, `transfer-encoding`,
 *   `expect`, ...): the HTTP client owns them, and a wrong one desynchronizes the request;
 * - `content-type`, `content-encoding` and the `webhook-` family: the signed envelope is ours, and a
 *   tenant's copy would make the receiver's verification lie;
 * - `authorization`, `proxy-authorization` and `cookie`: credentials would sit in the jobs table
 *   and its logs in clear. The signature is how a receiver authenticates a delivery.
 */
const RESERVED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
  'authorization',
  'cookie',
]);
const RESERVED_PREFIX = 'webhook-';

/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** Visible ASCII, space and tab: no line breaks (header injection), nothing a client would re-encode. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

const CustomHeaders = z
  .record(z.string(), z.string().max(MAX_HEADER_VALUE_LENGTH, `must be at most ${MAX_HEADER_VALUE_LENGTH} characters`).regex(HEADER_VALUE, 'must be printable ASCII'))
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > MAX_CUSTOM_HEADERS) ctx.addIssue({ code: 'custom', message: `must have at most ${MAX_CUSTOM_HEADERS} headers` });
    const seen = new Set<string>();
    for (const name of names) {
      const lower = name.toLowerCase();
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'must be a header name of at most 64 token characters' });
      else if (RESERVED_HEADERS.has(lower) || lower.startsWith(RESERVED_PREFIX)) ctx.addIssue({ code: 'custom', path: [name], message: 'is set by the delivery, not the payload' });
      else if (seen.has(lower)) ctx.addIssue({ code: 'custom', path: [name], message: 'repeats a header name (names ignore case)' });
      seen.add(lower);
    }
  });

export const WebhookDeliverPayloadSchema = z
  .object({
    url: z
      .string()
      .max(MAX_OUTBOUND_URL_LENGTH, `must be at most ${MAX_OUTBOUND_URL_LENGTH} characters`)
      .refine(isAbsoluteHttpUrl, 'must be an absolute https URL')
      .meta({ description: 'Where to POST. https only; private and internal addresses are refused when the job runs.' }),
    body: z.json().meta({ description: 'Any JSON value, sent as the request body.' }),
    headers: CustomHeaders.optional().meta({
      description: `Up to ${MAX_CUSTOM_HEADERS} extra headers. Not: hop-by-hop and framing headers, Host, Content-Type, Authorization, Cookie, webhook-*.`,
    }),
  })
  .strict();
export type WebhookDeliverPayload = z.output<typeof WebhookDeliverPayloadSchema>;

export interface WebhookDeliveryResult {
  readonly status: number;
  /** Tries within this attempt (1 when the first succeeded). */
  readonly attempts: number;
  readonly durationMs: number;
}

/**
 * How one attempt calls a receiver: 8 s per try so that three tries and their backoff fit the
 * job's default 30 s timeout; a receiver failing five times in a row is left alone for 30 s by
 * this instance; ten deliveries in flight per instance.
 */
export const WEBHOOK_RESILIENCE: ResilienceOptions = {
  timeoutMs: 8_000,
  retry: { maxRetries: 2, initialDelayMs: 250, maxDelayMs: 2_000 },
  breaker: { kind: 'consecutive', failures: 5, halfOpenAfterMs: 30_000 },
  bulkhead: { maxConcurrent: 10, maxQueued: 50 },
  maxDestinations: 1_000,
};

/** How long a warm container keeps the signing secret; bounds how long a rotation takes to show. */
export const SECRET_CACHE_SECONDS = 300;
/** Standard Webhooks asks for 24 to 64 random bytes. */
export const MIN_SIGNING_KEY_BYTES = 24;

export interface WebhookDeliverDeps {
  /**
   * The signing secret, asked once per attempt (cache it). Standard Webhooks form `whsec_<base64
   * key>`; any other string is used as its UTF-8 bytes.
   */
  readonly signingSecret: () => Promise<string>;
  /**
   * Hosts (`host` or `host:port`) reachable over plain http and at private addresses: local
   * development receivers only.
   * @default the comma-separated `WEBHOOK_ALLOW_HOSTS`, read when the factory runs
   */
  readonly allowHosts?: string | readonly string[];
  /**
   * The Lambda Runtime API (`host:port`), never reachable through the allow-list.
   * @default `AWS_LAMBDA_RUNTIME_API`, read when the factory runs
   */
  readonly runtimeApi?: string;
  /** @default the system resolver */
  readonly resolve?: Resolver;
  /** @default a fresh `resilientCall('webhook.deliver', WEBHOOK_RESILIENCE)` */
  readonly calls?: ResilientCall;
  /** For `webhook-timestamp`. @default Date.now */
  readonly now?: () => number;
  /** @default `Switchyard-Webhooks/1` */
  readonly userAgent?: string;
}

/** The signing key a secret stands for: Standard Webhooks' `whsec_` + base64, or the text's own bytes. */
export function signingKey(secret: string): Buffer {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
  if (key.length < MIN_SIGNING_KEY_BYTES) throw new ConfigurationError(`the webhook signing secret must hold at least ${MIN_SIGNING_KEY_BYTES} bytes`);
  return key;
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`: the `webhook-signature` value. */
export function signWebhook(key: Buffer, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** Builds the job type around its dependencies; {@link webhookDeliver} is the one the registry uses. */
export function makeWebhookDeliver(deps: WebhookDeliverDeps): JobType<typeof WebhookDeliverPayloadSchema> {
  const policy: OutboundPolicy = {
    allowHosts: parseAllowHosts(deps.allowHosts ?? process.env.WEBHOOK_ALLOW_HOSTS),
    denyHosts: parseAllowHosts(deps.runtimeApi ?? process.env.AWS_LAMBDA_RUNTIME_API),
  };
  const calls = deps.calls ?? resilientCall('webhook.deliver', WEBHOOK_RESILIENCE);
  const now = deps.now ?? Date.now;
  const userAgent = deps.userAgent ?? 'Switchyard-Webhooks/1';

  return defineJobType({
    name: 'webhook.deliver',
    payload: WebhookDeliverPayloadSchema,
    description:
      'One signed POST to an https URL per try; up to 3 tries per attempt (8 s each, jittered backoff up to 2 s) on network errors, timeouts, 408, 429 and 5xx. 3xx and other 4xx end the job.',

    // The URL's own rules (https, no private or metadata address literals, no user info) refuse
    // the job at submission; what its name resolves to is checked on every try.
    admit(payload) {
      try {
        checkOutboundUrl(payload.url, policy);
        return [];
      } catch (error) {
        if (error instanceof OutboundUrlRefusedError) return [{ field: 'url', rule: error.rule }];
        throw error;
      }
    },

    async run(payload, context): Promise<WebhookDeliveryResult> {
      let url: URL;
      try {
        url = checkOutboundUrl(payload.url, policy);
      } catch (error) {
        throw failureOf(error, context, 'the target', 0);
      }
      const host = url.host;
      const key = signingKey(await deps.signingSecret());
      const body = JSON.stringify(payload.body);
      const started = performance.now();
      let tries = 0;

      try {
        const response = await calls.execute(
          host,
          async ({ signal, attempt }) => {
            tries = attempt;
            if (attempt > 1) context.logger.info('webhook retried', { host, attempt });
            // Resolved and vetted on every try: the answer may change between tries.
            const destination = await vetDestination(url, policy, { ...(deps.resolve ? { resolve: deps.resolve } : {}), signal });
            const timestamp = Math.floor(now() / 1000);
            const answer = await requestPinned(destination, {
              method: 'POST',
              headers: {
                'user-agent': userAgent,
                ...payload.headers,
                'content-type': 'application/json',
                'webhook-id': context.jobId,
                'webhook-timestamp': String(timestamp),
                'webhook-signature': signWebhook(key, context.jobId, timestamp, body),
              },
              body,
              signal,
            });
            if (answer.status >= 200 && answer.status < 300) return answer;
            throw statusError(answer, now());
          },
          context.signal,
        );
        const result = { status: response.status, attempts: tries, durationMs: Math.round(performance.now() - started) };
        context.logger.info('webhook delivered', { host, ...result });
        return result;
      } catch (error) {
        throw failureOf(error, context, host, tries);
      }
    },
  });
}

/**
 * The registered instance: the secret is the whole `SecretString` of the Secrets Manager secret
 * `WEBHOOK_SECRET_ARN`, read on first use and cached {@link SECRET_CACHE_SECONDS}.
 */
export const webhookDeliver = makeWebhookDeliver({ signingSecret: secretFromSecretsManager });

async function secretFromSecretsManager(): Promise<string> {
  const { WEBHOOK_SECRET_ARN } = readEnv({ WEBHOOK_SECRET_ARN: z.string().min(1) });
  const secret = await getSecret(WEBHOOK_SECRET_ARN, { maxAge: SECRET_CACHE_SECONDS });
  if (typeof secret !== 'string' || secret === '') throw new ConfigurationError('the webhook signing secret must be a non-empty SecretString');
  return secret;
}

function isAbsoluteHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

function statusError(answer: PinnedResponse, at: number): ResponseStatusError {
  const retryAfter = answer.headers['retry-after'];
  const excerpt = answer.excerpt === '' ? '' : `: ${answer.excerpt}`;
  const redirect = answer.status >= 300 && answer.status < 400 ? ' (redirects are not followed)' : '';
  return new ResponseStatusError(answer.status, `receiver answered ${answer.status}${redirect}${excerpt}`, {
    retryAfterMs: parseRetryAfterMs(typeof retryAfter === 'string' ? retryAfter : undefined, at),
  });
}

/** What one failed attempt throws: permanent when no retry can mend it, plain otherwise. */
function failureOf(error: unknown, context: JobContext, host: string, tries: number): Error {
  const afterTries = tries > 1 ? ` after ${tries} tries` : '';
  if (context.signal.aborted) return new Error(`webhook to ${host} stopped: the attempt ran out of time${afterTries}`, { cause: error });
  if (error instanceof OutboundUrlRefusedError) return new PermanentJobError(error.message, { cause: error });
  if (error instanceof ResponseStatusError) {
    const message = `webhook to ${host}: ${error.message}${afterTries}`;
    const final = error.status >= 300 && error.status < 500 && !isTransientStatus(error.status);
    return final ? new PermanentJobError(message, { cause: error }) : new Error(message, { cause: error });
  }
  if (error instanceof CircuitOpenError) return new Error(`webhook to ${host} not sent: the circuit is open after repeated failures`, { cause: error });
  const reason = error instanceof Error ? error.message : String(error);
  return new Error(`webhook to ${host} failed${afterTries}: ${reason}`, { cause: error });
}
