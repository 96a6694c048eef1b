import type { IncomingMessage } from 'node:http';

/** A request's headers in the order and case they were sent. */
export type HeaderPairs = readonly (readonly [name: string, value: string])[];

/** What a request body read under a size cap gave. */
export type BodyRead = { readonly tooLarge: false; readonly body: Buffer } | { readonly tooLarge: true };

/**
 * Reads a request's body, keeping at most `maxBytes`. An oversize body is still read to its
 * end (and dropped) so the client gets the 413 instead of a reset connection mid-upload.
 */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  const declared = Number(request.headers['content-length']);
  let tooLarge = Number.isFinite(declared) && declared > maxBytes;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    if (tooLarge) continue;
    size += chunk.length;
    if (size > maxBytes) {
      tooLarge = true;
      chunks.length = 0;
      continue;
    }
    chunks.push(chunk);
  }
  return tooLarge ? { tooLarge } : { tooLarge, body: Buffer.concat(chunks) };
}

/** The raw header lines of a request, original case kept (Node's `rawHeaders`). */
export function headerPairsOf(request: IncomingMessage): HeaderPairs {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) pairs.push([request.rawHeaders[i]!, request.rawHeaders[i + 1]!]);
  return pairs;
}

/** The last value of a header, by case-insensitive name. */
export function headerValue(pairs: HeaderPairs, name: string): string | undefined {
  const lower = name.toLowerCase();
  let value: string | undefined;
  for (const [n, v] of pairs) if (n.toLowerCase() === lower) value = v;
  return value;
}

/** Parsed query string, in API Gateway's two shapes (null when there is none). */
export interface QueryMaps {
  /** Last value of each name. */
  readonly single: Record<string, string> | null;
  readonly multi: Record<string, string[]> | null;
}

/**
 * Parses a raw query string as API Gateway does: names and values percent-decoded (`+` is kept
 * as `+`), a name without `=` has the empty value, repeated names keep every value in order.
 */
export function parseQuery(rawQuery: string): QueryMaps {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decode(part.slice(eq + 1));
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return Object.keys(single).length ? { single, multi } : { single: null, multi: null };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
