import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logsConsumer } from '#shared/consumer/logs';
import { metrics } from '#shared/powertools';
import { ClickEventSchema } from '#shared/contracts/shortener-events';
import { recordClick } from './stats';

/**
 * The click analytics consumer: the redirect's click lines, delivered by a CloudWatch Logs
 * subscription filter, each counted once. Powertools idempotency (keyed by the click id) skips a
 * redelivered click cheaply; the click marker written with the counters makes the count exact
 * even when a crash falls between the counters' write and the idempotency record's completion.
 */
export const handler = logsConsumer({
  name: 'shortener.clicks',
  schema: ClickEventSchema,
  dedupKey: (click) => click.id,
  process: async (click, { logger }) => {
    const outcome = await recordClick(click);
    if (outcome === 'counted') metrics.addMetric(click.bot ? 'BotClicksCounted' : 'ClicksCounted', MetricUnit.Count, 1);
    else logger.info('click not counted', { outcome, code: click.code, clickId: click.id });
  },
});
