/** An HTTP response a Lambda proxy integration asked for. */
export interface ProxyResponse {
  readonly statusCode: number;
  /** Header values, several for a name when the function gave several. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: string;
  readonly isBase64Encoded: boolean;
}

const FIELDS = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded']);

/**
 * Reads a Lambda result as a v1 proxy response, or undefined when API Gateway would call it a
 * "Malformed Lambda proxy response" (and answer 502): not an object, no valid `statusCode`,
 * a field the format does not have, a body that is not a string, a header value that is not a
 * string, number or boolean.
 *
 * Headers from `headers` and `multiValueHeaders` are merged; a name given in both keeps only
 * its `multiValueHeaders` values, as AWS documents.
 */
export function parseProxyResponse(result: unknown): ProxyResponse | undefined {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return undefined;
  const fields = result as Record<string, unknown>;
  if (Object.keys(fields).some((key) => !FIELDS.has(key))) return undefined;

  const statusCode = typeof fields['statusCode'] === 'string' && /^\d+$/.test(fields['statusCode']) ? Number(fields['statusCode']) : fields['statusCode'];
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return undefined;

  const body = fields['body'] ?? '';
  if (typeof body !== 'string') return undefined;
  const isBase64Encoded = fields['isBase64Encoded'] ?? false;
  if (typeof isBase64Encoded !== 'boolean') return undefined;

  const single = fields['headers'] ?? {};
  const multi = fields['multiValueHeaders'] ?? {};
  if (!isRecord(single) || !isRecord(multi)) return undefined;
  const headers = new Map<string, string[]>();
  for (const [name, value] of Object.entries(multi)) {
    if (value === null) continue;
    const values = (Array.isArray(value) ? value : [value]).map(headerText);
    if (values.some((v) => v === undefined)) return undefined;
    headers.set(name, values as string[]);
  }
  const inMulti = new Set([...headers.keys()].map((n) => n.toLowerCase()));
  for (const [name, value] of Object.entries(single)) {
    if (value === null) continue;
    const text = headerText(value);
    if (text === undefined) return undefined;
    if (!inMulti.has(name.toLowerCase())) headers.set(name, [text]);
  }
  return { statusCode, headers, body, isBase64Encoded };
}

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
