import { describe, expect, it } from 'vitest';
import { compilePattern, InvalidEventPatternError, matchesPattern, validatePattern } from '../../../local/services/eventbridge/pattern';

/**
 * Conformance of the event pattern grammar. Patterns marked "AWS docs" are the examples of the
 * EventBridge User Guide ("Comparison operators for use in event patterns", "Content filtering
 * in event patterns", "Arrays in event patterns", "Matching events on null values and empty
 * strings"); the events around them are written for these tests. Outcomes where the docs are
 * silent follow what AWS's TestEventPattern answers, as LocalStack's AWS-validated suite
 * records it.
 */

/** The EC2 event the AWS docs use throughout. */
const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: {
    'instance-id': 'i-1234567890abcdef0',
    state: 'terminated',
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
  },
};

/** An event whose detail is `detail`, on the docs' EC2 envelope. */
function withDetail(detail: Record<string, unknown>): Record<string, unknown> {
  return { ...ec2Event, detail };
}

interface Case {
  /** The grammar element under test; every one needs a matching and a non-matching case. */
  readonly operator: string;
  readonly name: string;
  readonly pattern: unknown;
  readonly event: unknown;
  readonly matches: boolean;
}

const cases: readonly Case[] = [
  // Exact values
  { operator: 'exact', name: 'AWS docs: source, detail-type and detail.state', pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } }, event: ec2Event, matches: true },
  { operator: 'exact', name: 'a different state', pattern: { detail: { state: ['running'] } }, event: ec2Event, matches: false },
  { operator: 'exact', name: 'case matters', pattern: { source: ['AWS.EC2'] }, event: ec2Event, matches: false },
  { operator: 'exact', name: 'a field the event lacks', pattern: { detail: { zone: ['a'] } }, event: ec2Event, matches: false },
  { operator: 'exact', name: 'AWS docs: empty string matches empty string', pattern: { detail: { LastName: [''] } }, event: withDetail({ LastName: '' }), matches: true },
  { operator: 'exact', name: 'AWS docs: empty string does not match null', pattern: { detail: { LastName: [''] } }, event: withDetail({ LastName: null }), matches: false },
  { operator: 'exact', name: 'AWS docs: null matches null', pattern: { detail: { UserID: [null] } }, event: withDetail({ UserID: null }), matches: true },
  { operator: 'exact', name: 'null does not match an absent field', pattern: { detail: { UserID: [null] } }, event: withDetail({}), matches: false },
  { operator: 'exact', name: 'numbers compare as numbers (300 = 300.0 = 3.0e2)', pattern: { detail: { 'x-limit': [3.0e2] } }, event: withDetail({ 'x-limit': 300.0 }), matches: true },
  { operator: 'exact', name: 'a number never matches its string', pattern: { detail: { count: [5] } }, event: withDetail({ count: '5' }), matches: false },
  { operator: 'exact', name: 'booleans', pattern: { detail: { enabled: [true] } }, event: withDetail({ enabled: true }), matches: true },
  { operator: 'exact', name: 'true is not "true"', pattern: { detail: { enabled: [true] } }, event: withDetail({ enabled: 'true' }), matches: false },
  { operator: 'exact', name: 'a leaf pattern does not match an object', pattern: { detail: [ 'x' ] }, event: ec2Event, matches: false },

  // Arrays on both sides
  { operator: 'array', name: 'AWS docs: a pattern array is OR', pattern: { source: ['aws.ec2', 'aws.fargate'] }, event: { source: 'aws.fargate' }, matches: true },
  { operator: 'array', name: 'none of the pattern values', pattern: { source: ['aws.ec2', 'aws.fargate'] }, event: { source: 'aws.s3' }, matches: false },
  { operator: 'array', name: 'AWS docs: an event array matches if any element does', pattern: { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] }, event: { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f', 'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f'] }, matches: true },
  { operator: 'array', name: 'no element in common', pattern: { resources: ['arn:a', 'arn:b'] }, event: { resources: ['arn:c', 'arn:d'] }, matches: false },
  { operator: 'array', name: 'an empty event array matches no value', pattern: { resources: [null] }, event: { resources: [] }, matches: false },
  { operator: 'array', name: 'nested event arrays are flattened', pattern: { detail: { tags: ['blue'] } }, event: withDetail({ tags: [['red'], ['green', ['blue']]] }), matches: true },
  { operator: 'array', name: 'one element of an object array must satisfy the whole sub-pattern', pattern: { detail: { employees: { first: ['Anna'], last: ['Smith'] } } }, event: withDetail({ employees: [{ first: 'John', last: 'Doe' }, { first: 'Anna', last: 'Smith' }] }), matches: true },
  { operator: 'array', name: 'fields from different elements do not combine', pattern: { detail: { employees: { first: ['Anna'], last: ['Doe'] } } }, event: withDetail({ employees: [{ first: 'John', last: 'Doe' }, { first: 'Anna', last: 'Smith' }] }), matches: false },

  // Nested fields
  { operator: 'nested', name: 'three levels down', pattern: { detail: { a: { b: { c: [1] } } } }, event: withDetail({ a: { b: { c: 1 } } }), matches: true },
  { operator: 'nested', name: 'the same key at another depth', pattern: { detail: { a: { b: { c: [1] } } } }, event: withDetail({ a: { c: 1 } }), matches: false },

  // prefix
  { operator: 'prefix', name: 'AWS docs: time starts with 2017-10-02', pattern: { time: [{ prefix: '2017-10-02' }] }, event: { time: '2017-10-02T18:43:48Z' }, matches: true },
  { operator: 'prefix', name: 'another day', pattern: { time: [{ prefix: '2017-10-02' }] }, event: { time: '2017-10-03T18:43:48Z' }, matches: false },
  { operator: 'prefix', name: 'only strings have prefixes', pattern: { detail: { code: [{ prefix: '12' }] } }, event: withDetail({ code: 123 }), matches: false },
  { operator: 'prefix', name: 'prefix is case-sensitive', pattern: { detail: { Region: [{ prefix: 'us-' }] } }, event: withDetail({ Region: 'US-east-1' }), matches: false },
  { operator: 'prefix equals-ignore-case', name: 'AWS docs: service starts with "eventb" in any case', pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] } }, event: withDetail({ service: 'EventBridge' }), matches: true },
  { operator: 'prefix equals-ignore-case', name: 'another prefix in any case', pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] } }, event: withDetail({ service: 'EVENTS' }), matches: false },

  // suffix
  { operator: 'suffix', name: 'AWS docs: FileName ends with .png', pattern: { detail: { FileName: [{ suffix: '.png' }] } }, event: withDetail({ FileName: 'image.png' }), matches: true },
  { operator: 'suffix', name: 'ends with .PNG (case-sensitive)', pattern: { detail: { FileName: [{ suffix: '.png' }] } }, event: withDetail({ FileName: 'image.PNG' }), matches: false },
  { operator: 'suffix equals-ignore-case', name: 'AWS docs: service ends with "tbridge" in any case', pattern: { detail: { service: [{ suffix: { 'equals-ignore-case': 'tBridge' } }] } }, event: withDetail({ service: 'EVENTBRIDGE' }), matches: true },
  { operator: 'suffix equals-ignore-case', name: 'another ending', pattern: { detail: { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] } }, event: withDetail({ service: 'EventBus' }), matches: false },

  // equals-ignore-case
  { operator: 'equals-ignore-case', name: 'AWS docs: Name is "alice" in any case', pattern: { detail: { Name: [{ 'equals-ignore-case': 'alice' }] } }, event: withDetail({ Name: 'ALICE' }), matches: true },
  { operator: 'equals-ignore-case', name: 'not a prefix match', pattern: { detail: { Name: [{ 'equals-ignore-case': 'alice' }] } }, event: withDetail({ Name: 'Alice Smith' }), matches: false },

  // anything-but
  { operator: 'anything-but', name: 'AWS docs: state is not "initializing"', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: ec2Event, matches: true },
  { operator: 'anything-but', name: 'state is "initializing"', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: withDetail({ state: 'initializing' }), matches: false },
  { operator: 'anything-but', name: 'needs the field to be there', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: withDetail({}), matches: false },
  { operator: 'anything-but', name: 'null is something other than the string', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: withDetail({ state: null }), matches: true },
  { operator: 'anything-but', name: 'AWS docs: x-limit is not 123', pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, event: ec2Event, matches: true },
  { operator: 'anything-but', name: 'x-limit is 123', pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, event: withDetail({ 'x-limit': 123 }), matches: false },
  { operator: 'anything-but list', name: 'AWS docs: state is neither stopped nor overloaded', pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, event: ec2Event, matches: true },
  { operator: 'anything-but list', name: 'state is overloaded', pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, event: withDetail({ state: 'overloaded' }), matches: false },
  { operator: 'anything-but list', name: 'AWS docs: x-limit is none of 100, 200, 300', pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, event: ec2Event, matches: true },
  { operator: 'anything-but list', name: 'x-limit is 200', pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, event: withDetail({ 'x-limit': 200 }), matches: false },
  { operator: 'anything-but list', name: 'an event array passes if one element is not excluded', pattern: { detail: { state: [{ 'anything-but': ['stopped'] }] } }, event: withDetail({ state: ['stopped', 'running'] }), matches: true },
  { operator: 'anything-but list', name: 'an event array of excluded values does not', pattern: { detail: { state: [{ 'anything-but': ['stopped', 'running'] }] } }, event: withDetail({ state: ['stopped', 'running'] }), matches: false },
  { operator: 'anything-but prefix', name: 'AWS docs: Region is not in the US', pattern: { detail: { Region: [{ 'anything-but': { prefix: 'us-' } }] } }, event: withDetail({ Region: 'eu-west-1' }), matches: true },
  { operator: 'anything-but prefix', name: 'Region is in the US', pattern: { detail: { Region: [{ 'anything-but': { prefix: 'us-' } }] } }, event: withDetail({ Region: 'us-east-1' }), matches: false },
  { operator: 'anything-but prefix', name: 'a number has no string prefix, so it passes', pattern: { detail: { state: [{ 'anything-but': { prefix: '1' } }] } }, event: withDetail({ state: 12 }), matches: true },
  { operator: 'anything-but suffix', name: 'AWS docs: FileName does not end with .png', pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.png' } }] } }, event: withDetail({ FileName: 'notes.txt' }), matches: true },
  { operator: 'anything-but suffix', name: 'FileName ends with .png', pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.png' } }] } }, event: withDetail({ FileName: 'image.png' }), matches: false },
  { operator: 'anything-but equals-ignore-case', name: 'AWS docs: state is not "initializing" in any case', pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } }, event: withDetail({ state: 'running' }), matches: true },
  { operator: 'anything-but equals-ignore-case', name: 'state is "INITIALIZING"', pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } }, event: withDetail({ state: 'INITIALIZING' }), matches: false },
  { operator: 'anything-but wildcard', name: 'AWS docs: FilePath does not include /lib/', pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } }, event: withDetail({ FilePath: '/usr/bin/node' }), matches: true },
  { operator: 'anything-but wildcard', name: 'FilePath includes /lib/', pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } }, event: withDetail({ FilePath: '/usr/lib/node' }), matches: false },

  // numeric
  { operator: 'numeric', name: 'AWS docs: 0 < c-count <= 5, d-count < 10, x-limit = 3.018e2', pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ numeric: ['=', 3.018e2] }] } }, event: ec2Event, matches: true },
  { operator: 'numeric', name: 'c-count of 6 is above the range', pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, event: withDetail({ 'c-count': 6 }), matches: false },
  { operator: 'numeric', name: 'the open bottom excludes 0', pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, event: withDetail({ 'c-count': 0 }), matches: false },
  { operator: 'numeric', name: 'the closed top includes 5', pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, event: withDetail({ 'c-count': 5 }), matches: true },
  { operator: 'numeric', name: '>= includes its bound', pattern: { detail: { n: [{ numeric: ['>=', 10, '<', 20] }] } }, event: withDetail({ n: 10 }), matches: true },
  { operator: 'numeric', name: '< excludes its bound', pattern: { detail: { n: [{ numeric: ['>=', 10, '<', 20] }] } }, event: withDetail({ n: 20 }), matches: false },
  { operator: 'numeric', name: 'floats and negatives', pattern: { detail: { n: [{ numeric: ['>', -1.5, '<', -1.25] }] } }, event: withDetail({ n: -1.3 }), matches: true },
  { operator: 'numeric', name: 'a numeric string is not a number', pattern: { detail: { n: [{ numeric: ['>', 0] }] } }, event: withDetail({ n: '5' }), matches: false },
  { operator: 'numeric', name: 'null is not a number', pattern: { detail: { n: [{ numeric: ['>', 0] }] } }, event: withDetail({ n: null }), matches: false },
  { operator: 'numeric', name: 'AWS docs: Price between 10 and 20 in an array', pattern: { detail: { Price: [{ numeric: ['>', 10, '<=', 20] }] } }, event: withDetail({ Price: [5, 15] }), matches: true },

  // exists
  { operator: 'exists', name: 'AWS docs: detail.state exists', pattern: { detail: { state: [{ exists: true }] } }, event: ec2Event, matches: true },
  { operator: 'exists', name: 'AWS docs: detail.state does not exist', pattern: { detail: { state: [{ exists: true }] } }, event: withDetail({ 'c-count': { c1: 100 } }), matches: false },
  { operator: 'exists', name: 'an object is not a leaf, so it does not exist', pattern: { detail: { key: [{ exists: true }] } }, event: withDetail({ key: { S: 'x' } }), matches: false },
  { operator: 'exists', name: 'null is a value, so it exists', pattern: { detail: { key: [{ exists: true }] } }, event: withDetail({ key: null }), matches: true },
  { operator: 'exists', name: 'an empty array does not exist', pattern: { resources: [{ exists: true }] }, event: { ...ec2Event, resources: [] }, matches: false },
  { operator: 'exists', name: 'one element of an object array has it', pattern: { detail: { automations: { id: [{ exists: true }] } } }, event: withDetail({ automations: [{ key: 'a' }, { id: 'x' }] }), matches: true },
  { operator: 'exists false', name: 'AWS docs: detail.c-count is absent', pattern: { detail: { 'c-count': [{ exists: false }] } }, event: withDetail({ state: ['initializing', 'running'] }), matches: true },
  { operator: 'exists false', name: 'AWS docs: c-count is not a leaf, so it counts as absent', pattern: { detail: { 'c-count': [{ exists: false }] } }, event: withDetail({ 'c-count': { c1: 100 } }), matches: true },
  { operator: 'exists false', name: 'present', pattern: { detail: { 'c-count': [{ exists: false }] } }, event: ec2Event, matches: false },
  { operator: 'exists false', name: 'present as null', pattern: { detail: { 'c-count': [{ exists: false }] } }, event: withDetail({ 'c-count': null }), matches: false },
  { operator: 'exists false', name: 'an empty array counts as absent', pattern: { resources: [{ exists: false }] }, event: { ...ec2Event, resources: [] }, matches: true },
  { operator: 'exists false', name: 'a missing parent counts as absent', pattern: { detail: { a: { b: { c: [{ exists: false }] } } } }, event: withDetail({ a: 'flat' }), matches: true },
  { operator: 'exists false', name: 'OR with anything-but: absent satisfies exists:false', pattern: { detail: { homemade: { S: [{ 'anything-but': ['roses'] }, { exists: false }] } } }, event: withDetail({ homemade: { N: '789' } }), matches: true },

  // wildcard
  { operator: 'wildcard', name: 'AWS docs: FileName is a .png under dir/', pattern: { detail: { FileName: [{ wildcard: 'dir/*.png' }] } }, event: withDetail({ FileName: 'dir/sub/image.png' }), matches: true },
  { operator: 'wildcard', name: 'not under dir/', pattern: { detail: { FileName: [{ wildcard: 'dir/*.png' }] } }, event: withDetail({ FileName: 'other/image.png' }), matches: false },
  { operator: 'wildcard', name: 'a star matches nothing too', pattern: { detail: { name: [{ wildcard: 'a*b' }] } }, event: withDetail({ name: 'ab' }), matches: true },
  { operator: 'wildcard', name: 'several stars', pattern: { detail: { arn: [{ wildcard: 'arn:aws:*:*:event-bus/*' }] } }, event: withDetail({ arn: 'arn:aws:events:us-east-1:1:event-bus/main' }), matches: true },
  { operator: 'wildcard', name: 'regex characters are literal', pattern: { detail: { name: [{ wildcard: 'a.c*' }] } }, event: withDetail({ name: 'abc' }), matches: false },
  { operator: 'wildcard escape', name: '\\* matches a literal star', pattern: { detail: { name: [{ wildcard: 'price\\*' }] } }, event: withDetail({ name: 'price*' }), matches: true },
  { operator: 'wildcard escape', name: '\\* does not match other text', pattern: { detail: { name: [{ wildcard: 'price\\*' }] } }, event: withDetail({ name: 'prices' }), matches: false },
  { operator: 'wildcard escape', name: '\\\\ matches a literal backslash', pattern: { detail: { path: [{ wildcard: 'C:\\\\*' }] } }, event: withDetail({ path: 'C:\\Windows' }), matches: true },

  // cidr
  { operator: 'cidr', name: 'AWS docs: sourceIPAddress in 10.0.0.0/24', pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } }, event: withDetail({ sourceIPAddress: '10.0.0.255' }), matches: true },
  { operator: 'cidr', name: 'just outside 10.0.0.0/24', pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } }, event: withDetail({ sourceIPAddress: '10.0.1.0' }), matches: false },
  { operator: 'cidr', name: 'a /8', pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/8' }] } }, event: ec2Event, matches: true },
  { operator: 'cidr', name: 'not an address', pattern: { detail: { ip: [{ cidr: '10.0.0.0/8' }] } }, event: withDetail({ ip: 'ten.zero' }), matches: false },
  { operator: 'cidr', name: 'a number is not an address', pattern: { detail: { ip: [{ cidr: '10.0.0.0/8' }] } }, event: withDetail({ ip: 10 }), matches: false },
  { operator: 'cidr', name: 'IPv6', pattern: { detail: { ip: [{ cidr: '2001:db8:1234:1a00::/64' }] } }, event: withDetail({ ip: '2001:db8:1234:1a00::dc1' }), matches: true },

  // $or
  { operator: '$or', name: 'AWS docs: Location is New York or Day is Monday', pattern: { detail: { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] } }, event: withDetail({ Location: 'Miami', Day: 'Monday' }), matches: true },
  { operator: '$or', name: 'neither alternative', pattern: { detail: { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] } }, event: withDetail({ Location: 'Miami', Day: 'Tuesday' }), matches: false },
  { operator: '$or', name: 'AND with the fields beside it', pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] }, event: { source: 'aws.ec2', namespace: 'AWS/EC2' }, matches: false },
  { operator: '$or nested', name: 'event-ruler docs: an alternative holding its own $or', pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }] }, event: { source: 'aws.cloudwatch', metricType: 'MetricType', spaceId: 1000 }, matches: true },
  { operator: '$or nested', name: 'the inner $or unsatisfied', pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }] }, event: { source: 'aws.cloudwatch', metricType: 'MetricType', spaceId: 2000 }, matches: false },
  { operator: '$or nested', name: 'parallel $or groups must each hold', pattern: { $or: [{ a: [1] }, { b: [2] }], detail: { $or: [{ c: [3] }, { d: [4] }] } }, event: { b: 2, detail: { c: 9, d: 4 } }, matches: true },
  { operator: '$or nested', name: 'one parallel group fails', pattern: { $or: [{ a: [1] }, { b: [2] }], detail: { $or: [{ c: [3] }, { d: [4] }] } }, event: { b: 2, detail: { c: 9, d: 9 } }, matches: false },
];

