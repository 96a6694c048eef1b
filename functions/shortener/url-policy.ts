import { ValidationError } from '#shared/errors';
import { bareHostname, ipLiteral, isLocalhostName, isMetadataHostname, isPublicUnicast } from '#shared/net/public-address';

/**
 * Which target URLs a short link may point at.
 *
 * A shortener lends its own domain to a URL, so it refuses targets that only make sense inside a
 * network (localhost, private and link-local addresses, cloud metadata endpoints), targets that
 * would loop back to the shortener, deny-listed domains, and URLs that hide their real host
 * behind user information (`https://trusted.example@evil.example/`).
 *
 * What is NOT checked, on purpose:
 * - DNS. A public hostname may resolve to a private address (`127.0.0.1.nip.io`, or a record
 *   changed after the check). Resolving would cost a lookup per link and still prove nothing,
 *   since the answer can change before anyone clicks.
 * - Redirects at the target: a public URL may redirect to a private one.
 * Both are acceptable because the shortener never fetches the target: it only answers a
 * redirect, and the clicking browser connects from its own network, where it could type the
 * private address just as well. These checks keep the shortener's domain from vouching for
 * obviously internal targets; they are not an SSRF defence. Any future feature that fetches the
 * target (previews, safety scans) must resolve and pin addresses itself, as
 * `#shared/net/outbound-url` does for webhooks. The address rules themselves live in
 * `#shared/net/public-address`, shared by both.
 */

export interface UrlPolicy {
  /** Hosts of the shortener itself (its API domain, custom short domain): links to them would loop. Lower case. */
  readonly selfHosts: readonly string[];
  /** Domains refused with all their subdomains (configuration). */
  readonly denyDomains: readonly string[];
}

export const MAX_URL_LENGTH = 2048;

const RULE_ABSOLUTE_HTTP = 'must be an absolute http or https URL';
const RULE_MAX_LENGTH = `must be at most ${MAX_URL_LENGTH} characters`;
const RULE_NO_USER_INFO = 'must not contain user information';
const RULE_NOT_LOCALHOST = 'must not point at localhost';
const RULE_PUBLIC_ADDRESS = 'must not point at a private, loopback, link-local or cloud metadata address';
const RULE_NOT_SELF = 'must not point at this link shortener';
const ruleDeniedDomain = (domain: string): string => `points at a denied domain: ${domain}`;

/**
 * Checks a target URL and returns it normalized (WHATWG `href`): scheme and host lower case,
 * IDN in punycode, numeric IPv4 forms (`http://2130706433/`, `http://0x7f.1/`) dotted.
 *
 * Links to a host in `policy.selfHosts` are refused on an exact match only (any case, port and a
 * trailing dot ignored): those are hosts, not domains, and their subdomains may be other sites.
 * A whole domain belongs in `denyDomains`.
 *
 * @param raw the URL as the client sent it; its length is checked before it is parsed
 * @param field where the URL sits in the request, for the violation
 * @throws ValidationError with one violation `{ field, rule }` naming the rule broken
 */
export function checkTargetUrl(raw: string, policy: UrlPolicy, field = 'body.url'): string {
  const refuse = (rule: string): never => {
    throw new ValidationError([{ field, rule }]);
  };

  if (raw.length > MAX_URL_LENGTH) refuse(RULE_MAX_LENGTH);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse(RULE_ABSOLUTE_HTTP);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') refuse(RULE_ABSOLUTE_HTTP);
  if (url.username !== '' || url.password !== '') refuse(RULE_NO_USER_INFO);

  // A trailing dot names the same host (`localhost.`, `denied.example.`), so compare without it.
  const host = bareHostname(url.hostname);
  if (isLocalhostName(host)) refuse(RULE_NOT_LOCALHOST);
  if (isMetadataHostname(host)) refuse(RULE_PUBLIC_ADDRESS);
  const address = ipLiteral(host);
  if (address && !isPublicUnicast(address)) refuse(RULE_PUBLIC_ADDRESS);

  if (policy.selfHosts.some((self) => normalizeHost(self) === host)) refuse(RULE_NOT_SELF);
  const denied = policy.denyDomains.map(normalizeHost).find((domain) => domain !== '' && (host === domain || host.endsWith(`.${domain}`)));
  if (denied !== undefined) refuse(ruleDeniedDomain(denied));

  return url.href;
}

/**
 * A configured host or domain as the URL parser gives a target's: lower case, punycode, no port,
 * no trailing dot. An entry the parser refuses is kept as written (lower case), so it matches no parsed host.
 */
function normalizeHost(name: string): string {
  const trimmed = name.trim().toLowerCase();
  let hostname = trimmed;
  try {
    hostname = new URL(`http://${trimmed}`).hostname;
  } catch {
    // not a host: compared as written
  }
  return hostname.replace(/\.+$/, '');
}
