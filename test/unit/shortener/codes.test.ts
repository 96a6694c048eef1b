import { describe, expect, it } from 'vitest';
import { AliasSchema, CODE_ALPHABET, CODE_LENGTH, isReserved, randomCode, RESERVED_CODES, type RandomBytes } from '../../../functions/shortener/codes';

/** A byte source that hands out `bytes` in order, and records how many each call asked for. */
function scriptedBytes(bytes: readonly number[]): RandomBytes & { readonly requests: number[] } {
  let next = 0;
  const requests: number[] = [];
  const source = (size: number) => {
    requests.push(size);
    if (next + size > bytes.length) throw new Error(`the script has ${bytes.length - next} bytes left, ${size} were asked for`);
    const chunk = Uint8Array.from(bytes.slice(next, next + size));
    next += size;
    return chunk;
  };
  return Object.assign(source, { requests });
}

const indexOf = (symbol: string) => CODE_ALPHABET.indexOf(symbol);

describe('CODE_ALPHABET', () => {
  it('is the 62 digits and ASCII letters, each once', () => {
    // Assess
    expect(CODE_ALPHABET).toHaveLength(62);
    expect(new Set(CODE_ALPHABET).size).toBe(62);
    expect(CODE_ALPHABET).toMatch(/^[0-9A-Za-z]+$/);
  });
});

describe('randomCode', () => {
  it('makes codes of 8 alphabet characters by default, and of any length asked', () => {
    // Act
    const codes = Array.from({ length: 200 }, () => randomCode());
    const long = randomCode(40);

    // Assess
    expect(CODE_LENGTH).toBe(8);
    for (const code of codes) expect(code).toMatch(/^[0-9A-Za-z]{8}$/);
    expect(new Set(codes).size).toBe(codes.length);
    expect(long).toMatch(/^[0-9A-Za-z]{40}$/);
  });

  it('maps each byte below 248 to the alphabet by its remainder', () => {
    // Prepare
    const random = scriptedBytes([0, 61, 62, 123, 124, 185, 186, 247, 0, 0]);

    // Act
    const code = randomCode(8, random);

    // Assess
    expect(code).toBe('0z0z0z0z');
  });

  it('skips bytes of 248 and above, which would favour the first 8 symbols, and asks for more', () => {
    // Prepare: 10 bytes for the first call, 5 of them unusable; then enough for the rest
    const random = scriptedBytes([248, 1, 255, 2, 250, 3, 249, 4, 251, 5, 6, 7, 8, 9, 10, 11, 12]);

    // Act
    const code = randomCode(8, random);

    // Assess
    expect(code).toBe('12345678');
    expect(random.requests.length).toBeGreaterThan(1);
  });

  it('gives every symbol the same share of the byte values it accepts', () => {
    // Prepare: every accepted byte value once
    const random = scriptedBytes(Array.from({ length: 256 }, (_, byte) => byte).concat(Array<number>(64).fill(0)));

    // Act
    const code = randomCode(248, random);

    // Assess
    const counts = new Map<string, number>();
    for (const symbol of code) counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
    expect(counts.size).toBe(62);
    expect(new Set(counts.values())).toEqual(new Set([4]));
  });

  it('spreads real random codes evenly over the alphabet', () => {
    // Prepare: 62,000 symbols, 1,000 expected each; the standard deviation is about 31,
    // so ±30% is nearly ten of them and cannot fail by chance
    const expected = 1000;

    // Act
    const symbols = randomCode(expected * CODE_ALPHABET.length);

    // Assess
    const counts = new Map<string, number>();
    for (const symbol of symbols) counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const [, count] of counts) {
      expect(count).toBeGreaterThan(expected * 0.7);
      expect(count).toBeLessThan(expected * 1.3);
    }
  });

  it('draws again when the code it drew is a reserved word in any case', () => {
    // Prepare: "SeTTiNgs", then "00000000"
    const reserved = [...'SeTTiNgs'].map(indexOf);
    const random = scriptedBytes([...reserved, 0, 0, ...Array<number>(10).fill(0)]);

    // Act
    const code = randomCode(8, random);

    // Assess
    expect(isReserved('SeTTiNgs')).toBe(true);
    expect(code).toBe('00000000');
  });

  it.each([0, -1, 2.5, Number.NaN])('refuses the length %s', (length) => {
    // Act
    const make = () => randomCode(length);

    // Assess
    expect(make).toThrow(RangeError);
  });
});

describe('isReserved', () => {
  it.each(['v1', 'V1', 'health', 'HEALTH', 'openapi.json', 'OpenAPI.json', 'links', 'Limits', 'me', 'ws', 'admin', 'favicon.ico', 'robots.txt', '.well-known', 'well-known'])('reserves %s', (code) => {
    // Assess
    expect(isReserved(code)).toBe(true);
  });

  it.each(['k3Xq9bTz', 'my-launch', 'healthy', 'v12', 'meme'])('leaves %s free', (code) => {
    // Assess
    expect(isReserved(code)).toBe(false);
  });

  it('holds its words in lower case, since lookups lower-case the code', () => {
    // Assess
    for (const word of RESERVED_CODES) expect(word).toBe(word.toLowerCase());
  });
});

describe('AliasSchema', () => {
  it.each(['abc', 'my-launch_2026', 'A'.repeat(64), '___', 'Summer-Sale'])('accepts %s', (alias) => {
    // Act
    const result = AliasSchema.safeParse(alias);

    // Assess
    expect(result).toEqual({ success: true, data: alias });
  });

  it.each([
    ['ab', 'must be at least 3 characters'],
    ['', 'must be at least 3 characters'],
    ['a'.repeat(65), 'must be at most 64 characters'],
    ['has space', 'must contain only A-Z, a-z, 0-9, _ and -'],
    ['dots.not.allowed', 'must contain only A-Z, a-z, 0-9, _ and -'],
    ['slash/path', 'must contain only A-Z, a-z, 0-9, _ and -'],
    ['ümlaut', 'must contain only A-Z, a-z, 0-9, _ and -'],
    ['admin', 'is reserved'],
    ['ADMIN', 'is reserved'],
    ['Health', 'is reserved'],
    ['well-known', 'is reserved'],
  ])('refuses %j: %s', (alias, message) => {
    // Act
    const result = AliasSchema.safeParse(alias);

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message)).toEqual([message]);
  });

  it('names every rule an alias breaks', () => {
    // Act
    const result = AliasSchema.safeParse('Me');

    // Assess
    expect(result.error?.issues.map((issue) => issue.message)).toEqual(['must be at least 3 characters', 'is reserved']);
  });
});