/** Every element of the grammar the conformance table must exercise both ways. */
const grammar = [
  'exact', 'array', 'nested', 'prefix', 'prefix equals-ignore-case', 'suffix', 'suffix equals-ignore-case', 'equals-ignore-case',
  'anything-but', 'anything-but list', 'anything-but prefix', 'anything-but suffix', 'anything-but equals-ignore-case',
  'anything-but wildcard', 'numeric', 'exists', 'exists false', 'wildcard', 'wildcard escape', 'cidr', '$or', '$or nested',
];

describe('matchesPattern', () => {
  it.each(cases)('$operator: $name → $matches', ({ pattern, event, matches }) => {
    // Prepare
    const matcher = compilePattern(pattern);

    // Act
    const result = matcher(event);

    // Assess
    expect(result).toBe(matches);
  });

  it('has a matching and a non-matching case for every grammar element', () => {
    // Prepare
    const outcomes = (operator: string) => new Set(cases.filter((c) => c.operator === operator).map((c) => c.matches));

    // Act
    const incomplete = grammar.filter((operator) => outcomes(operator).size < 2);

    // Assess
    expect(incomplete).toEqual([]);
  });

  it('gives the same answer uncompiled', () => {
    // Prepare
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };

    // Act
    const results = [matchesPattern(pattern, ec2Event), matchesPattern(pattern, withDetail({ state: 'initializing' }))];

    // Assess
    expect(results).toEqual([true, false]);
  });

  it('does not read inherited properties as event fields', () => {
    // Prepare
    const matcher = compilePattern({ detail: { constructor: [{ exists: true }] } });

    // Act
    const result = matcher(withDetail({}));

    // Assess
    expect(result).toBe(false);
  });
});

