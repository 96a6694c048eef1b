import Bowser from 'bowser';
import { isbot } from 'isbot';

/**
 * What a redirect request tells about the click, for analytics: where the visitor came from,
 * their country (as CloudFront saw it) and what kind of client they used. Only coarse classes
 * are kept, never the raw User-Agent or Referer, so counters stay few and carry no personal data.
 */

export type AgentClass = 'desktop' | 'mobile' | 'tablet' | 'tv' | 'bot' | 'other';

export interface ClickFacts {
  /** Lower-case host of the Referer header; null when absent, unparsable or longer than a DNS name may be. */
  readonly referrerHost: string | null;
  /** ISO 3166-1 alpha-2 from CloudFront-Viewer-Country (or CloudFront's header names in any case), upper case; null when absent or not two letters. */
  readonly country: string | null;
  readonly agent: AgentClass;
  /** isbot's verdict on the User-Agent (a missing User-Agent counts as a bot). */
  readonly bot: boolean;
}

/**
 * How much of a User-Agent is parsed. Real ones are a few hundred characters; the bound keeps a
 * hostile header from costing the redirect path regex time.
 */
export const MAX_USER_AGENT_LENGTH = 512;

/**
 * The longest host a referrer may have: a DNS name's limit, and the click contract's. URL parsing
 * accepts longer ones, and a click line the contract refuses would fail its whole delivery.
 */
export const MAX_REFERRER_HOST_LENGTH = 253;

const PLATFORM_CLASSES: ReadonlySet<string> = new Set<AgentClass>(['desktop', 'mobile', 'tablet', 'tv']);

/**
 * The facts of one click, from the redirect request's headers.
 *
 * @param headers lower-case header names; a header sent under another case (an API Gateway REST
 *   event keeps the client's) is found too
 */
export function clickFacts(headers: Readonly<Record<string, string | undefined>>): ClickFacts {
  const userAgent = (header(headers, 'user-agent') ?? '').trim().slice(0, MAX_USER_AGENT_LENGTH);
  const bot = userAgent === '' || isbot(userAgent);
  return {
    referrerHost: referrerHost(header(headers, 'referer')),
    country: country(header(headers, 'cloudfront-viewer-country')),
    agent: bot ? 'bot' : agentClass(userAgent),
    bot,
  };
}

function header(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const exact = headers[name];
  if (exact !== undefined) return exact;
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function referrerHost(referer: string | undefined): string | null {
  if (!referer) return null;
  try {
    // `hostname` is already lower case for http(s); other schemes (android-app://) keep theirs.
    const host = new URL(referer.trim()).hostname.toLowerCase();
    return host && host.length <= MAX_REFERRER_HOST_LENGTH ? host : null;
  } catch {
    return null;
  }
}

function country(value: string | undefined): string | null {
  const code = value?.trim() ?? '';
  return /^[A-Za-z]{2}$/.test(code) ? code.toUpperCase() : null;
}

function agentClass(userAgent: string): AgentClass {
  const type = Bowser.parse(userAgent).platform.type;
  return type !== undefined && PLATFORM_CLASSES.has(type) ? (type as AgentClass) : 'other';
}
