import { describe, expect, it } from 'vitest';
import {
  compileTargetInput,
  InputTransformationError,
  InvalidTargetInputError,
  type EventBridgeEvent,
  type TransformContext,
} from '../../../local/services/eventbridge/transform';

/**
 * Target input shaping. Expected outputs for input transformers are those AWS produced for the
 * same templates in LocalStack's AWS-validated snapshots, and the examples of the
 * InputTransformer API reference.
 */
const event: EventBridgeEvent = {
  version: '0',
  id: '5a2b1c3d-0000-4000-8000-000000000001',
  'detail-type': 'core.update-account-command',
  source: 'core.update-account-command',
  account: '000000000000',
  time: '2026-03-04T09:30:00Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    command: 'update-account',
    payload: { acc_id: '0a787ecb-4015', sf_id: 'baz' },
    listmulti: ['ACTIVE', 'INACTIVE'],
    items: [{ id: 'a' }, { id: 'b' }],
    valid: true,
    quote: 'say "hi"',
  },
};

const context: TransformContext = {
  ruleName: 'accounts',
  ruleArn: 'arn:aws:events:us-east-1:000000000000:rule/main-bus/accounts',
  ingestionTime: new Date('2026-03-04T09:30:01.250Z'),
};

const paths = {
  'detail-type': '$.detail-type',
  command: '$.detail.command',
  missing: '$.detail.notinmessage',
  payload: '$.detail.payload',
  userId: '$.detail.payload.acc_id',
  listmulti: '$.detail.listmulti',
  valid: '$.detail.valid',
  quote: '$.detail.quote',
};

function transformer(inputTemplate: string) {
  return compileTargetInput({ id: 't1', inputTransformer: { inputPathsMap: paths, inputTemplate } });
}

