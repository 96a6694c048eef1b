import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * One Logger, Metrics and Tracer per function instance. The service name and the
 * metrics namespace come from `POWERTOOLS_SERVICE_NAME` and `POWERTOOLS_METRICS_NAMESPACE`,
 * which `AppFunction` sets for every function.
 */
export const logger = new Logger();
export const metrics = new Metrics();
export const tracer = new Tracer();
