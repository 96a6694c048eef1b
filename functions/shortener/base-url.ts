import type { APIGatewayProxyEvent } from 'aws-lambda';
import { apiUrlOf } from '#shared/http/urls';
import type { ShortenerEnv } from './links';

/**
 * Where short links live: the configured base URL (a custom domain), else this API's own URL as
 * the request reached it (`https://<api domain>/<stage>`).
 */
export function baseUrlOf(event: APIGatewayProxyEvent, headers: Readonly<Record<string, string | undefined>>, env: ShortenerEnv): string {
  return env.baseUrl ?? apiUrlOf(event, headers);
}

/** Hosts a target URL must not name: this API's and the short domain's (links to them would loop). */
export function selfHostsOf(event: APIGatewayProxyEvent, headers: Readonly<Record<string, string | undefined>>, env: ShortenerEnv): string[] {
  const hosts = [event.requestContext.domainName, headers['host'], env.baseUrl ? new URL(env.baseUrl).host : undefined];
  return [...new Set(hosts.filter((h): h is string => !!h).map((h) => h.toLowerCase().replace(/:\d+$/, '')))];
}
