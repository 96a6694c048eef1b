import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Freezes `Date` at `at` for every test of the file, and restores it (and stubbed environment
 * variables) after each. Only `Date`: the SDK's timers and abort signals keep running, so calls to
 * DynamoDB Local still time out as they would.
 */
export function useFrozenDate(at: number): void {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(at);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });
}
