/**
 * Checks AWS Signature Version 4 the way S3 does: the `Authorization` header, presigned query
 * strings, and the signature over a POST policy. The canonical request, string to sign,
 * signing key and HMAC all come from the SDK's own signer (`@smithy/signature-v4`); this
 * module only chooses what goes in (the path and query as sent, the headers the client says it
 * signed, the payload hash) and compares.
 */
import { createHash, createHmac, timingSafeEqual, type Hash as NodeHash, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ALGORITHM_IDENTIFIER, getCanonicalHeaders, SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, HttpRequest, SourceData } from '@smithy/types';
import { accessDenied, S3Error } from './errors';

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A request as it arrived: what a signature can cover. */
export interface SignedRequest {
  readonly method: string;
  /** The path exactly as sent, still percent-encoded: S3 signs it that way. */
  readonly rawPath: string;
  /** The query string as sent, without the `?`. */
  readonly rawQuery: string;
  readonly headers: IncomingHttpHeaders;
}

/** What a valid signature proves. */
export interface Verified {
  readonly accessKeyId: string;
  /**
   * `x-amz-content-sha256` of a header-signed request (a hex SHA-256, `UNSIGNED-PAYLOAD` or a
   * `STREAMING-...` marker); the body must still be checked against a hex hash.
   */
  readonly payloadHash?: string;
}

/** The fields of a browser's POST upload that authenticate it. */
export interface PolicySignature {
  /** `x-amz-credential`: `AKID/20260301/us-east-1/s3/aws4_request`. */
  readonly credential: string;
  /** `policy`: the base64 policy document, exactly as signed. */
  readonly policy: string;
  /** `x-amz-signature`. */
  readonly signature: string;
}

const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const MAX_EXPIRES_SECONDS = 7 * 24 * 3600;
const MAX_SKEW_MS = 15 * 60 * 1000;
const QUERY_AUTH_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'];

/** SHA-256 (and HMAC-SHA-256 when given a key) from node:crypto, in the shape the SDK's signer wants. */
class NodeSha256 implements Checksum {
  private hash: NodeHash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): NodeHash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const key = typeof this.secret === 'string' ? this.secret : ArrayBuffer.isView(this.secret) ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength) : Buffer.from(this.secret);
    return createHmac('sha256', key);
  }
}

/** The SDK's signer, opened up just enough to sign a canonical request we assemble from the wire. */
class CanonicalSigner extends SignatureV4 {
  async signatureOf(request: HttpRequest, signedHeaders: ReadonlySet<string>, payloadHash: string, scope: Scope, longDate: string) {
    const canonicalHeaders = getCanonicalHeaders(request, undefined, new Set(signedHeaders));
    const canonicalRequest = this.createCanonicalRequest(request, canonicalHeaders, payloadHash);
    const stringToSign = await this.createStringToSign(longDate, scope.text, canonicalRequest, ALGORITHM_IDENTIFIER);
    const signature = await this.sign(stringToSign, { signingDate: scope.day, signingRegion: scope.region, signingService: scope.service });
    return { signature, canonicalRequest, stringToSign };
  }
}

/** `AKID/20260301/us-east-1/s3/aws4_request`, parsed. */
interface Scope {
  readonly accessKeyId: string;
  /** The scope's date as a Date at midnight UTC: the signer derives the signing key from it. */
  readonly day: Date;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  /** Everything after the access key id, as the string to sign carries it. */
  readonly text: string;
}

/**
 * Verifies SigV4 for one set of credentials and one region, as a bucket's S3 endpoint does.
 * Every failure is an `S3Error` with S3's code and status.
 */
export class SigV4Verifier {
  private readonly signer: CanonicalSigner;

