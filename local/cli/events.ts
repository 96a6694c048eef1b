import { createHash, randomUUID } from 'node:crypto';
import { newRequestIds } from '../gateway/rest/ids';
import { parseQuery, type HeaderPairs } from '../gateway/rest/request';
import { proxyEventOf, requestContextOf } from '../gateway/rest/proxy-event';
import { RestRouter } from '../gateway/rest/router';
import { connectEvent, messageEvent } from '../gateway/websocket/events';
import type { CloudModel } from '../model';

/**
 * Sample events filled in from the real template, the way `sam local generate-event` makes
 * them, built with the same code the local gateways and services use, so a generated event
 * is exactly what a function receives locally.
 */

export type EventKind = 'apigw' | 'ws' | 'sqs' | 'eventbridge' | 's3' | 'schedule';

export interface EventOptions {
  /** apigw: the request path after the stage (`/v1/links/abc?limit=5`). */
  readonly path?: string;
  readonly method?: string;
  /** apigw, ws, sqs, eventbridge: the body or detail, as JSON text. */
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** ws: the route key (`$connect`, `$default`, `send`). */
  readonly route?: string;
  /** sqs: the queue's name or logical id; s3: the bucket's; schedule: the rule's. */
  readonly resource?: string;
  /** eventbridge: source and detail type. */
  readonly source?: string;
  readonly detailType?: string;
  /** s3: the object key; `shape` picks the EventBridge or the notification form. */
  readonly key?: string;
  readonly shape?: 'eventbridge' | 'notification';
}

/** Builds a sample event of `kind` for the model, or throws saying what is missing. */
export function sampleEvent(model: CloudModel, kind: EventKind, options: EventOptions = {}): unknown {
  switch (kind) {
    case 'apigw':
      return apiGatewayEvent(model, options);
    case 'ws':
      return webSocketEvent(model, options);
    case 'sqs':
      return sqsEvent(model, options);
    case 'eventbridge':
      return eventBridgeEvent(model, options);
    case 's3':
      return s3Event(model, options);
    case 'schedule':
      return scheduleEvent(model, options);
  }
}

function pick<T extends { logicalId: string; name: string }>(items: readonly T[], what: string, wanted?: string): T {
  const found = wanted ? items.find((i) => i.name === wanted || i.logicalId === wanted || i.logicalId.startsWith(wanted)) : items[0];
  if (!found) {
    throw new Error(wanted ? `no ${what} named ${wanted}; the template has: ${items.map((i) => i.name).join(', ') || 'none'}` : `the template has no ${what}`);
  }
  return found;
}

function apiGatewayEvent(model: CloudModel, options: EventOptions): unknown {
  const api = model.restApis[0];
  if (!api) throw new Error('the template has no REST API');
  const firstRoute = api.resources.flatMap((r) => r.methods.filter((m) => m.integration.type === 'AWS_PROXY').map((m) => ({ path: r.path, method: m.httpMethod })))[0];
  const [rawPath, rawQuery = ''] = (options.path ?? firstRoute?.path ?? '/').split('?', 2) as [string, string?];
  const method = (options.method ?? (options.path ? 'GET' : firstRoute?.method) ?? 'GET').toUpperCase();
  const match = new RestRouter(api.resources).match(method, rawPath);
  if (!match) throw new Error(`no route for ${method} ${rawPath}; routes: ${api.resources.map((r) => r.path).join(', ')}`);
  const body = Buffer.from(options.body ?? '');
  const headers: HeaderPairs = [
    ['Host', `${api.apiId}.execute-api.${model.env.region}.amazonaws.com`],
    ['User-Agent', 'switchyard-event'],
    ...(options.body ? ([['Content-Type', 'application/json']] as const) : []),
    ...Object.entries(options.headers ?? {}),
  ];
  const now = new Date();
  const request = { ids: newRequestIds(now, undefined), receivedAt: now, httpMethod: method, path: rawPath, headers, query: parseQuery(rawQuery), body, sourceIp: '203.0.113.10', protocol: 'HTTP/1.1' };
  const requestContext = requestContextOf({ api, env: model.env, request, resourcePath: match.resource.path });
  return proxyEventOf({ api, request, resourcePath: match.resource.path, pathParameters: match.pathParameters, requestContext });
}

