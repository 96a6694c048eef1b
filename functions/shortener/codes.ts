import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * Link codes: random ones the shortener gives out, and aliases a tenant chooses. Both live at the
 * root of the short domain (`/{code}`), beside the paths the API serves itself, so words those
 * paths use are reserved.
 */

export const CODE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 62^8 ≈ 2.2e14 codes: a guesser needs millions of tries per hit even with a billion links. */
export const CODE_LENGTH = 8;

/**
 * The largest multiple of the alphabet's size that fits in a byte (248 = 4 × 62). Bytes at or
 * above it are skipped: mapping all 256 with `% 62` would make the first 8 symbols more likely.
 */
const UNBIASED_BYTE_LIMIT = 256 - (256 % CODE_ALPHABET.length);

/**
 * Paths the API serves, or may serve, at its root, in lower case. A code equal to one of them in
 * any case is refused, so no link shadows a route and none reads like one.
 */
export const RESERVED_CODES: ReadonlySet<string> = new Set([
  // served now
  'v1',
  'health',
  'openapi',
  'openapi.json',
  'links',
  'limits',
  'me',
  'ws',
  // versions and areas the API may grow
  'v2',
  'v3',
  'api',
  'admin',
  'docs',
  'static',
  'assets',
  'www',
  'login',
  'logout',
  'signup',
  'auth',
  'oauth',
  'callback',
  'account',
  'settings',
  'dashboard',
  'status',
  'stats',
  'metrics',
  'help',
  'about',
  'terms',
  'privacy',
  // files browsers, crawlers and platforms ask every host for
  'favicon.ico',
  'robots.txt',
  'sitemap.xml',
  'humans.txt',
  'security.txt',
  'ads.txt',
  'manifest.json',
  'apple-app-site-association',
  'well-known',
  '.well-known',
]);

/** Whether `code` is reserved, in any case. */
export function isReserved(code: string): boolean {
  return RESERVED_CODES.has(code.toLowerCase());
}

/** Where random bytes come from; tests pass their own. */
export type RandomBytes = (size: number) => Uint8Array;

/**
 * A code of `length` characters, uniformly distributed over the alphabet, from
 * crypto.randomBytes with rejection sampling (no modulo bias). A reserved word is drawn again.
 *
 * @param random the source of bytes; `crypto.randomBytes` unless a test passes another
 * @throws RangeError when `length` is not a positive integer
 */
export function randomCode(length: number = CODE_LENGTH, random: RandomBytes = randomBytes): string {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`code length must be a positive integer, not ${length}`);
  for (;;) {
    const code = drawCode(length, random);
    if (!isReserved(code)) return code;
  }
}

function drawCode(length: number, random: RandomBytes): string {
  let code = '';
  while (code.length < length) {
    // 3% of bytes are skipped; asking for a quarter more usually fills the code in one call.
    for (const byte of random(Math.ceil((length - code.length) * 1.25))) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      code += CODE_ALPHABET[byte % CODE_ALPHABET.length];
      if (code.length === length) break;
    }
  }
  return code;
}

/** Aliases: 3 to 64 of [A-Za-z0-9_-]. */
export const AliasSchema = z
  .string()
  .min(3, 'must be at least 3 characters')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9_-]*$/, 'must contain only A-Z, a-z, 0-9, _ and -')
  .refine((alias) => !isReserved(alias), 'is reserved');
