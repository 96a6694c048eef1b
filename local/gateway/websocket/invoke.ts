import type { LambdaInvoker } from '../../model';

/** How an integration call ended, as the gateway must tell the cases apart. */
export type IntegrationOutcome =
  | { readonly kind: 'returned'; readonly result: unknown }
  | { readonly kind: 'failed'; readonly errorType: string; readonly errorMessage: string }
  | { readonly kind: 'timed-out' };

/**
 * Invokes `functionArn` with `event`. API Gateway gives up on an integration after its timeout
 * (29 s at most) even though the function keeps running, so the gateway's answer must not wait
 * for the invoker past `timeoutMs`. An invoker that throws counts as a failed integration.
 */
export async function invokeIntegration(
  invoker: LambdaInvoker,
  functionArn: string,
  event: unknown,
  timeoutMs?: number,
): Promise<IntegrationOutcome> {
  const call = invoker.invoke(functionArn, event).then(
    (outcome): IntegrationOutcome =>
      outcome.error
        ? { kind: 'failed', errorType: outcome.error.errorType, errorMessage: outcome.error.errorMessage }
        : { kind: 'returned', result: outcome.result },
    (error: unknown): IntegrationOutcome => ({
      kind: 'failed',
      errorType: 'InvokerError',
      errorMessage: error instanceof Error ? error.message : String(error),
    }),
  );
  if (timeoutMs === undefined) return call;

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<IntegrationOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timed-out' }), timeoutMs);
  });
  try {
    return await Promise.race([call, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
