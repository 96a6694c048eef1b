import { IdempotencyItemAlreadyExistsError, IdempotencyItemNotFoundError, IdempotencyRecordStatus } from '@aws-lambda-powertools/idempotency';
import { BasePersistenceLayer, IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';

/**
 * A Powertools persistence layer held in memory, for unit tests of consumers: idempotency runs
 * for real (in-progress, completed, expiry) without DynamoDB. The put follows the conditional
 * write of `DynamoDBPersistenceLayer`: it succeeds only when there is no record, the record
 * has expired, or it is an in-progress record whose in-progress expiry has passed.
 *
 * Not for deployed functions: every container would keep its own memory, which is no
 * idempotency at all across Lambda instances.
 */
export class InMemoryPersistenceLayer extends BasePersistenceLayer {
  readonly #records = new Map<string, IdempotencyRecord>();

  /** How many idempotency records are held, expired ones included. */
  get size(): number {
    return this.#records.size;
  }

  /** Copies of the records held, for tests to inspect status and expiry. */
  records(): IdempotencyRecord[] {
    return [...this.#records.values()].map(copyOf);
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const record = this.#records.get(idempotencyKey);
    if (!record) throw new IdempotencyItemNotFoundError();
    return copyOf(record);
  }

  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    const existing = this.#records.get(record.idempotencyKey);
    if (existing && !replaceable(existing, Date.now())) {
      throw new IdempotencyItemAlreadyExistsError(
        `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
        copyOf(existing),
      );
    }
    this.#records.set(record.idempotencyKey, copyOf(record));
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.#records.set(record.idempotencyKey, copyOf(record));
  }

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.#records.delete(record.idempotencyKey);
  }
}

function replaceable(record: IdempotencyRecord, nowMs: number): boolean {
  if (record.isExpired()) return true;
  return (
    record.getStatus() === IdempotencyRecordStatus.INPROGRESS &&
    record.inProgressExpiryTimestamp !== undefined &&
    record.inProgressExpiryTimestamp < nowMs
  );
}

/** A stored copy, as a database would keep: later changes to the caller's object do not leak in. */
function copyOf(record: IdempotencyRecord): IdempotencyRecord {
  return new IdempotencyRecord({
    idempotencyKey: record.idempotencyKey,
    sortKey: record.sortKey,
    status: record.getStatus(),
    expiryTimestamp: record.expiryTimestamp,
    inProgressExpiryTimestamp: record.inProgressExpiryTimestamp,
    responseData: record.responseData === undefined ? undefined : structuredClone(record.responseData),
    payloadHash: record.payloadHash,
  });
}
