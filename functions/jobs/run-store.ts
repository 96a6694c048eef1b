import { randomUUID } from 'node:crypto';
import { IdempotencyItemAlreadyExistsError, IdempotencyItemNotFoundError, IdempotencyRecordStatus } from '@aws-lambda-powertools/idempotency';
import { BasePersistenceLayer, IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import type { JobMessage } from './lanes';
import { jobSettings } from './settings';
import { readJob, transition, type JobItem } from './store';

/** A worker that died holds its job this long past the stage's longest attempt before a redelivery may take it. */
export const LEASE_MARGIN_SECONDS = 30;

/** Time an instance must have left, beyond the stage's longest attempt, to claim a run: the end write and its announcements. */
export const CLAIM_MARGIN_MS = 5_000;

/**
 * Thrown instead of claiming when the invocation could not finish the attempt before its own
 * timeout (earlier records of the batch took the time): the run is not charged an attempt, and
 * the worker makes its message visible again at once.
 */
export class NoTimeToClaimError extends Error {
  constructor(readonly remainingMs: number) {
    super(`only ${remainingMs} ms left in this invocation: the run is left for another`);
    this.name = 'NoTimeToClaimError';
  }
}

/** The statuses a run is claimed from: waiting for its first attempt, or for its next. */
const CLAIMABLE = ['scheduled', 'queued', 'retrying'] as const;

type HashInput = Parameters<BasePersistenceLayer['getRecord']>[0];

/** The worker's idempotency key of a job's run: `<tenant>#<job>#<run>` (job ids are 32 hex digits; tenant ids may hold `#`). */
export const runKey = (message: JobMessage): string => `${message.tenantId}#${message.jobId}#${message.run}`;
const RUN_KEY = /^(.+)#([0-9a-f]{32})#([1-9][0-9]*)$/;

/**
 * The job worker's idempotency store: a Powertools persistence layer whose records are the job
 * records themselves, so that a run costs the jobs table two writes (its claim and its end)
 * instead of those two and the idempotency table's two.
 *
 * Powertools' protocol runs unchanged (save in progress, or hand back what the saved record
 * says; run; save the outcome); only where it keeps its state moves:
 * - **in progress** is the claim: one conditional write moves the run from `scheduled`, `queued`
 *   or `retrying` (or from `running`, when the lease of a worker that died has run out) to
 *   `running`, counts the attempt and takes a lease. `inProgressExpiryTimestamp` is the lease.
 * - **completed** is a run past `running` for good: `succeeded`, `dead` or `cancelled`, or a
 *   run the job has moved on from (a retry of a dead job is a new run). The worker's own end
 *   write (with the result) is the completed record, so saving success writes nothing more.
 * - **no record** is a run waiting for an attempt: a failed attempt that will be retried leaves
 *   the job `retrying` (the worker's write), so deleting the in-progress record writes nothing
 *   either. An attempt that failed without ending (the table or S3 failing under it) keeps its
 *   lease; its message comes back after the lane's visibility timeout, which outlasts the lease,
 *   and claims the run again then.
 *
 * Records never expire: a job record is kept, and its run's outcome with it.
 *
 * The worker needs the claimed job (its payload, attempts, timeout), and a repeat of an ended run
 * needs the job to say its end again: `take` hands over what the last write for a run saw, so
 * neither reads the job again.
 */
export class JobRunStore extends BasePersistenceLayer {
  /** Per run key: the job as the claim left it (claimed) or found it (not claimed). */
  readonly #seen = new Map<string, JobItem | undefined>();

  /** The job as the claim of `message`'s run left it (claimed) or found it (not), once: it is forgotten then. */
  take(message: JobMessage): JobItem | undefined {
    const key = runKey(message);
    const job = this.#seen.get(key);
    this.#seen.delete(key);
    return job;
  }

  /** Forgets every run seen: once per invocation, so runs whose claim found them in progress do not pile up. */
  forget(): void {
    this.#seen.clear();
  }

  /** The run key itself, unhashed: the store needs the job's key, and a job id is no secret. */
  protected override getHashedIdempotencyKey(data: HashInput): string {
    const key = typeof data === 'object' && data !== null && !Array.isArray(data) ? data['idempotencyKey'] : undefined;
    if (typeof key !== 'string' || !RUN_KEY.test(key)) throw new Error(`JobRunStore: not a job run key: ${JSON.stringify(key)}`);
    return `${this.idempotencyKeyPrefix}#${key}`;
  }

  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    const run = this.#runOf(record.idempotencyKey);
    const now = new Date();
    // Powertools sets the in-progress expiry to the invocation's end (the remaining time it was told).
    const remainingMs = record.inProgressExpiryTimestamp === undefined ? Infinity : record.inProgressExpiryTimestamp - now.getTime();
    if (remainingMs < jobSettings().maxTimeoutSeconds * 1000 + CLAIM_MARGIN_MS) throw new NoTimeToClaimError(remainingMs);
    const leaseUntil = new Date(now.getTime() + (jobSettings().maxTimeoutSeconds + LEASE_MARGIN_SECONDS) * 1000).toISOString();
    // Names this claim: when the write committed but its answer was lost, the SDK's retry finds
    // the run `running` under this very claim, which is ours, not another worker's.
    const claimId = randomUUID();
    const claim = await transition(run.tenantId, run.jobId, {
      from: CLAIMABLE,
      leaseExpiredBefore: now.toISOString(),
      to: 'running',
      run: run.run,
      add: { attempts: 1 },
      set: { startedAt: now.toISOString(), nextAttemptAt: null, leaseUntil, claimId },
    });
    const key = runKey(run);
    const claimed = claim.after ?? (claim.before?.status === 'running' && claim.before.claimId === claimId ? claim.before : undefined);
    if (claimed) {
      this.#seen.set(key, claimed);
      return;
    }
    this.#seen.set(key, claim.before);
    throw new IdempotencyItemAlreadyExistsError(
      `job ${run.jobId} run ${run.run} is not claimable (${claim.before?.status ?? 'absent'})`,
      recordOf(record.idempotencyKey, run, claim.before),
    );
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const run = this.#runOf(idempotencyKey);
    const job = await readJob(run.tenantId, run.jobId);
    if (job && job.run === run.run && (CLAIMABLE as readonly string[]).includes(job.status)) throw new IdempotencyItemNotFoundError();
    return recordOf(idempotencyKey, run, job);
  }

  /** The worker's end write is the completed record. */
  protected async _updateRecord(): Promise<void> {}

  /** A failed attempt is `retrying` (the worker's write) or still leased; see the class. */
  protected async _deleteRecord(): Promise<void> {}

  #runOf(idempotencyKey: string): JobMessage {
    const match = RUN_KEY.exec(idempotencyKey.slice(this.idempotencyKeyPrefix.length + 1));
    if (!idempotencyKey.startsWith(`${this.idempotencyKeyPrefix}#`) || !match) throw new Error(`JobRunStore: not a job run key: ${idempotencyKey}`);
    return { tenantId: match[1]!, jobId: match[2]!, run: Number(match[3]) };
  }
}

/** The idempotency record a job stands for, for a run the claim could not take. */
function recordOf(idempotencyKey: string, run: JobMessage, job: JobItem | undefined): IdempotencyRecord {
  if (job && job.run === run.run && job.status === 'running') {
    return new IdempotencyRecord({
      idempotencyKey,
      status: IdempotencyRecordStatus.INPROGRESS,
      ...(job.leaseUntil ? { inProgressExpiryTimestamp: Date.parse(job.leaseUntil) } : {}),
    });
  }
  return new IdempotencyRecord({ idempotencyKey, status: IdempotencyRecordStatus.COMPLETED });
}
