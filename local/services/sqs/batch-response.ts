/**
 * Reads a function's partial batch response (`ReportBatchItemFailures`) as Lambda does:
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 */

/** Which records failed, or why the response fails the whole batch. */
export type BatchVerdict =
  | { readonly kind: 'settled'; readonly failed: ReadonlySet<string> }
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * Lambda takes as full success a null or empty response and a null or empty
 * `batchItemFailures`; it fails the whole batch on a response that is not an object, an
 * entry without `itemIdentifier`, a null or empty identifier, or one that names no message of
 * the batch.
 * @param result the function's return value (JSON round-tripped)
 * @param messageIds the ids of the batch's records
 */
export function readBatchResponse(result: unknown, messageIds: readonly string[]): BatchVerdict {
  const none: BatchVerdict = { kind: 'settled', failed: new Set() };
  if (result === undefined || result === null) return none;
  if (typeof result !== 'object' || Array.isArray(result)) return invalid('the response is not a JSON object');
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return none;
  if (!Array.isArray(failures)) return invalid('batchItemFailures is not a list');

  const known = new Set(messageIds);
  const failed = new Set<string>();
  for (const entry of failures) {
    if (typeof entry !== 'object' || entry === null || !('itemIdentifier' in entry)) {
      return invalid(`a batchItemFailures entry has no itemIdentifier: ${JSON.stringify(entry)}`);
    }
    const id = (entry as { itemIdentifier: unknown }).itemIdentifier;
    if (id === null || id === '') return invalid(`an itemIdentifier is ${id === null ? 'null' : 'empty'}`);
    if (typeof id !== 'string') return invalid(`itemIdentifier ${JSON.stringify(id)} is not a message id`);
    if (!known.has(id)) return invalid(`itemIdentifier ${id} is not a message of the batch`);
    failed.add(id);
  }
  return { kind: 'settled', failed };
}

function invalid(reason: string): BatchVerdict {
  return { kind: 'invalid', reason };
}
