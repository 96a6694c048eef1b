import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventBusModel, EventRuleModel, EventTargetModel } from '../../../local/model';
import { EventBridgeService, type EventBridgeServiceOptions, type SqsDeliveryOptions } from '../../../local/services/eventbridge/service';

const env = { account: '123456789012', region: 'us-east-1' };
const bus: EventBusModel = { logicalId: 'Bus', name: 'main-bus', arn: 'arn:aws:events:us-east-1:123456789012:event-bus/main-bus' };
const lambdaArn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;
const queueArn = (name: string) => `arn:aws:sqs:us-east-1:123456789012:${name}`;
const ruleArn = (name: string, busName = 'main-bus') =>
  `arn:aws:events:us-east-1:123456789012:rule/${busName === 'default' ? name : `${busName}/${name}`}`;

function rule(name: string, settings: Partial<EventRuleModel> & { targets: readonly EventTargetModel[] }): EventRuleModel {
  return { logicalId: `${name}Rule`, name, arn: ruleArn(name, settings.busName), busName: 'main-bus', state: 'ENABLED', ...settings };
}

const ordersCreated = rule('orders-created', {
  eventPattern: { source: ['app.orders'], 'detail-type': ['OrderCreated'] },
  targets: [{ id: 'fulfil', arn: lambdaArn('fulfil') }],
});
const bigOrders = rule('big-orders', {
  eventPattern: { source: ['app.orders'], detail: { total: [{ numeric: ['>', 100] }] } },
  targets: [{ id: 'review', arn: queueArn('review'), inputPath: '$.detail' }],
});

interface LambdaCall {
  readonly arn: string;
  readonly event: unknown;
}
interface SqsCall {
  readonly arn: string;
  readonly body: string;
  readonly options: SqsDeliveryOptions;
}

/** Fake targets that record what they receive; `refuse` decides which attempts fail. */
function fakeTargets(refuse: (arn: string, attempt: number) => boolean = () => false) {
  const lambdaCalls: LambdaCall[] = [];
  const sqsCalls: SqsCall[] = [];
  const attempts = new Map<string, number>();
  const attempt = (arn: string) => {
    const n = (attempts.get(arn) ?? 0) + 1;
    attempts.set(arn, n);
    if (refuse(arn, n)) throw new Error(`${arn} is unavailable (attempt ${n})`);
  };
  return {
    lambdaCalls,
    sqsCalls,
    deliver: {
      async lambda(arn: string, event: unknown) {
        lambdaCalls.push({ arn, event });
        attempt(arn);
      },
      async sqs(arn: string, body: string, options: SqsDeliveryOptions) {
        sqsCalls.push({ arn, body, options });
        attempt(arn);
      },
    },
  };
}

const ingestion = new Date('2026-03-04T09:30:00.500Z');

function makeService(rules: readonly EventRuleModel[], targets = fakeTargets(), overrides: Partial<EventBridgeServiceOptions> = {}) {
  let sequence = 0;
  const log = vi.fn<(message: string) => void>();
  const service = new EventBridgeService({
    buses: [bus],
    rules,
    env,
    deliver: targets.deliver,
    now: () => ingestion,
    random: () => 0.5,
    newId: () => `event-${++sequence}`,
    retry: { baseDelayMs: 1, maxDelayMs: 4 },
    log,
    ...overrides,
  });
  return { service, targets, log };
}