describe('validatePattern', () => {
  const invalid: readonly { readonly name: string; readonly pattern: unknown; readonly reason: string }[] = [
    { name: 'not an object', pattern: ['aws.ec2'], reason: 'Filter is not an object' },
    { name: 'an empty pattern', pattern: {}, reason: 'Empty objects are not allowed' },
    { name: 'an empty nested object', pattern: { source: ['x'], detail: {} }, reason: 'Empty objects are not allowed' },
    { name: 'an empty array', pattern: { 'detail-type': [] }, reason: 'Empty arrays are not allowed' },
    { name: 'a bare value', pattern: { detail: { pipeline: { slug: 'some-pipeline' } } }, reason: '"slug" must be an object or an array' },
    { name: 'a nested array', pattern: { source: [['a']] }, reason: 'Match value must be String, number, true, false, or null' },
    { name: 'an unknown operator', pattern: { source: [{ contains: 'x' }] }, reason: 'Unrecognized match type contains' },
    { name: 'operators are case-sensitive', pattern: { source: [{ EXISTS: true }] }, reason: 'Unrecognized match type EXISTS' },
    { name: 'two operators in one object', pattern: { source: [{ prefix: 'a', suffix: 'b' }] }, reason: 'Only one key allowed in match expression' },
    { name: 'a numeric prefix', pattern: { source: [{ prefix: 12 }] }, reason: 'prefix match pattern must be a string' },
    { name: 'an unknown prefix option', pattern: { source: [{ prefix: { wildcard: 'a' } }] }, reason: 'Unsupported prefix pattern: wildcard' },
    { name: 'a list for suffix', pattern: { source: [{ suffix: ['a'] }] }, reason: 'suffix match pattern must be a string' },
    { name: 'a numeric equals-ignore-case', pattern: { source: [{ 'equals-ignore-case': 5 }] }, reason: 'equals-ignore-case match pattern must be a string' },
    { name: 'consecutive wildcards', pattern: { source: [{ wildcard: 'a**b' }] }, reason: 'Consecutive wildcard characters at pos 1' },
    { name: 'a stray escape', pattern: { source: [{ wildcard: 'a\\b' }] }, reason: 'Invalid escape character at pos 1' },
    { name: 'a mixed anything-but list', pattern: { source: [{ 'anything-but': ['a', 1] }] }, reason: 'Inside anything but list, either all values are number or string, mixed type is not supported' },
    { name: 'null in anything-but', pattern: { source: [{ 'anything-but': null }] }, reason: 'Value of anything-but must be an array or single string/number value.' },
    { name: 'an empty anything-but prefix', pattern: { source: [{ 'anything-but': { prefix: '' } }] }, reason: 'Null prefix/suffix not allowed' },
    { name: 'anything-but prefix ignoring case', pattern: { source: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'a' } } }] }, reason: 'Value of anything-but must be an array or single string/number value.' },
    { name: 'numeric without an array', pattern: { n: [{ numeric: 5 }] }, reason: 'Value of numeric must be an array.' },
    { name: 'a numeric string bound', pattern: { n: [{ numeric: ['<', '5'] }] }, reason: 'Value of < must be numeric' },
    { name: 'two lower bounds', pattern: { n: [{ numeric: ['>', 0, '>', 5] }] }, reason: 'Bad numeric range operator: >' },
    { name: 'an upper bound after =', pattern: { n: [{ numeric: ['=', 1, '<', 5] }] }, reason: 'Too many elements in numeric expression' },
    { name: 'an empty range', pattern: { n: [{ numeric: ['>', 5, '<', 5] }] }, reason: 'Bottom must be less than top' },
    { name: 'exists with a string', pattern: { n: [{ exists: 'yes' }] }, reason: 'exists match pattern must be either true or false.' },
    { name: 'a CIDR without a mask', pattern: { ip: [{ cidr: '10.0.0.0' }] }, reason: "Malformed CIDR, one '/' required" },
    { name: 'a CIDR with a bad mask', pattern: { ip: [{ cidr: '10.0.0.0/x' }] }, reason: 'Malformed CIDR, mask bits must be an integer' },
    { name: 'a CIDR with a bad address', pattern: { ip: [{ cidr: 'xx.11.xx/24' }] }, reason: 'Nonstandard IP address: xx.11.xx' },
    { name: '$or that is not an array', pattern: { $or: { a: [1] } }, reason: 'It must be an Array followed with $or.' },
    { name: '$or with one alternative', pattern: { $or: [{ a: [1] }] }, reason: 'There must have at least 2 Objects in $or relationship.' },
    { name: '$or with a non-object', pattern: { $or: [{ a: [1] }, 'b'] }, reason: 'Only JSON object is allowed in array of $or relationship.' },
    { name: 'an operator name as a field inside $or', pattern: { $or: [{ numeric: [1] }, { prefix: ['a'] }] }, reason: 'numeric is Ruler reserved fieldName which cannot be used inside $or.' },
  ];

  it.each(invalid)('rejects $name', ({ pattern, reason }) => {
    // Prepare
    const expected = `Event pattern is not valid. Reason: ${reason}`;

    // Act
    const validate = () => validatePattern(pattern);

    // Assess
    expect(validate).toThrow(InvalidEventPatternError);
    expect(validate).toThrow(expected);
  });

  it('accepts every pattern of the conformance table', () => {
    // Prepare
    const patterns = cases.map((c) => c.pattern);

    // Act
    const rejected = patterns.filter((pattern) => {
      try {
        validatePattern(pattern);
        return false;
      } catch {
        return true;
      }
    });

    // Assess
    expect(rejected).toEqual([]);
  });
});
