import { IdempotencyAlreadyInProgressError, IdempotencyConfig, IdempotencyValidationError, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { idempotencyTableStore } from '../consumer/idempotency';
import { ConflictError, IdempotencyKeyReusedError, ValidationError } from '../errors';
import type { HttpResponse } from './handler';

/** The request header, lower case as the edge hands headers over. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** Printable ASCII, as the IETF Idempotency-Key draft and Stripe allow. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** How long an answer is replayed for its key. */
const TTL_SECONDS = 24 * 60 * 60;

interface Attempt {
  readonly key: string;
  readonly body: unknown;
}

export interface IdempotentPost {
  /**
   * Runs `create` once per Idempotency-Key (scoped to `scope`, e.g. the tenant) and request body;
   * without the header, simply runs it. The first answer is stored and replayed for 24 h with
   * `Idempotent-Replayed: true`; errors are not stored, so a failed request may be retried with
   * the same key.
   * @throws ValidationError for a malformed key (`header.idempotency-key`)
   * @throws IdempotencyKeyReusedError (422) for the same key with another body
   * @throws ConflictError (409) while the first request with this key is still running
   */
  run(request: { readonly headers: Readonly<Record<string, string | undefined>>; readonly body: unknown; readonly context: Context }, scope: string, create: () => Promise<HttpResponse>): Promise<HttpResponse>;
}

/**
 * Idempotent POSTs, on Powertools idempotency and the shared idempotency table. Create one per
 * route, at module load; `name` prefixes its records (unique and stable, like a consumer's name).
 */
export function idempotentPost(name: string, store?: () => BasePersistenceLayer): IdempotentPost {
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', payloadValidationJmesPath: 'body', expiresAfterSeconds: TTL_SECONDS, throwOnNoIdempotencyKey: true });
  let once: ((attempt: Attempt, create: () => Promise<HttpResponse>) => Promise<HttpResponse>) | undefined;
  const idempotent = () =>
    (once ??= makeIdempotent(async (_attempt: Attempt, create: () => Promise<HttpResponse>) => create(), {
      persistenceStore: (store ?? idempotencyTableStore)(),
      config,
      keyPrefix: `http.${name}`,
    }));

  return {
    async run(request, scope, create) {
      const raw = request.headers[IDEMPOTENCY_KEY_HEADER];
      if (raw === undefined) return create();
      if (!KEY_PATTERN.test(raw)) throw new ValidationError([{ field: `header.${IDEMPOTENCY_KEY_HEADER}`, rule: 'must be 1 to 255 printable ASCII characters' }]);
      config.registerLambdaContext(request.context);
      let ran = false;
      try {
        const response = await idempotent()({ key: `${scope}#${raw}`, body: request.body }, async () => {
          ran = true;
          return create();
        });
        return ran ? response : { ...response, headers: { ...response.headers, 'idempotent-replayed': 'true' } };
      } catch (error) {
        if (error instanceof IdempotencyValidationError) throw new IdempotencyKeyReusedError();
        if (error instanceof IdempotencyAlreadyInProgressError) throw new ConflictError('a request with this Idempotency-Key is still being processed; retry shortly');
        throw error;
      }
    },
  };
}
