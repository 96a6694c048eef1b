import type { InvocationOutcome, LambdaInvoker } from '../../model';

/** How a bounded invocation ended. */
export type BoundedInvocation =
  | { readonly kind: 'completed'; readonly outcome: InvocationOutcome; readonly latencyMs: number }
  /** The gateway stopped waiting; the function goes on running, as it does on AWS. */
  | { readonly kind: 'timed-out'; readonly latencyMs: number }
  /** The invoker could not run the function at all (unknown function, broken bundle...). */
  | { readonly kind: 'failed'; readonly error: unknown; readonly latencyMs: number };

/** Invokes `target` and waits at most `timeoutMs` for its outcome. */
export async function invokeWithin(invoker: LambdaInvoker, target: string, event: unknown, timeoutMs: number): Promise<BoundedInvocation> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  const invocation = invoker.invoke(target, event).then(
    (outcome) => ({ kind: 'completed', outcome, latencyMs: latency() }) as const,
    (error: unknown) => ({ kind: 'failed', error, latencyMs: latency() }) as const,
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<BoundedInvocation>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timed-out', latencyMs: latency() }), timeoutMs);
  });
  try {
    return await Promise.race([invocation, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
