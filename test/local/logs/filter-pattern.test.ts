import { FilterPattern as CdkFilterPattern } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { compileFilterPattern, FilterPatternError, matchesFilterPattern } from '../../../local/services/logs/filter-pattern';

const click = JSON.stringify({ _type: 'switchyard.click', id: 'c-1', code: 'abc', at: '2026-11-23T10:00:00.000Z', referrer: null, bot: false, latency: 12, user: { id: 2, tier: 'gold' }, tags: ['a', 'b'] });
const other = JSON.stringify({ _type: 'switchyard.other', latency: 700, user: { id: 3 } });

describe('filter patterns: the empty pattern', () => {
  it.each([[''], ['   ']])('%j matches every event, JSON or not', (pattern) => {
    expect(matchesFilterPattern(pattern, 'plain text')).toBe(true);
    expect(matchesFilterPattern(pattern, click)).toBe(true);
    expect(matchesFilterPattern(pattern, '')).toBe(true);
  });
});

describe('filter patterns: JSON', () => {
  it.each([
    // pattern, message, matches?
    ['{ $._type = "switchyard.click" }', click, true],
    ['{ $._type = "switchyard.click" }', other, false],
    ['{ $._type = switchyard.click }', click, true],
    ['{$._type="switchyard.click"}', click, true],
    ['{ $._type != "switchyard.click" }', other, true],
    ['{ $._type != "switchyard.click" }', click, false],
    ['{ $.missing != "x" }', click, false],
    ['{ $.user.tier = "gold" }', click, true],
    ['{ $.user.tier != "gold" }', click, false],
    ['{ $.user.id = 2 }', click, true],
    ['{ $.user.id = 3 }', click, false],
    ['{ $.user.id != 3 }', click, true],
    ['{ $.latency > 5 }', click, true],
    ['{ $.latency > 12 }', click, false],
    ['{ $.latency >= 12 }', click, true],
    ['{ $.latency < 12.5 }', click, true],
    ['{ $.latency <= 11 }', click, false],
    ['{ $.latency > -1e3 }', click, true],
    ['{ $.code > 5 }', click, false],
    ['{ $._type = "switchyard.*" }', click, true],
    ['{ $._type = "*.click" }', click, true],
    ['{ $._type = "*.other" }', click, false],
    ['{ $._type = switchyard.c* }', click, true],
    ['{ $._type != "switchyard.*" }', click, false],
    ['{ $.code = "*" }', click, true],
    ['{ $.user = "*" }', click, true],
    ['{ $.referrer = "*" }', click, false],
    ['{ $.nope = "*" }', click, false],
    ['{ $.user.id = "2" }', click, true],
    ['{ $.tags[0] = "a" }', click, true],
    ['{ $.tags[1] = "a" }', click, false],
    ['{ $.tags[5] NOT EXISTS }', click, true],
    ['{ $.referrer IS NULL }', click, true],
    ['{ $.code IS NULL }', click, false],
    ['{ $.nope IS NULL }', click, false],
    ['{ $.bot IS FALSE }', click, true],
    ['{ $.bot IS TRUE }', click, false],
    ['{ $.code IS TRUE }', click, false],
    ['{ $.referrer EXISTS }', click, true],
    ['{ $.user.id EXISTS }', other, true],
    ['{ $.nope EXISTS }', click, false],
    ['{ $.nope NOT EXISTS }', click, true],
    ['{ $.code NOT EXISTS }', click, false],
    ['{ $.code = %^ab% }', click, true],
    ['{ $.code = %^b% }', click, false],
    ['{ $.code != %^b% }', click, true],
    ['{ $._type = "switchyard.click" && $.latency > 10 }', click, true],
    ['{ $._type = "switchyard.click" && $.latency > 100 }', click, false],
    ['{ $._type = "switchyard.nope" || $.latency > 100 }', other, true],
    ['{ $._type = "switchyard.nope" || $.latency > 1000 }', other, false],
    ['{ ($._type = "switchyard.click" || $._type = "switchyard.other") && $.user.id = 3 }', other, true],
    ['{ ($._type = "switchyard.click" || $._type = "switchyard.other") && $.user.id = 3 }', click, false],
    ['{ $.user.id = 3 || $.latency < 20 && $.bot IS FALSE }', click, true],
    ['{ (($.latency > 5)) }', click, true],
    // A JSON pattern never matches a line that is not a JSON object.
    ['{ $._type = "switchyard.click" }', 'switchyard.click', false],
    ['{ $.nope NOT EXISTS }', 'plain text', false],
    ['{ $.nope NOT EXISTS }', '{"truncated": ', false],
    ['{ $.nope NOT EXISTS }', '42', false],
    ['{ $[0] = "a" }', '["a"]', true],
  ])('%s against %s: %s', (pattern, message, expected) => {
    expect(matchesFilterPattern(pattern, message)).toBe(expected);
  });

  it('reads what CDK writes for every FilterPattern helper', () => {
    // Prepare
    const cases = [
      [CdkFilterPattern.stringValue('$._type', '=', 'switchyard.click'), true],
      [CdkFilterPattern.numberValue('$.latency', '>', 5), true],
      [CdkFilterPattern.exists('$.code'), true],
      [CdkFilterPattern.notExists('$.code'), false],
      [CdkFilterPattern.isNull('$.referrer'), true],
      [CdkFilterPattern.booleanValue('$.bot', false), true],
      [CdkFilterPattern.regexValue('$.code', '=', 'a.c'), true],
      [CdkFilterPattern.all(CdkFilterPattern.stringValue('$.code', '=', 'abc'), CdkFilterPattern.any(CdkFilterPattern.numberValue('$.latency', '>', 100), CdkFilterPattern.booleanValue('$.bot', false))), true],
      [CdkFilterPattern.all(CdkFilterPattern.stringValue('$.code', '=', 'abc'), CdkFilterPattern.numberValue('$.latency', '>', 100)), false],
    ] as const;

    // Act
    const results = cases.map(([pattern]) => matchesFilterPattern(pattern.logPatternString, click));

    // Assess
    expect(results).toEqual(cases.map(([, expected]) => expected));
  });
});

