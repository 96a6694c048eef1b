import ipaddr from 'ipaddr.js';

/**
 * Which hosts and addresses belong to the public Internet. Shared by the link shortener's URL
 * policy (a syntactic check: it never fetches) and the outbound guard (`./outbound-url`, which
 * also resolves names and pins the address it connects to).
 */

/**
 * Cloud instance metadata endpoints. Most already fall in a refused range (link-local,
 * carrier-grade NAT, unique-local); Azure's wire server is a public address, so it needs naming.
 */
const METADATA_ADDRESSES = new Set(
  [
    '169.254.169.254', // AWS, GCP, Azure IMDS, OpenStack, Oracle
    'fd00:ec2::254', // AWS IMDS over IPv6 (Nitro)
    '168.63.129.16', // Azure wire server
    '100.100.100.200', // Alibaba Cloud
  ].map((address) => ipaddr.parse(address).toNormalizedString()),
);

/** Names that resolve to a metadata endpoint inside a cloud network (compared without a trailing dot). */
const METADATA_HOSTNAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/** The IANA global unicast allocation; anything else in IPv6 is special-purpose or unassigned. */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** A URL hostname (WHATWG-normalized) without the trailing dots that name the same host. */
export function bareHostname(hostname: string): string {
  return hostname.replace(/\.+$/, '');
}

/** Whether a bare hostname is `localhost` or one of its subdomains (RFC 6761: always loopback). */
export function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

/** Whether a bare hostname names a cloud metadata endpoint from inside its network. */
export function isMetadataHostname(host: string): boolean {
  return METADATA_HOSTNAMES.has(host);
}

/** The address a URL hostname (already WHATWG-normalized) names, or undefined for a domain name. */
export function ipLiteral(host: string): IpAddress | undefined {
  if (host.startsWith('[') && host.endsWith(']')) return ipaddr.IPv6.parse(host.slice(1, -1));
  // The URL parser has already turned every numeric IPv4 form into four decimal parts.
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) return ipaddr.IPv4.parse(host);
  return undefined;
}

/**
 * Parses an address as a resolver answers it (`10.0.0.1`, `::1`, `fe80::1%eth0`), or undefined
 * when it is not one; callers treat an unparseable answer as not public.
 */
export function parseAddress(address: string): IpAddress | undefined {
  const withoutZone = address.replace(/%.*$/, '');
  return ipaddr.isValid(withoutZone) ? ipaddr.parse(withoutZone) : undefined;
}

/**
 * Whether an address is one the public Internet routes to a single host. An allow-list: ranges
 * ipaddr.js knows as special (private, loopback, link-local, unique-local, unspecified,
 * carrier-grade NAT, reserved, broadcast, multicast, documentation, ...) are all refused.
 * An IPv4-mapped IPv6 address is judged by its IPv4 address, because dual-stack sockets
 * connect to it. Other IPv6 forms that embed IPv4 (NAT64 `64:ff9b::/96`, 6to4 `2002::/16`,
 * Teredo `2001::/32`, IPv4-translated, and the deprecated IPv4-compatible `::a.b.c.d`) are
 * refused whatever they embed: ipaddr.js classifies them but does not decode them, and no
 * honest target needs a transition address.
 */
export function isPublicUnicast(address: IpAddress): boolean {
  if (address.kind() === 'ipv6') {
    const v6 = address as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return isPublicUnicast(v6.toIPv4Address());
    if (!v6.match(IPV6_GLOBAL_UNICAST)) return false;
  }
  return !METADATA_ADDRESSES.has(address.toNormalizedString()) && address.range() === 'unicast';
}
