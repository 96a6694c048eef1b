import { describe, expect, it } from 'vitest';
import { evaluateSelectionExpression, selectRoute } from '../../../local/gateway/websocket/route-selection';

const ROUTES = new Set(['$connect', '$disconnect', '$default', 'join', 'chat/join']);

describe('evaluateSelectionExpression', () => {
  it.each([
    ['$request.body.action', '{"action":"join"}', 'join'],
    ['${request.body.action}', '{"action":"join"}', 'join'],
    ['${request.body.service}/${request.body.action}', '{"service":"chat","action":"join"}', 'chat/join'],
    ['$request.body.message.type', '{"message":{"type":"ping"}}', 'ping'],
    ['$request.body.items[1]', '{"items":["a","b"]}', 'b'],
    ['$request.body.version', '{"version":2}', '2'],
    ['$request.body.tags', '{"tags":["item1","item2"]}', '[item1, item2]'],
    ['\\$default', 'anything', '$default'],
  ])('evaluates %s on %s to %s', (expression, body, expected) => {
    // Prepare, Act
    const key = evaluateSelectionExpression(expression, body);

    // Assess
    expect(key).toBe(expected);
  });

  it.each([
    ['a body that is not JSON', '$request.body.action', 'join the room'],
    ['a missing field', '$request.body.action', '{"text":"hi"}'],
    ['a null field', '$request.body.action', '{"action":null}'],
    ['a variable other than the body', '$request.header.x', '{}'],
  ])('cannot evaluate %s', (_case, expression, body) => {
    // Prepare, Act
    const key = evaluateSelectionExpression(expression, body);

    // Assess
    expect(key).toBeUndefined();
  });
});

describe('selectRoute', () => {
  it('selects the route the key names', () => {
    // Prepare, Act
    const key = selectRoute('${request.body.service}/${request.body.action}', '{"service":"chat","action":"join"}', ROUTES);

    // Assess
    expect(key).toBe('chat/join');
  });

  it('falls back to $default for an unknown key and for a life-cycle key', () => {
    // Prepare, Act
    const keys = ['{"action":"leave"}', '{"action":"$connect"}', '{"action":"$disconnect"}'].map((body) =>
      selectRoute('$request.body.action', body, ROUTES),
    );

    // Assess
    expect(keys).toEqual(['$default', '$default', '$default']);
  });

  it('selects nothing when there is no match and no $default', () => {
    // Prepare, Act
    const key = selectRoute('$request.body.action', 'not json', new Set(['join']));

    // Assess
    expect(key).toBeUndefined();
  });
});