  constructor(
    private readonly credentials: SigningCredentials,
    private readonly region: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    // S3 signs the path as sent (uriEscapePath: false), never re-encoded.
    this.signer = new CanonicalSigner({ credentials, region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  }

  /**
   * Checks the signature of a header-signed or presigned request.
   * @throws S3Error AccessDenied when the request is not signed at all
   */
  async verify(request: SignedRequest): Promise<Verified> {
    const query = parseQuery(request.rawQuery);
    const authorization = single(request.headers.authorization);
    const presigned = 'X-Amz-Algorithm' in query || 'X-Amz-Signature' in query || 'X-Amz-Credential' in query;
    if (authorization && presigned) {
      throw new S3Error(
        'InvalidArgument',
        400,
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
        { ArgumentName: 'Authorization', ArgumentValue: authorization },
      );
    }
    if (authorization) return this.verifyHeader(request, query, authorization);
    if (presigned) return this.verifyQuery(request, query);
    if ('Signature' in query || 'AWSAccessKeyId' in query) throw unsupportedMechanism();
    throw accessDenied();
  }

  /**
   * Checks the signature over a POST policy: HMAC-SHA-256 of the base64 policy with the signing
   * key of the credential's scope. The policy's expiration and conditions are checked elsewhere.
   */
  async verifyPolicy(fields: PolicySignature): Promise<void> {
    const scope = this.parseScope(fields.credential, (message) =>
      new S3Error('InvalidArgument', 400, message, { ArgumentName: 'x-amz-credential', ArgumentValue: fields.credential }),
    );
    const expected = await this.signer.sign(fields.policy, { signingDate: scope.day, signingRegion: scope.region, signingService: scope.service });
    if (!sameHex(expected, fields.signature)) {
      throw new S3Error('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
        AWSAccessKeyId: scope.accessKeyId,
        StringToSign: fields.policy,
        SignatureProvided: fields.signature,
      });
    }
  }

  private async verifyHeader(request: SignedRequest, query: Record<string, string | string[]>, authorization: string): Promise<Verified> {
    const [algorithm, ...rest] = authorization.trim().split(/\s+/);
    if (algorithm === 'AWS') throw unsupportedMechanism();
    if (algorithm !== ALGORITHM_IDENTIFIER) {
      throw new S3Error('InvalidArgument', 400, 'Unsupported Authorization Type', { ArgumentName: 'Authorization', ArgumentValue: authorization });
    }
    const components = new Map(
      rest
        .join('')
        .split(',')
        .map((part) => {
          const at = part.indexOf('=');
          return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
        }),
    );
    const credential = components.get('Credential');
    const signedHeaderList = components.get('SignedHeaders');
    const signature = components.get('Signature');
    if (!credential || !signedHeaderList || !signature) {
      throw new S3Error(
        'AuthorizationHeaderMalformed',
        400,
        'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.',
      );
    }
    const scope = this.parseScope(credential, (message) => new S3Error('AuthorizationHeaderMalformed', 400, `The authorization header is malformed; ${message}`));

    const longDate = single(request.headers['x-amz-date']);
    const requestTime = longDate ? parseLongDate(longDate) : undefined;
    if (!longDate || !requestTime) throw accessDenied('AWS authentication requires a valid Date or x-amz-date header');
    if (!longDate.startsWith(scope.date)) {
      throw new S3Error('AuthorizationHeaderMalformed', 400, `The authorization header is malformed; Invalid credential date "${scope.date}". This date is not the same as X-Amz-Date: "${longDate.slice(0, 8)}".`);
    }
    const now = this.now();
    if (Math.abs(now.getTime() - requestTime.getTime()) > MAX_SKEW_MS) {
      throw new S3Error('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.', {
        RequestTime: longDate,
        ServerTime: now.toISOString(),
        MaxAllowedSkewMilliseconds: MAX_SKEW_MS,
      });
    }
    const payloadHash = single(request.headers['x-amz-content-sha256']);
    if (!payloadHash) throw new S3Error('InvalidRequest', 400, 'Missing required header for this request: x-amz-content-sha256');

    const signedHeaders = signedHeaderSet(signedHeaderList);
    await this.compare(request, query, signedHeaders, payloadHash, scope, longDate, signature);
    return { accessKeyId: scope.accessKeyId, payloadHash };
  }

  private async verifyQuery(request: SignedRequest, query: Record<string, string | string[]>): Promise<Verified> {
    const param = (name: string) => {
      const value = query[name];
      return Array.isArray(value) ? value[0] : value;
    };
    if (param('X-Amz-Algorithm') !== ALGORITHM_IDENTIFIER) {
      throw new S3Error('AuthorizationQueryParametersError', 400, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    }
    const [credential, longDate, expiresText, signedHeaderList, signature] = QUERY_AUTH_PARAMS.slice(1).map(param);
    if (!credential || !longDate || !expiresText || !signedHeaderList || !signature) {
      throw new S3Error(
        'AuthorizationQueryParametersError',
        400,
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    const scope = this.parseScope(credential, (message) => new S3Error('AuthorizationQueryParametersError', 400, `Error parsing the X-Amz-Credential parameter; ${message}`));
    const requestTime = parseLongDate(longDate);
    if (!requestTime) throw new S3Error('AuthorizationQueryParametersError', 400, 'X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
    const expires = Number(expiresText);
    if (!Number.isInteger(expires) || expires < 0) throw new S3Error('AuthorizationQueryParametersError', 400, 'X-Amz-Expires should be a number');
    if (expires > MAX_EXPIRES_SECONDS) {
      throw new S3Error(
        'AuthorizationQueryParametersError',
        400,
        'X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds',
      );
    }
    const now = this.now();
    const expiresAt = new Date(requestTime.getTime() + expires * 1000);
    if (now > expiresAt) {
      throw accessDenied('Request has expired', {
        'X-Amz-Expires': expiresText,
        Expires: expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        ServerTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
    }
    // A presigned URL never covers the body: its payload hash is always UNSIGNED-PAYLOAD.
    await this.compare(request, query, signedHeaderSet(signedHeaderList), UNSIGNED_PAYLOAD, scope, longDate, signature);
    return { accessKeyId: scope.accessKeyId };
  }

  private async compare(
    request: SignedRequest,
    query: Record<string, string | string[]>,
    signedHeaders: ReadonlySet<string>,
    payloadHash: string,
    scope: Scope,
    longDate: string,
    provided: string,
  ): Promise<void> {
    if (!signedHeaders.has('host')) throw accessDenied('There were headers present in the request which were not signed', { HeadersNotSigned: 'host' });
    const headers: Record<string, string> = {};
    for (const name of signedHeaders) {
      const value = request.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const canonical: HttpRequest = { method: request.method, protocol: 'http:', hostname: '', path: request.rawPath, query, headers };
    const expected = await this.signer.signatureOf(canonical, signedHeaders, payloadHash, scope, longDate);
    if (!sameHex(expected.signature, provided)) {
      throw new S3Error('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
        AWSAccessKeyId: scope.accessKeyId,
        StringToSign: expected.stringToSign,
        SignatureProvided: provided,
        CanonicalRequest: expected.canonicalRequest,
      });
    }
  }

  private parseScope(credential: string, malformed: (message: string) => S3Error): Scope {
    const parts = credential.split('/');
    const [accessKeyId, date, region, service, terminator] = parts;
    if (parts.length !== 5 || !accessKeyId || !date || !region || !service || terminator !== 'aws4_request') {
      throw malformed(`the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
    }
    if (accessKeyId !== this.credentials.accessKeyId) {
      throw new S3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKeyId });
    }
    const day = /^\d{8}$/.test(date) ? new Date(Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6, 8)))) : undefined;
    if (!day || Number.isNaN(day.getTime())) throw malformed(`incorrect date format "${date}". This date in the credential must be in the format "yyyyMMdd".`);
    if (region !== this.region) throw malformed(`the region '${region}' is wrong; expecting '${this.region}'`);
    if (service !== 's3') throw malformed(`incorrect service "${service}". This endpoint belongs to "s3".`);
    return { accessKeyId, day, date, region, service, text: parts.slice(1).join('/') };
  }
}

/**
 * The query as the signer wants it: decoded names and values, repeated names as arrays. A `+`
 * stays a `+` (SigV4 clients send a space as `%20`), and a broken escape is kept as sent, so it
 * can only fail the signature, never crash the check.
 */
export function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of rawQuery.split('&')) {
    if (!pair) continue;
    const at = pair.indexOf('=');
    const name = decode(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? '' : decode(pair.slice(at + 1));
    const existing = query[name];
    query[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function signedHeaderSet(list: string): ReadonlySet<string> {
  return new Set(list.split(';').map((name) => name.trim().toLowerCase()).filter(Boolean));
}

/** `20260301T120000Z` as a Date, or undefined when it is not one. */
function parseLongDate(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Compares two hex signatures in constant time; S3 wants them lower-case, as the signer makes them. */
function sameHex(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function unsupportedMechanism(): S3Error {
  return new S3Error('InvalidRequest', 400, 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
}
