/**
 * Settles with `work`, or rejects as soon as `signal` aborts (at once when it already has): a
 * wait the caller gave up on (a DNS lookup, a try queued in a bulkhead, a backoff sleep) would
 * otherwise outlive the caller's limit. The abandoned work still settles on its own.
 * @param reasonOf what to reject with; the signal's own reason by default
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, reasonOf: (signal: AbortSignal) => unknown = (s) => s.reason): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.reject(reasonOf(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
