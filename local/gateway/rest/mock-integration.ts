import type { IntegrationModel } from '../../model';

type MockIntegration = Extract<IntegrationModel, { type: 'MOCK' }>;

/**
 * The answer of a MOCK integration: its status and static headers, no body. This is how CDK's
 * CORS preflight methods answer. With several allowed origins, CDK's template echoes the
 * request's `Origin` when it is one of them (and the static first origin stays otherwise);
 * `Vary: Origin` tells caches the answer depends on it.
 */
export function mockResponse(integration: MockIntegration, origin: string | undefined): { statusCode: number; headers: Record<string, string> } {
  const headers = { ...integration.responseHeaders };
  const origins = integration.allowedOrigins;
  if (origins && origins.length > 1) {
    if (origin && origins.includes(origin)) {
      const name = Object.keys(headers).find((h) => h.toLowerCase() === 'access-control-allow-origin') ?? 'Access-Control-Allow-Origin';
      headers[name] = origin;
    }
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'vary')) headers['Vary'] = 'Origin';
  }
  return { statusCode: integration.statusCode, headers };
}
