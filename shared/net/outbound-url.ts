import { lookup } from 'node:dns/promises';
import { untilAborted } from '../abort';
import { ConfigurationError } from '../errors';
import { bareHostname, ipLiteral, isLocalhostName, isMetadataHostname, isPublicUnicast, parseAddress } from './public-address';

/**
 * The SSRF guard for URLs this backend fetches itself (webhook targets), in two steps:
 *
 * 1. {@link checkOutboundUrl}, syntactic, before anything else: https only, at most 2048
 *    characters, no user information, and no host that is obviously internal (localhost, cloud
 *    metadata names, a private or special address written literally).
 * 2. {@link vetDestination}, at fetch time, on every try: resolves the name with the system
 *    resolver (`dns.lookup`, `all: true`, as a connection would) and refuses it when ANY
 *    address is not public unicast, since a client may connect to any of them. The connection
 *    is then made to the vetted address and no other (`./outbound-http` pins it), so a record
 *    that changes between the check and the connection (DNS rebinding) cannot redirect it.
 *
 * Hosts in an allow-list (configuration, for development: the local end-to-end receiver on
 * `http://127.0.0.1:<port>`) skip the address rules and may use plain http; they are still
 * resolved and pinned.
 *
 * A refusal's message names the rule, never a resolved address: it reaches the tenant, who
 * could otherwise map internal DNS names to addresses through it.
 */

export const MAX_OUTBOUND_URL_LENGTH = 2048;

/** An allow-listed host: any port, or only `port`. */
export interface AllowedHost {
  /** As the URL parser gives it: lower case, punycode, IPv6 in brackets, no trailing dot. */
  readonly hostname: string;
  readonly port?: string;
}

export interface OutboundPolicy {
  /** Hosts that may be reached over plain http and at private addresses (development only). */
  readonly allowHosts: readonly AllowedHost[];
  /**
   * Never allow-listed, whatever `allowHosts` says: the Lambda Runtime API
   * (`AWS_LAMBDA_RUNTIME_API`, on loopback), which a development allow-list of `127.0.0.1`
   * would otherwise let a tenant reach in a development stage deployed to AWS.
   * @default none
   */
  readonly denyHosts?: readonly AllowedHost[];
}

/** A URL or its resolved address broke a rule of the guard: no retry can mend it. */
export class OutboundUrlRefusedError extends Error {
  constructor(readonly rule: string) {
    super(`target URL refused: ${rule}`);
    this.name = 'OutboundUrlRefusedError';
  }
}

export const RULE_ABSOLUTE_HTTPS = 'must be an absolute https URL';
export const RULE_MAX_LENGTH = `must be at most ${MAX_OUTBOUND_URL_LENGTH} characters`;
export const RULE_NO_USER_INFO = 'must not contain user information';
export const RULE_PUBLIC_HOST = 'must not point at localhost, a private, loopback, link-local or cloud metadata address';
export const RULE_RESOLVES_PUBLIC = 'host resolves to a private, loopback, link-local or cloud metadata address';
export const RULE_RESOLVES = 'host does not resolve to any address';