describe('filter patterns: terms', () => {
  it.each([
    ['ERROR', '[ERROR] A fatal exception has occurred', true],
    ['ERROR', 'Exiting the application with ERRORCODE: -1', true],
    ['ERROR', 'error: case matters', false],
    ['ERROR Exception', 'ERROR: NullPointerException', true],
    ['ERROR Exception', 'ERROR: nothing else', false],
    ['"Internal Server Error"', 'status=500 Internal Server Error', true],
    ['"Internal Server Error"', 'Internal Error on Server', false],
    ['"ERROR][grpc"', '[ERROR][grpc] stream closed', true],
    ['-ERROR', 'all good', true],
    ['-ERROR', 'an ERROR', false],
    ['ERROR -Exiting', '[ERROR] A fatal exception has occurred', true],
    ['ERROR -Exiting', 'Exiting the application with ERRORCODE: -1', false],
    ['?ERROR ?WARN', 'WARN low disk', true],
    ['?ERROR ?WARN', 'ERROR disk gone', true],
    ['?ERROR ?WARN', 'INFO fine', false],
    ['?"ERROR" "Main" ?"WARN" "Dead"', 'ERROR in Main', true],
    ['?"ERROR" "Main" ?"WARN" "Dead"', 'ERROR elsewhere', false],
    ['?"ERROR" "Main" ?"WARN" "Dead"', 'WARN Deadlock', true],
    ['"a \\"quoted\\" word"', 'here is a "quoted" word', true],
    ['switchyard.click', click, true],
  ])('%s against %j: %s', (pattern, message, expected) => {
    expect(matchesFilterPattern(pattern, message)).toBe(expected);
  });

  it('reads what CDK writes for its term helpers', () => {
    expect(matchesFilterPattern(CdkFilterPattern.allTerms('ERROR', 'MainThread').logPatternString, 'ERROR in MainThread')).toBe(true);
    expect(matchesFilterPattern(CdkFilterPattern.anyTerm('ERROR', 'WARN').logPatternString, 'WARN')).toBe(true);
    expect(matchesFilterPattern(CdkFilterPattern.anyTermGroup(['ERROR', 'Main'], ['WARN', 'Dead']).logPatternString, 'WARN Main')).toBe(false);
  });
});

describe('filter patterns: regular expressions', () => {
  it.each([
    ['%ERROR [0-9]{3}%', 'ERROR 503 upstream', true],
    ['%ERROR [0-9]{3}%', 'ERROR 50 upstream', false],
    ['%^[hc]at%', 'hat trick', true],
    ['%^[hc]at%', 'that', false],
  ])('%s against %j: %s', (pattern, message, expected) => {
    expect(matchesFilterPattern(pattern, message)).toBe(expected);
  });
});

describe('filter patterns: what is refused', () => {
  it.each([
    ['{ $.a = "x" '],
    ['{ $.a = }'],
    ['{ a = "x" }'],
    ['{ $.a > "x" }'],
    ['{ $.a IS MAYBE }'],
    ['{ $.a NOT THERE }'],
    ['{ $.a = "x" && }'],
    ['{ ($.a = "x" }'],
    ['{ $.a = "x" } trailing'],
    ['{ $ = "x" }'],
    ['"unterminated'],
    ['%[%'],
    ['[ip, user, ...]'],
  ])('%s', (pattern) => {
    expect(() => compileFilterPattern(pattern)).toThrow(FilterPatternError);
  });

  it('names the pattern in the error', () => {
    expect(() => compileFilterPattern('{ $.a > "x" }')).toThrow(/\{ \$\.a > \\"x\\" \}/);
  });
});