function entry(detail: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return { Source: 'app.orders', DetailType: 'OrderCreated', Detail: JSON.stringify(detail), EventBusName: 'main-bus', ...overrides };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('PutEvents', () => {
  it('delivers to every target of the rules whose pattern matches, and only those', async () => {
    // Prepare
    const { service, targets } = makeService([ordersCreated, bigOrders]);

    // Act
    await service.handle('PutEvents', { Entries: [entry({ orderId: 'o-1', total: 50 }), entry({ orderId: 'o-2', total: 150 })] });
    await service.idle();

    // Assess
    expect(targets.lambdaCalls.map((call) => (call.event as { detail: { orderId: string } }).detail.orderId)).toEqual(['o-1', 'o-2']);
    expect(targets.sqsCalls).toEqual([{ arn: queueArn('review'), body: '{"orderId":"o-2","total":150}', options: {} }]);
  });

  it('delivers the event as EventBridge shapes it', async () => {
    // Prepare
    const { service, targets } = makeService([ordersCreated]);

    // Act
    const response = await service.handle('AWSEvents.PutEvents', {
      Entries: [entry({ orderId: 'o-1' }, { Resources: ['arn:aws:s3:::bucket'], Time: 1772616600 })],
    });
    await service.idle();

    // Assess
    expect(response).toEqual({ status: 200, body: { FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] } });
    expect(targets.lambdaCalls).toEqual([
      {
        arn: lambdaArn('fulfil'),
        event: {
          version: '0',
          id: 'event-1',
          'detail-type': 'OrderCreated',
          source: 'app.orders',
          account: '123456789012',
          time: '2026-03-04T09:30:00Z',
          region: 'us-east-1',
          resources: ['arn:aws:s3:::bucket'],
          detail: { orderId: 'o-1' },
        },
      },
    ]);
  });

  it('answers before any target receives the event, as AWS does', async () => {
    // Prepare
    const { service, targets } = makeService([ordersCreated]);

    // Act
    await service.handle('PutEvents', { Entries: [entry({ orderId: 'o-1' })] });
    const deliveredBeforeIdle = targets.lambdaCalls.length;
    await service.idle();

    // Assess
    expect(deliveredBeforeIdle).toBe(0);
    expect(targets.lambdaCalls).toHaveLength(1);
  });

  it('shapes each target input: InputPath, InputTransformer with a message group, constant Input', async () => {
    // Prepare
    const shaped = rule('shaped', {
      eventPattern: { source: ['app.orders'] },
      targets: [
        { id: 'path', arn: queueArn('details'), inputPath: '$.detail.customer' },
        {
          id: 'fifo',
          arn: queueArn('ledger.fifo'),
          messageGroupId: 'orders',
          inputTransformer: { inputPathsMap: { id: '$.detail.orderId', type: '$.detail-type' }, inputTemplate: '{"order": <id>, "what": "<type> for <id>"}' },
        },
        { id: 'constant', arn: lambdaArn('nightly'), input: '{"job":"recount"}' },
      ],
    });
    const { service, targets } = makeService([shaped]);

    // Act
    await service.handle('PutEvents', { Entries: [entry({ orderId: 'o-7', customer: { id: 'c-1' } })] });
    await service.idle();

    // Assess
    expect(targets.sqsCalls).toEqual([
      { arn: queueArn('details'), body: '{"id":"c-1"}', options: {} },
      { arn: queueArn('ledger.fifo'), body: '{"order": "o-7", "what": "OrderCreated for o-7"}', options: { messageGroupId: 'orders' } },
    ]);
    expect(targets.lambdaCalls).toEqual([{ arn: lambdaArn('nightly'), event: { job: 'recount' } }]);
  });

  it('fails an entry with malformed Detail and accepts the others', async () => {
    // Prepare
    const { service, targets } = makeService([ordersCreated]);

    // Act
    const response = await service.handle('PutEvents', {
      Entries: [entry({ orderId: 'o-1' }), { ...entry({}), Detail: '{"orderId": ' }, { ...entry({}), Detail: '"a string"' }, entry({ orderId: 'o-2' })],
    });
    await service.idle();

    // Assess
    expect(response.body).toEqual({
      FailedEntryCount: 2,
      Entries: [
        { EventId: 'event-1' },
        { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
        { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
        { EventId: 'event-2' },
      ],
    });
    expect(targets.lambdaCalls).toHaveLength(2);
  });

  it('fails an entry without a required member, as AWS words it', async () => {
    // Prepare
    const { service } = makeService([]);

    // Act
    const response = await service.handle('PutEvents', { Entries: [{ DetailType: 'x', Detail: '{}' }] });

    // Assess
    expect(response.body).toEqual({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.' }],
    });
  });

  it('refuses more than 10 entries with a ValidationException', async () => {
    // Prepare
    const { service, targets } = makeService([ordersCreated]);
    const entries = Array.from({ length: 11 }, (_, i) => entry({ orderId: `o-${i}` }));

    // Act
    const response = await service.handle('PutEvents', { Entries: entries });
    await service.idle();

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      __type: 'ValidationException',
      message: "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10",
    });
    expect(targets.lambdaCalls).toHaveLength(0);
  });

  it('refuses entries over 256 KB in total', async () => {
    // Prepare
    const { service } = makeService([]);
    const big = entry({ blob: 'x'.repeat(200 * 1024) });

    // Act
    const response = await service.handle('PutEvents', { Entries: [big, big] });

    // Assess
    expect(response).toEqual({ status: 400, body: { __type: 'ValidationException', message: 'Total size of the entries in the request is over the limit.' } });
  });

  it('fails an entry for an unknown bus, and takes a bus by ARN', async () => {
    // Prepare
    const { service, targets } = makeService([ordersCreated]);

    // Act
    const response = await service.handle('PutEvents', {
      Entries: [entry({ orderId: 'o-1' }, { EventBusName: 'no-such-bus' }), entry({ orderId: 'o-2' }, { EventBusName: bus.arn })],
    });
    await service.idle();

    // Assess
    expect(response.body).toEqual({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InvalidArgument', ErrorMessage: 'Event bus no-such-bus does not exist.' }, { EventId: 'event-1' }],
    });
    expect(targets.lambdaCalls).toHaveLength(1);
  });

  it('puts entries without a bus on the default bus', async () => {
    // Prepare
    const onDefault = rule('on-default', { busName: 'default', eventPattern: { source: ['app.orders'] }, targets: [{ id: 't', arn: lambdaArn('audit') }] });
    const { service, targets } = makeService([ordersCreated, onDefault]);

    // Act
    await service.handle('PutEvents', { Entries: [{ Source: 'app.orders', DetailType: 'OrderCreated', Detail: '{}' }] });
    await service.idle();

    // Assess
    expect(targets.lambdaCalls.map((call) => call.arn)).toEqual([lambdaArn('audit')]);
  });

  it('does not deliver for a disabled rule', async () => {
    // Prepare
    const disabled = { ...ordersCreated, state: 'DISABLED' as const };
    const { service, targets } = makeService([disabled]);

    // Act
    await service.handle('PutEvents', { Entries: [entry({ orderId: 'o-1' })] });
    await service.idle();

    // Assess
    expect(targets.lambdaCalls).toHaveLength(0);
  });

  it('counts accepted and failed entries and deliveries', async () => {
    // Prepare
    const { service } = makeService([ordersCreated, bigOrders]);

    // Act
    await service.handle('PutEvents', { Entries: [entry({ total: 500 }), { ...entry({}), Detail: 'nope' }] });
    await service.idle();

    // Assess
    expect(service.stats()).toMatchObject({ eventsAccepted: 1, entriesFailed: 1, dispatched: 2, delivered: 2, failedAttempts: 0 });
  });
});