/** `host`, `host:port`, `[v6]` or `[v6]:port`; nothing a URL would read as user information, path or query. */
const ALLOW_ENTRY = /^(\[[0-9a-fA-F:.]+\]|[^:[\]@/?#\s]+)(?::(\d{1,5}))?$/;

/**
 * Parses an allow-list: `host` or `host:port` entries, as an array or comma-separated
 * (`WEBHOOK_ALLOW_HOSTS=127.0.0.1:4010,receiver.local`). IPv6 in brackets (`[::1]:4010`).
 *
 * @throws ConfigurationError naming the first malformed entry
 */
export function parseAllowHosts(value: string | readonly string[] | undefined): AllowedHost[] {
  const entries = (typeof value === 'string' ? value.split(',') : (value ?? [])).map((entry) => entry.trim()).filter(Boolean);
  return entries.map((entry) => {
    const match = ALLOW_ENTRY.exec(entry);
    let hostname: string | undefined;
    try {
      hostname = match?.[1] === undefined ? undefined : bareHostname(new URL(`http://${match[1]}`).hostname);
    } catch {
      hostname = undefined;
    }
    const port = match?.[2];
    if (hostname === undefined || hostname === '' || (port !== undefined && Number(port) > 65_535)) {
      throw new ConfigurationError(`allow-listed host ${JSON.stringify(entry)} must be host or host:port`);
    }
    return port === undefined ? { hostname } : { hostname, port: String(Number(port)) };
  });
}

/** Whether `url` is on the policy's allow-list (host, and port when the entry names one). */
export function isAllowListed(url: URL, policy: OutboundPolicy): boolean {
  const host = bareHostname(url.hostname);
  const port = url.port || (url.protocol === 'http:' ? '80' : '443');
  const matches = (entry: AllowedHost) => entry.hostname === host && (entry.port === undefined || entry.port === port);
  return policy.allowHosts.some(matches) && !(policy.denyHosts ?? []).some(matches);
}

/**
 * Step 1: the syntactic rules.
 *
 * @param raw the URL as given; its length is checked before it is parsed
 * @returns the parsed URL (WHATWG-normalized: numeric IPv4 forms dotted, IDN in punycode)
 * @throws OutboundUrlRefusedError naming the rule broken
 */
export function checkOutboundUrl(raw: string, policy: OutboundPolicy): URL {
  if (raw.length > MAX_OUTBOUND_URL_LENGTH) throw new OutboundUrlRefusedError(RULE_MAX_LENGTH);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundUrlRefusedError(RULE_ABSOLUTE_HTTPS);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OutboundUrlRefusedError(RULE_ABSOLUTE_HTTPS);
  // User information hides the real host from a reader (`https://trusted.example@evil.example/`)
  // and would be sent as credentials nobody vetted.
  if (url.username !== '' || url.password !== '') throw new OutboundUrlRefusedError(RULE_NO_USER_INFO);
  if (isAllowListed(url, policy)) return url;
  if (url.protocol !== 'https:') throw new OutboundUrlRefusedError(RULE_ABSOLUTE_HTTPS);

  const host = bareHostname(url.hostname);
  if (host === '' || isLocalhostName(host) || isMetadataHostname(host)) throw new OutboundUrlRefusedError(RULE_PUBLIC_HOST);
  const literal = ipLiteral(host);
  if (literal !== undefined && !isPublicUnicast(literal)) throw new OutboundUrlRefusedError(RULE_PUBLIC_HOST);
  return url;
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Answers every address of a hostname; tests inject their own. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/**
 * The system resolver, as a connection would use it: `getaddrinfo` (hosts file included), all
 * addresses, in the resolver's order.
 */
export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** A URL and the one address it may be reached at. */
export interface VettedDestination {
  readonly url: URL;
  readonly address: string;
  readonly family: 4 | 6;
}

export interface VetOptions {
  /** @default systemResolver */
  readonly resolve?: Resolver;
  /** Stops waiting for the resolver (whose work cannot be cancelled) when it aborts. */
  readonly signal?: AbortSignal;
}

/**
 * Step 2, at fetch time: resolves the URL's host and vets every address. A literal address is
 * its own answer. The first address is the one to connect to.
 *
 * @param url a URL {@link checkOutboundUrl} accepted under the same policy
 * @throws OutboundUrlRefusedError when any address is not public (outside the allow-list), or
 *   when there is none; the resolver's own error (ENOTFOUND, EAI_AGAIN) when it fails
 */
export async function vetDestination(url: URL, policy: OutboundPolicy, options: VetOptions = {}): Promise<VettedDestination> {
  const host = bareHostname(url.hostname);
  const allowListed = isAllowListed(url, policy);
  const literal = ipLiteral(host);
  const answers: readonly ResolvedAddress[] =
    literal !== undefined
      ? [{ address: literal.toString(), family: literal.kind() === 'ipv6' ? 6 : 4 }]
      : await untilAborted((options.resolve ?? systemResolver)(host), options.signal);

  const vetted = answers.map(({ address }) => parseAddress(address));
  if (vetted.length === 0) throw new OutboundUrlRefusedError(RULE_RESOLVES);
  if (!allowListed && vetted.some((address) => address === undefined || !isPublicUnicast(address))) {
    throw new OutboundUrlRefusedError(RULE_RESOLVES_PUBLIC);
  }
  const first = vetted.find((address) => address !== undefined);
  if (first === undefined) throw new OutboundUrlRefusedError(RULE_RESOLVES);
  const family = first.kind() === 'ipv6' ? 6 : 4;
  return { url, address: first.toString(), family };
}
