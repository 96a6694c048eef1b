/**
 * Stage throttling as API Gateway applies it: a token bucket holding up to `burstLimit`
 * requests, refilled at `rateLimit` requests a second.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly rateLimit: number,
    private readonly burstLimit: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burstLimit;
    this.updatedAt = now();
  }

  /** Takes one token; false when the bucket is empty and the request is to be throttled. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burstLimit, this.tokens + ((now - this.updatedAt) / 1000) * this.rateLimit);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