describe('compileTargetInput', () => {
  it('sends the whole event when nothing is set', () => {
    // Prepare
    const render = compileTargetInput({ id: 't1' });

    // Act
    const input = render(event, context);

    // Assess
    expect(input.value).toEqual(event);
    expect(JSON.parse(input.text)).toEqual(event);
  });

  it('sends a constant Input as given', () => {
    // Prepare
    const render = compileTargetInput({ id: 't1', input: '{"job":"nightly"}' });

    // Act
    const input = render(event, context);

    // Assess
    expect(input).toEqual({ text: '{"job":"nightly"}', value: { job: 'nightly' } });
  });

  it.each([
    ['$', event],
    ['$.detail', event.detail],
    ['$.detail.payload.acc_id', '0a787ecb-4015'],
    ['$.detail.items[1]', { id: 'b' }],
    ['$.detail.items[*].id', ['a', 'b']],
    ["$.detail['command']", 'update-account'],
    ['$.detail.nothing', null],
  ])('selects %s with InputPath', (inputPath, expected) => {
    // Prepare
    const render = compileTargetInput({ id: 't1', inputPath });

    // Act
    const input = render(event, context);

    // Assess
    expect(input.value).toEqual(expected);
    expect(input.text).toBe(JSON.stringify(expected));
  });

  it.each([
    ['a JSON template: values outside quotes are JSON, a missing one is ""', '{"detailType": <detail-type>, "command": <command>, "gone": <missing>}', '{"detailType": "core.update-account-command", "command": "update-account", "gone": ""}'],
    ['a JSON template: objects and lists outside quotes go in as JSON', '{"bod": <payload>, "list": <listmulti>, "flag": <valid>}', '{"bod": {"acc_id":"0a787ecb-4015","sf_id":"baz"}, "list": ["ACTIVE","INACTIVE"], "flag": true}'],
    ['a JSON template: strings inside quotes go in bare, as often as used', '{"path": "users/<userId>/second/<userId>", "id": "<userId>"}', '{"path": "users/0a787ecb-4015/second/0a787ecb-4015", "id": "0a787ecb-4015"}'],
    ['a JSON template: a string inside quotes is escaped', '{"said": "<quote>"}', '{"said": "say \\"hi\\""}'],
    ['a JSON template: an array template', '[<userId>, "hardcoded"]', '["0a787ecb-4015", "hardcoded"]'],
    ['a string template keeps its quotes; a missing value is empty', '"Event of <detail-type> type, info <command>, gone <missing>"', '"Event of core.update-account-command type, info update-account, gone "'],
    ['a string template writes objects and lists without quotes', '"Payload of <payload> with <listmulti>, valid <valid>"', '"Payload of {acc_id:0a787ecb-4015,sf_id:baz} with [ACTIVE,INACTIVE], valid true"'],
    ['a string template that looks like JSON inside', '"{[/Check for event of <detail-type> type"', '"{[/Check for event of core.update-account-command type"'],
    ['API reference: plain text', '<userId> is in state <command>', '0a787ecb-4015 is in state update-account'],
  ])('fills %s', (_case, template, expected) => {
    // Prepare
    const render = transformer(template);

    // Act
    const input = render(event, context);

    // Assess
    expect(input.text).toBe(expected);
  });

  it('hands Lambda the parsed value, or the text when it is not JSON', () => {
    // Prepare
    const json = transformer('{"id": <userId>}');
    const quoted = transformer('"Command is <valid>!"');
    const plain = transformer('<userId> is in state <command>');

    // Act
    const values = [json, quoted, plain].map((render) => render(event, context).value);

    // Assess
    expect(values).toEqual([{ id: '0a787ecb-4015' }, 'Command is true!', '0a787ecb-4015 is in state update-account']);
  });

  it('fills the predefined variables', () => {
    // Prepare
    const render = transformer(
      '{"rule": <aws.events.rule-name>, "arn": "<aws.events.rule-arn>", "at": <aws.events.event.ingestion-time>, "original": <aws.events.event>, "full": <aws.events.event.json>}',
    );

    // Act
    const input = render(event, context);

    // Assess
    expect(input.value).toEqual({
      rule: 'accounts',
      arn: context.ruleArn,
      at: '2026-03-04T09:30:01Z',
      // AWS's own shape for this variable: no detail, and "detailType".
      original: {
        id: event.id,
        account: event.account,
        detailType: event['detail-type'],
        time: event.time,
        source: event.source,
        region: event.region,
        resources: [],
        version: '0',
      },
      full: event,
    });
  });

  it('refuses to put an object inside quotes, so the event is not delivered', () => {
    // Prepare
    const render = transformer('{"payload": "<payload>"}');

    // Act
    const fill = () => render(event, context);

    // Assess
    expect(fill).toThrow(InputTransformationError);
  });

  it.each([
    ['two input settings', { id: 't1', input: '{}', inputPath: '$.detail' }, 'Only one of Input, InputPath, or InputTransformer must be provided for target t1.'],
    ['a constant that is not JSON', { id: 't1', input: 'nightly' }, 'Input for target t1 is not valid JSON.'],
    ['a path not starting with $', { id: 't1', inputPath: 'detail.id' }, 'JSONPath "detail.id" of target t1 is not valid.'],
    ['a placeholder with no path', { id: 't1', inputTransformer: { inputPathsMap: paths, inputTemplate: '"with <notdefinedkey>"' } }, 'InputTemplate for target t1 contains invalid placeholder notdefinedkey.'],
    ['a reserved variable name', { id: 't1', inputTransformer: { inputPathsMap: { 'aws.mine': '$.id' }, inputTemplate: '<aws.mine>' } }, 'InputPathsMap of target t1 uses the reserved name aws.mine.'],
  ])('rejects %s as PutTargets does', (_case, target, message) => {
    // Prepare
    const settings = target;

    // Act
    const compile = () => compileTargetInput(settings);

    // Assess
    expect(compile).toThrow(InvalidTargetInputError);
    expect(compile).toThrow(message);
  });
});