function webSocketEvent(model: CloudModel, options: EventOptions): unknown {
  const api = model.webSocketApis[0];
  if (!api) throw new Error('the template has no WebSocket API');
  const facts = {
    connectionId: 'L0SM9cOFvHcCIhw=',
    connectedAt: Date.now(),
    apiId: api.apiId,
    stage: api.stageName,
    domainName: `${api.apiId}.execute-api.${model.env.region}.amazonaws.com`,
    sourceIp: '203.0.113.10',
    userAgent: 'switchyard-event',
  };
  const route = options.route ?? '$default';
  if (route === '$connect') {
    return connectEvent(facts, { headers: { ...options.headers }, multiValueHeaders: {}, queryStringParameters: {}, multiValueQueryStringParameters: {}, sourceIp: facts.sourceIp });
  }
  return messageEvent(facts, route, options.body ?? JSON.stringify({ action: route.startsWith('$') ? 'unknown' : route }));
}

function sqsEvent(model: CloudModel, options: EventOptions): unknown {
  const queue = pick(model.queues, 'queue', options.resource);
  const body = options.body ?? '{"hello":"world"}';
  const now = Date.now();
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: `AQEB${Buffer.from(randomUUID()).toString('base64')}`,
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(now),
          SenderId: 'AIDAIENQZJOLO23YVJ4VO',
          ApproximateFirstReceiveTimestamp: String(now),
          ...(queue.fifo ? { MessageGroupId: 'group-1', MessageDeduplicationId: randomUUID(), SequenceNumber: '18849496460467696128' } : {}),
        },
        messageAttributes: { correlationId: { stringValue: randomUUID(), stringListValues: [], binaryListValues: [], dataType: 'String' } },
        md5OfBody: createHash('md5').update(body).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        awsRegion: model.env.region,
      },
    ],
  };
}

function eventBridgeEvent(model: CloudModel, options: EventOptions): unknown {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': options.detailType ?? 'Sample Event',
    source: options.source ?? 'switchyard.sample',
    account: model.env.account,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: model.env.region,
    resources: [],
    detail: JSON.parse(options.body ?? JSON.stringify({ metadata: { eventId: randomUUID(), correlationId: randomUUID(), occurredAt: new Date().toISOString() }, data: {} })),
  };
}

function s3Event(model: CloudModel, options: EventOptions): unknown {
  const bucket = pick(model.buckets, 'bucket', options.resource);
  const key = options.key ?? 'uploads/sample.png';
  const size = 1024;
  const etag = createHash('md5').update(key).digest('hex');
  const sequencer = Date.now().toString(16).toUpperCase();
  if (options.shape === 'notification') {
    return {
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: model.env.region,
          eventTime: new Date().toISOString(),
          eventName: 'ObjectCreated:Put',
          userIdentity: { principalId: 'AWS:AIDAIENQZJOLO23YVJ4VO' },
          requestParameters: { sourceIPAddress: '203.0.113.10' },
          responseElements: { 'x-amz-request-id': randomUUID(), 'x-amz-id-2': randomUUID() },
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: 'sample',
            bucket: { name: bucket.name, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: bucket.arn },
            object: { key: encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/'), size, eTag: etag, sequencer },
          },
        },
      ],
    };
  }
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: model.env.account,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: model.env.region,
    resources: [bucket.arn],
    detail: {
      version: '0',
      bucket: { name: bucket.name },
      object: { key, size, etag, sequencer },
      'request-id': randomUUID(),
      requester: model.env.account,
      'source-ip-address': '203.0.113.10',
      reason: 'PutObject',
    },
  };
}

function scheduleEvent(model: CloudModel, options: EventOptions): unknown {
  const rules = model.rules.filter((r) => r.scheduleExpression);
  const rule = pick(rules, 'schedule rule', options.resource);
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: model.env.account,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: model.env.region,
    resources: [rule.arn],
    detail: {},
  };
}