describe('delivery failures', () => {
  it('retries a target that fails twice, then delivers once', async () => {
    // Prepare
    const targets = fakeTargets((_arn, attempt) => attempt <= 2);
    const { service } = makeService([ordersCreated], targets);

    // Act
    await service.handle('PutEvents', { Entries: [entry({ orderId: 'o-1' })] });
    await service.idle();

    // Assess
    expect(targets.lambdaCalls).toHaveLength(3);
    expect(service.stats()).toMatchObject({ delivered: 1, failedAttempts: 2, retries: 2, deadLettered: 0, dropped: 0 });
  });

  it('sends an event to the dead-letter queue once its retries are spent', async () => {
    // Prepare
    const dlq = queueArn('orders-dlq');
    const failing = rule('failing', {
      eventPattern: { source: ['app.orders'] },
      targets: [{ id: 'fulfil', arn: lambdaArn('fulfil'), maximumRetryAttempts: 2, deadLetterArn: dlq }],
    });
    const targets = fakeTargets((arn) => arn === lambdaArn('fulfil'));
    const { service } = makeService([failing], targets);

    // Act
    await service.handle('PutEvents', { Entries: [entry({ orderId: 'o-1' })] });
    await service.idle();

    // Assess
    expect(targets.lambdaCalls).toHaveLength(3);
    expect(targets.sqsCalls).toHaveLength(1);
    const [deadLetter] = targets.sqsCalls;
    expect(deadLetter?.arn).toBe(dlq);
    expect(JSON.parse(deadLetter?.body ?? '')).toMatchObject({ id: 'event-1', source: 'app.orders', detail: { orderId: 'o-1' } });
    expect(deadLetter?.options.messageAttributes).toEqual({
      RULE_ARN: failing.arn,
      TARGET_ARN: lambdaArn('fulfil'),
      ERROR_CODE: 'ERROR_FROM_TARGET',
      ERROR_MESSAGE: `${lambdaArn('fulfil')} is unavailable (attempt 3)`,
      RETRY_ATTEMPTS: '2',
      EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts',
    });
    expect(service.stats()).toMatchObject({ failedAttempts: 3, retries: 2, deadLettered: 1, delivered: 0 });
  });

  it('gives up when the event would be older than its maximum age', async () => {
    // Prepare
    let clock = ingestion.getTime();
    const aging = rule('aging', {
      eventPattern: { source: ['app.orders'] },
      targets: [{ id: 'slow', arn: lambdaArn('slow'), maximumEventAgeSeconds: 900, deadLetterArn: queueArn('dlq') }],
    });
    const targets = fakeTargets((arn) => {
      // Each refused attempt takes ten minutes of the event's life.
      if (arn === lambdaArn('slow')) clock += 10 * 60_000;
      return arn === lambdaArn('slow');
    });
    const { service } = makeService([aging], targets, { now: () => new Date(clock) });

    // Act
    await service.handle('PutEvents', { Entries: [entry({ orderId: 'o-1' })] });
    await service.idle();

    // Assess
    expect(targets.lambdaCalls).toHaveLength(2);
    expect(targets.sqsCalls[0]?.options.messageAttributes?.['EXHAUSTED_RETRY_CONDITION']).toBe('MaximumEventAgeInSeconds');
  });

  it('drops and logs an event that fails with no dead-letter queue', async () => {
    // Prepare
    const once = rule('once', { eventPattern: { source: ['app.orders'] }, targets: [{ id: 'fulfil', arn: lambdaArn('fulfil'), maximumRetryAttempts: 0 }] });
    const targets = fakeTargets(() => true);
    const { service, log } = makeService([once], targets);

    // Act
    await service.handle('PutEvents', { Entries: [entry({ orderId: 'o-1' })] });
    await service.idle();

    // Assess
    expect(targets.lambdaCalls).toHaveLength(1);
    expect(service.stats()).toMatchObject({ dropped: 1, deadLettered: 0 });
    expect(log).toHaveBeenCalledWith(expect.stringContaining('dropped event event-1 for target fulfil of rule once after 0 retries'));
  });

  it('dead-letters without retrying when the input template cannot be filled', async () => {
    // Prepare
    const broken = rule('broken', {
      eventPattern: { source: ['app.orders'] },
      targets: [
        {
          id: 'q',
          arn: queueArn('q'),
          deadLetterArn: queueArn('dlq'),
          inputTransformer: { inputPathsMap: { customer: '$.detail.customer' }, inputTemplate: '{"who": "<customer>"}' },
        },
      ],
    });
    const { service, targets } = makeService([broken]);

    // Act
    await service.handle('PutEvents', { Entries: [entry({ customer: { id: 'c-1' } })] });
    await service.idle();

    // Assess
    expect(targets.sqsCalls.map((call) => [call.arn, call.options.messageAttributes?.['ERROR_CODE']])).toEqual([[queueArn('dlq'), 'INVALID_INPUT']]);
    expect(service.stats()).toMatchObject({ failedAttempts: 1, retries: 0, deadLettered: 1 });
  });
});

