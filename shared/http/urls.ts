import type { APIGatewayProxyEvent } from 'aws-lambda';

/** This API's own URL as the request reached it: `https://<api domain>/<stage>` (`http` only when the gateway says so). */
export function apiUrlOf(event: APIGatewayProxyEvent, headers: Readonly<Record<string, string | undefined>>): string {
  const proto = headers['x-forwarded-proto'] === 'http' ? 'http' : 'https';
  const host = event.requestContext.domainName ?? headers['host'] ?? 'localhost';
  return `${proto}://${host}/${event.requestContext.stage}`;
}
