import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { createLinkRoute } from '#shared/contracts/shortener';
import { ConflictError } from '#shared/errors';
import { httpHandler } from '#shared/http/handler';
import { idempotentPost } from '#shared/http/idempotency';
import { parseInput } from '#shared/http/validation';
import { metrics } from '#shared/powertools';
import { apiUrlOf } from '#shared/http/urls';
import { baseUrlOf, selfHostsOf } from './base-url';
import { AliasSchema, CODE_LENGTH, randomCode } from './codes';
import { insertLink, shortenerEnv, tenantPartition, toLink, type LinkItem } from './links';
import { checkTargetUrl } from './url-policy';

/** Fresh codes tried before giving up; see lib/shortener/README.md for why 5 is plenty. */
const MAX_CODE_ATTEMPTS = 5;

const idempotency = idempotentPost('shortener.createLink');

/** The alias, checked where its violations are named `body.alias`. */
const AliasField = z.object({ alias: AliasSchema });

/** POST /v1/links: a new short link, under a random code or the caller's alias. */
export const handler = httpHandler(createLinkRoute, async (request) =>
  idempotency.run(request, request.principal.tenantId, async () => {
    const { body, principal, event, headers } = request;
    const env = shortenerEnv();
    const url = checkTargetUrl(body.url, { selfHosts: selfHostsOf(event, headers, env), denyDomains: env.denyDomains });
    const alias = body.alias === undefined ? undefined : parseInput(AliasField, { alias: body.alias }, 'body').alias;
    const createdAt = new Date().toISOString();
    const draft = (code: string): LinkItem => ({
      pk: `L#${code}`,
      sk: 'link',
      code,
      tenantId: principal.tenantId,
      url,
      createdAt,
      createdBy: principal.userId,
      ...(body.expiresAt ? { expiresAt: new Date(body.expiresAt).toISOString() } : {}),
      ...(body.maxClicks !== undefined ? { maxClicks: body.maxClicks, clicksUsed: 0 } : {}),
      redirectType: body.redirectType,
      tags: body.tags,
      disabled: false,
      gsi1pk: tenantPartition(principal.tenantId),
      gsi1sk: `${createdAt}#${code}`,
    });

    let item: LinkItem | undefined;
    if (alias !== undefined) {
      item = draft(alias);
      if (!(await insertLink(item))) throw new ConflictError(`the alias "${alias}" is taken`);
    } else {
      for (let attempt = 1; attempt <= MAX_CODE_ATTEMPTS && !item; attempt++) {
        const candidate = draft(randomCode(CODE_LENGTH));
        if (await insertLink(candidate)) item = candidate;
        else metrics.addMetric('LinkCodeCollisions', MetricUnit.Count, 1);
      }
      // Five collisions in a row mean the code space is nearly full or the random source is broken: both are ours to fix.
      if (!item) throw new Error(`no free code after ${MAX_CODE_ATTEMPTS} attempts`);
    }
    metrics.addMetric('LinksCreated', MetricUnit.Count, 1);
    return { status: 201, body: toLink(item, baseUrlOf(event, headers, env)), headers: { location: `${apiUrlOf(event, headers)}/v1/links/${item.code}` } };
  }),
);