describe('schedule rules', () => {
  const scheduled = (expression: string) =>
    rule('tick', { busName: 'default', scheduleExpression: expression, targets: [{ id: 'worker', arn: lambdaArn('worker') }] });

  it('fires a cron rule on its minutes with a Scheduled Event', async () => {
    // Prepare
    vi.useFakeTimers({ now: new Date('2026-03-04T09:58:30Z') });
    const { service, targets } = makeService([scheduled('cron(0/15 * * * ? *)')], fakeTargets(), { now: () => new Date() });

    // Act
    service.start();
    // A second past each firing, for the delivery that starts right after it.
    await vi.advanceTimersByTimeAsync(91_000);
    const afterFirst = targets.lambdaCalls.length;
    await vi.advanceTimersByTimeAsync(15 * 60_000);
    service.stop();

    // Assess
    expect(afterFirst).toBe(1);
    expect(targets.lambdaCalls.map((call) => call.event)).toEqual([
      {
        version: '0',
        id: 'event-1',
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '123456789012',
        time: '2026-03-04T10:00:00Z',
        region: 'us-east-1',
        resources: [ruleArn('tick', 'default')],
        detail: {},
      },
      expect.objectContaining({ id: 'event-2', time: '2026-03-04T10:15:00Z' }),
    ]);
    expect(service.stats().scheduledFirings).toBe(2);
  });

  it('fires a rate rule every period from start, and not after stop', async () => {
    // Prepare
    vi.useFakeTimers({ now: new Date('2026-03-04T09:00:10Z') });
    const { service, targets } = makeService([scheduled('rate(1 minute)')], fakeTargets(), { now: () => new Date() });

    // Act
    service.start();
    await vi.advanceTimersByTimeAsync(3 * 60_000 + 1_000);
    service.stop();
    await vi.advanceTimersByTimeAsync(5 * 60_000);

    // Assess
    expect(targets.lambdaCalls.map((call) => (call.event as { time: string }).time)).toEqual([
      '2026-03-04T09:01:10Z',
      '2026-03-04T09:02:10Z',
      '2026-03-04T09:03:10Z',
    ]);
  });

  it('does not fire a disabled schedule rule', async () => {
    // Prepare
    vi.useFakeTimers({ now: new Date('2026-03-04T09:00:00Z') });
    const disabled = { ...scheduled('rate(1 minute)'), state: 'DISABLED' as const };
    const { service, targets } = makeService([disabled], fakeTargets(), { now: () => new Date() });

    // Act
    service.start();
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    service.stop();

    // Assess
    expect(targets.lambdaCalls).toHaveLength(0);
  });

  it('refuses a model rule with an invalid schedule, naming the rule', () => {
    // Prepare
    const invalid = scheduled('cron(0 10 * * * *)');

    // Act
    const make = () => makeService([invalid]);

    // Assess
    expect(make).toThrow('EventBridge rule tick (tickRule): Schedule expression "cron(0 10 * * * *)" is not valid: use ? in exactly one of day-of-month and day-of-week');
  });
});

