import { Duration, Validations } from 'aws-cdk-lib';
import { GraphWidget, MathExpression, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { FilterPattern, SubscriptionFilter } from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  createLinkRoute,
  deleteLinkRoute,
  getLinkRoute,
  getLinkStatsRoute,
  listLinksRoute,
  redirectRoute,
  updateLinkRoute,
} from '#shared/contracts/shortener';
import { CLICK_FILTER_PATTERN } from '#shared/contracts/shortener-events';
import { AppFunction, METRICS_NAMESPACE } from '../platform/app-function';
import type { IdempotencyTable } from '../platform/idempotency-table';
import type { Observability } from '../platform/observability';
import type { PlatformRestApi } from '../platform/rest-api';
import { SwitchyardStack } from '../platform/stage';
import { ShortenerStorage } from './storage';

export interface ShortenerServiceProps {
  readonly restApi: PlatformRestApi;
  readonly storage: ShortenerStorage;
  readonly idempotency: IdempotencyTable;
  readonly observability: Observability;
}

/**
 * The URL shortener: the redirect (`GET /{code}`), management under `/v1/links`, and click
 * analytics off the redirect path: the redirect writes each click as a log line, a subscription
 * filter on its log group delivers the lines to `RecordClicks`, which counts each click once.
 * Every function gets only the table actions it uses.
 */
export class ShortenerService extends Construct {
  readonly follow: AppFunction;
  readonly recordClicks: AppFunction;
  readonly clicksDeadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ShortenerServiceProps) {
    super(scope, id);
    const { restApi, storage, idempotency, observability } = props;
    const { config } = SwitchyardStack.of(this);
    const { table } = storage;
    const environment = {
      LINKS_TABLE_NAME: table.tableName,
      LINK_DENY_DOMAINS: config.shortener.denyDomains.join(','),
      LINK_CACHE_TTL_SECONDS: String(config.shortener.cacheTtlSeconds),
      LINK_NEGATIVE_CACHE_TTL_SECONDS: String(config.shortener.negativeCacheTtlSeconds),
      PERMANENT_REDIRECT_MAX_AGE_SECONDS: String(config.shortener.permanentRedirectMaxAgeSeconds),
      CLICK_ANALYTICS: config.shortener.clickAnalytics ? 'on' : 'off',
      ...(config.shortener.baseUrl ? { SHORT_BASE_URL: config.shortener.baseUrl } : {}),
    };
    // Precise grants: the table itself, and the tenant index only where it is read (`table.grant`
    // would add every index to every function).
    const grant = (target: IFunction, actions: readonly string[], resource = table.tableArn) =>
      target.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [resource] }));
    const fn = (name: string, entry: string, description: string, actions: readonly string[]) => {
      const created = new AppFunction(this, name, { domain: 'shortener', entry: `shortener/${entry}`, description, environment });
      if (actions.length) grant(created, actions);
      return created;
    };

    const create = fn('CreateLink', 'create-link.ts', 'POST /v1/links: creates a short link', ['dynamodb:PutItem']);
    idempotency.bindIdempotency(create);
    restApi.addRoute(createLinkRoute, create);
    const list = fn('ListLinks', 'list-links.ts', "GET /v1/links: a tenant's links", []);
    grant(list, ['dynamodb:Query'], `${table.tableArn}/index/${ShortenerStorage.TENANT_INDEX}`);
    restApi.addRoute(listLinksRoute, list);
    restApi.addRoute(getLinkRoute, fn('GetLink', 'get-link.ts', 'GET /v1/links/{code}: one link', ['dynamodb:GetItem']));
    restApi.addRoute(updateLinkRoute, fn('UpdateLink', 'update-link.ts', 'PATCH /v1/links/{code}: changes a link', ['dynamodb:UpdateItem']));
    restApi.addRoute(deleteLinkRoute, fn('DeleteLink', 'delete-link.ts', 'DELETE /v1/links/{code}: retires a link', ['dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem']));
    restApi.addRoute(getLinkStatsRoute, fn('GetLinkStats', 'get-link-stats.ts', "GET /v1/links/{code}/stats: a link's clicks", ['dynamodb:GetItem', 'dynamodb:Query']));

    this.follow = fn('FollowLink', 'follow-link.ts', 'GET /{code}: the redirect', ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    restApi.addRoute(redirectRoute, this.follow);

    this.clicksDeadLetterQueue = new Queue(this, 'ClicksDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.clicksDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue is itself a dead-letter queue: RecordClicks' on-failure destination after its async retries; it is alarmed on any message.",
    });
    observability.monitorDeadLetterQueue(this.clicksDeadLetterQueue, 'Clicks');

    this.recordClicks = new AppFunction(this, 'RecordClicks', {
      domain: 'shortener',
      entry: 'shortener/record-clicks.ts',
      description: "Counts the redirect's clicks, delivered by a log subscription, once each",
      environment,
      retryAttempts: 2,
      onFailure: new SqsDestination(this.clicksDeadLetterQueue),
    });
    grant(this.recordClicks, ['dynamodb:ConditionCheckItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    idempotency.bindIdempotency(this.recordClicks);
    observability.monitorFunction(this.recordClicks, 'RecordClicks');

    // The redirect cache's hit ratio, from the counts FollowLink emits (EMF, dimension service).
    const count = (metricName: string) => new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: 'shortener' }, statistic: 'Sum', period: Duration.minutes(5) });
    observability.dashboard.addWidgets(
      new GraphWidget({
        title: 'Redirect cache hit ratio (%)',
        left: [new MathExpression({ expression: '100 * hits / (hits + misses)', usingMetrics: { hits: count('LinkCacheHit'), misses: count('LinkCacheMiss') }, label: 'hit ratio' })],
        leftYAxis: { min: 0, max: 100 },
      }),
    );

    new SubscriptionFilter(this, 'Clicks', {
      logGroup: this.follow.logGroup,
      destination: new LambdaDestination(this.recordClicks),
      filterPattern: FilterPattern.literal(CLICK_FILTER_PATTERN),
    });
  }
}
