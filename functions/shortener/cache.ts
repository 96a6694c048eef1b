import { LRUCache } from 'lru-cache';
import type { LinkItem } from './links';

/** Remembered that a code has no link: the negative cache's entry. */
const UNKNOWN = Symbol('unknown code');

export type CacheLookup = { readonly hit: true; readonly item: LinkItem | undefined } | { readonly hit: false };

/**
 * Cache-aside for the redirect, per function instance: links for `ttlMs`, unknown codes for
 * `negativeTtlMs` (a scan of random codes must not turn into a read per guess, and a link created
 * a moment after a miss appears within that time). Bounded by an LRU: memory, never correctness.
 *
 * What it trades: an instance may serve a link up to `ttlMs` after it was changed or deleted
 * elsewhere (expiry itself is checked on every redirect against the cached `expiresAt`, and a
 * click limit is always counted in DynamoDB).
 */
export class LinkCache {
  private readonly entries: LRUCache<string, LinkItem | typeof UNKNOWN>;

  constructor(
    private readonly ttlMs: number,
    private readonly negativeTtlMs: number,
    max = 10_000,
  ) {
    this.entries = new LRUCache({ max, ttl: Math.max(1, ttlMs), ttlAutopurge: false });
  }

  get(code: string): CacheLookup {
    const entry = this.entries.get(code);
    if (entry === undefined) return { hit: false };
    return { hit: true, item: entry === UNKNOWN ? undefined : entry };
  }

  /** Remembers what DynamoDB said: the link, or that there is none. */
  set(code: string, item: LinkItem | undefined): void {
    const ttl = item ? this.ttlMs : this.negativeTtlMs;
    if (ttl <= 0) return;
    this.entries.set(code, item ?? UNKNOWN, { ttl });
  }

  /** Forgets a code this instance changed itself. */
  delete(code: string): void {
    this.entries.delete(code);
  }
}
