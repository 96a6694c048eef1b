import { z } from 'zod';
import { allRoutes } from '#shared/contracts/index';
import { buildOpenApiDocument } from '#shared/contracts/openapi';
import { getOpenApiRoute } from '#shared/contracts/platform';
import { readEnv } from '#shared/env';
import { httpHandler } from '#shared/http/handler';

const env = readEnv({ APP_VERSION: z.string().min(1) });

/** Built once per container: the routes cannot change while it runs. */
let document: Record<string, unknown> | undefined;

export const handler = httpHandler(getOpenApiRoute, async ({ event }) => {
  document ??= buildOpenApiDocument(allRoutes, {
    title: 'Switchyard API',
    version: env.APP_VERSION,
    serverUrl: serverUrlOf(event.requestContext),
  });
  return { status: 200, body: document, headers: { 'cache-control': 'public, max-age=300' } };
});

/** The stage's base URL as the caller reached it: custom domains have no stage segment. */
function serverUrlOf(context: { domainName?: string; stage?: string; path?: string; resourcePath?: string }): string | undefined {
  if (!context.domainName) return undefined;
  const stagePrefix = context.path && context.resourcePath && context.path !== context.resourcePath ? `/${context.stage}` : '';
  return `https://${context.domainName}${stagePrefix}`;
}