describe('API', () => {
  it('describes the default bus, a bus by name or ARN, and refuses an unknown one', async () => {
    // Prepare
    const { service } = makeService([]);

    // Act
    const responses = await Promise.all([
      service.handle('DescribeEventBus', {}),
      service.handle('DescribeEventBus', { Name: 'main-bus' }),
      service.handle('DescribeEventBus', { Name: bus.arn }),
      service.handle('DescribeEventBus', { Name: 'nope' }),
    ]);

    // Assess
    expect(responses).toEqual([
      { status: 200, body: { Name: 'default', Arn: 'arn:aws:events:us-east-1:123456789012:event-bus/default' } },
      { status: 200, body: { Name: 'main-bus', Arn: bus.arn } },
      { status: 200, body: { Name: 'main-bus', Arn: bus.arn } },
      { status: 400, body: { __type: 'ResourceNotFoundException', message: 'Event bus nope does not exist.' } },
    ]);
  });

  it('lists and describes rules and their targets', async () => {
    // Prepare
    const { service } = makeService([ordersCreated, bigOrders]);

    // Act
    const list = await service.handle('ListRules', { EventBusName: 'main-bus', Limit: 1 });
    const next = await service.handle('ListRules', { EventBusName: 'main-bus', NextToken: '1' });
    const described = await service.handle('DescribeRule', { Name: 'big-orders', EventBusName: 'main-bus' });
    const listedTargets = await service.handle('ListTargetsByRule', { Rule: 'big-orders', EventBusName: 'main-bus' });

    // Assess
    expect(list.body).toEqual({
      Rules: [{ Name: 'big-orders', Arn: bigOrders.arn, EventPattern: JSON.stringify(bigOrders.eventPattern), State: 'ENABLED', EventBusName: 'main-bus' }],
      NextToken: '1',
    });
    expect((next.body as { Rules: { Name: string }[] }).Rules.map((r) => r.Name)).toEqual(['orders-created']);
    expect(described.body).toMatchObject({ Name: 'big-orders', CreatedBy: '123456789012' });
    expect(listedTargets.body).toEqual({ Targets: [{ Id: 'review', Arn: queueArn('review'), InputPath: '$.detail' }] });
  });

  it('manages rules: put, target, disable, enable, refuse to delete with targets, delete', async () => {
    // Prepare
    const { service, targets } = makeService([]);
    const put = async (operation: string, body: unknown) => (await service.handle(operation, body)).body;
    const publish = async () => {
      await service.handle('PutEvents', { Entries: [entry({ orderId: 'o-1' })] });
      await service.idle();
    };

    // Act
    const created = await put('PutRule', { Name: 'api-rule', EventBusName: 'main-bus', EventPattern: '{"source":["app.orders"]}' });
    await put('PutTargets', {
      Rule: 'api-rule',
      EventBusName: 'main-bus',
      Targets: [{ Id: 'q', Arn: queueArn('q'), SqsParameters: { MessageGroupId: 'g' }, RetryPolicy: { MaximumRetryAttempts: 3 } }],
    });
    await publish();
    await put('DisableRule', { Name: 'api-rule', EventBusName: 'main-bus' });
    await publish();
    await put('EnableRule', { Name: 'api-rule', EventBusName: 'main-bus' });
    await publish();
    const refused = await service.handle('DeleteRule', { Name: 'api-rule', EventBusName: 'main-bus' });
    await put('RemoveTargets', { Rule: 'api-rule', EventBusName: 'main-bus', Ids: ['q'] });
    await put('DeleteRule', { Name: 'api-rule', EventBusName: 'main-bus' });
    const gone = await service.handle('DescribeRule', { Name: 'api-rule', EventBusName: 'main-bus' });

    // Assess
    expect(created).toEqual({ RuleArn: 'arn:aws:events:us-east-1:123456789012:rule/main-bus/api-rule' });
    expect(targets.sqsCalls.map((call) => call.options)).toEqual([{ messageGroupId: 'g' }, { messageGroupId: 'g' }]);
    expect(refused).toEqual({ status: 400, body: { __type: 'ValidationException', message: "Rule can't be deleted since it has targets." } });
    expect(gone).toEqual({ status: 400, body: { __type: 'ResourceNotFoundException', message: 'Rule api-rule does not exist on EventBus main-bus.' } });
  });

  it.each([
    ['an invalid pattern', 'PutRule', { Name: 'r', EventPattern: '{"source":"aws.ec2"}' }, 'InvalidEventPatternException', 'Event pattern is not valid. Reason: "source" must be an object or an array'],
    ['pattern text that is not JSON', 'PutRule', { Name: 'r', EventPattern: '{"source":' }, 'InvalidEventPatternException', 'Event pattern is not valid. Reason:'],
    ['a rule with neither pattern nor schedule', 'PutRule', { Name: 'r' }, 'ValidationException', 'Parameter(s) EventPattern or ScheduleExpression must be specified.'],
    ['a schedule on a custom bus', 'PutRule', { Name: 'r', EventBusName: 'main-bus', ScheduleExpression: 'rate(5 minutes)' }, 'ValidationException', 'ScheduleExpression is supported only on the default event bus.'],
    ['an invalid schedule', 'PutRule', { Name: 'r', ScheduleExpression: 'rate(5 minute)' }, 'ValidationException', 'Parameter ScheduleExpression is not valid.'],
    ['two inputs for a target', 'PutTargets', { Rule: 'orders-created', EventBusName: 'main-bus', Targets: [{ Id: 't', Arn: 'arn:x', Input: '{}', InputPath: '$' }] }, 'ValidationException', 'Only one of Input, InputPath, or InputTransformer must be provided for target t.'],
    ['targets for an unknown rule', 'PutTargets', { Rule: 'nope', Targets: [{ Id: 't', Arn: 'arn:x' }] }, 'ResourceNotFoundException', 'Rule nope does not exist on EventBus default.'],
    ['a rule name AWS would not take', 'DescribeRule', { Name: 'bad name!' }, 'ValidationException', "Value at 'Name' failed to satisfy constraint"],
    ['an operation it does not serve', 'CreateArchive', {}, 'UnknownOperationException', 'Operation CreateArchive is not supported'],
  ])('refuses %s', async (_case, operation, body, type, message) => {
    // Prepare
    const { service } = makeService([ordersCreated]);

    // Act
    const response = await service.handle(operation, body);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ __type: type, message: expect.stringContaining(message) });
  });

  it('refuses a model rule with an invalid pattern, naming the rule', () => {
    // Prepare
    const invalid = rule('broken', { eventPattern: { source: 'app.orders' }, targets: [] });

    // Act
    const make = () => makeService([invalid]);

    // Assess
    expect(make).toThrow('EventBridge rule broken (brokenRule): Event pattern is not valid. Reason: "source" must be an object or an array');
  });

  it('forwards events to another bus named as a target', async () => {
    // Prepare
    const forward = rule('forward', { busName: 'default', arn: ruleArn('forward', 'default'), eventPattern: { source: ['app.orders'] }, targets: [{ id: 'bus', arn: bus.arn }] });
    const { service, targets } = makeService([forward, ordersCreated]);

    // Act
    await service.handle('PutEvents', { Entries: [{ Source: 'app.orders', DetailType: 'OrderCreated', Detail: '{"orderId":"o-9"}' }] });
    await service.idle();

    // Assess
    expect(targets.lambdaCalls.map((call) => (call.event as { detail: unknown }).detail)).toEqual([{ orderId: 'o-9' }]);
  });
});
