import { describe, expect, it } from 'vitest';
import { InvalidScheduleExpressionError, nextFireTime, parseScheduleExpression } from '../../../local/services/eventbridge/schedule';

/**
 * The expressions marked "AWS docs" are the examples of "Using cron and rate expressions to
 * schedule rules" in the EventBridge User Guide, with the meaning it gives them. Times are
 * UTC; 2026-03-04 is a Wednesday.
 */
const at = (iso: string) => new Date(iso);

describe('nextFireTime', () => {
  const cases: readonly { readonly expression: string; readonly meaning: string; readonly after: string; readonly next: string }[] = [
    { expression: 'cron(0 10 * * ? *)', meaning: 'AWS docs: 10:00 every day', after: '2026-03-04T09:30:00Z', next: '2026-03-04T10:00:00Z' },
    { expression: 'cron(0 10 * * ? *)', meaning: 'strictly after: at 10:00 the next is tomorrow', after: '2026-03-04T10:00:00Z', next: '2026-03-05T10:00:00Z' },
    { expression: 'cron(15 12 * * ? *)', meaning: 'AWS docs: 12:15 every day', after: '2026-03-04T12:15:30Z', next: '2026-03-05T12:15:00Z' },
    { expression: 'cron(0 18 ? * MON-FRI *)', meaning: 'AWS docs: 18:00 Monday to Friday (Friday evening → Monday)', after: '2026-03-06T18:00:00Z', next: '2026-03-09T18:00:00Z' },
    { expression: 'cron(0 8 1 * ? *)', meaning: 'AWS docs: 8:00 on the first of every month', after: '2026-03-04T09:30:00Z', next: '2026-04-01T08:00:00Z' },
    { expression: 'cron(0 8 1 * ? *)', meaning: 'across a year end', after: '2026-12-01T08:00:00Z', next: '2027-01-01T08:00:00Z' },
    { expression: 'cron(0/10 * ? * MON-FRI *)', meaning: 'AWS docs: every 10 minutes Monday to Friday', after: '2026-03-04T09:31:00Z', next: '2026-03-04T09:40:00Z' },
    { expression: 'cron(0/10 * ? * MON-FRI *)', meaning: 'every 10 minutes skips the weekend', after: '2026-03-06T23:55:00Z', next: '2026-03-09T00:00:00Z' },
    { expression: 'cron(0/5 8-17 ? * MON-FRI *)', meaning: 'AWS docs: every 5 minutes, 8:00-17:55, Monday to Friday', after: '2026-03-04T17:50:00Z', next: '2026-03-04T17:55:00Z' },
    { expression: 'cron(0/5 8-17 ? * MON-FRI *)', meaning: 'after 17:55 comes 8:00 the next weekday', after: '2026-03-04T17:56:00Z', next: '2026-03-05T08:00:00Z' },
    { expression: 'cron(0 9 ? * 2#1 *)', meaning: 'AWS docs: 9:00 on the first Monday of the month', after: '2026-03-04T09:30:00Z', next: '2026-04-06T09:00:00Z' },
    { expression: 'cron(0 0 L * ? *)', meaning: 'L: midnight on the last day of February', after: '2026-02-10T00:00:00Z', next: '2026-02-28T00:00:00Z' },
    { expression: 'cron(0 0 L * ? *)', meaning: 'L in a leap year', after: '2028-02-10T00:00:00Z', next: '2028-02-29T00:00:00Z' },
    { expression: 'cron(0/15 * * * ? *)', meaning: 'AWS docs: every 15 minutes', after: '2026-03-04T09:59:59Z', next: '2026-03-04T10:00:00Z' },
    { expression: 'cron(0 12 15W * ? *)', meaning: 'W: the 15th is a Sunday, so Monday the 16th', after: '2026-11-01T00:00:00Z', next: '2026-11-16T12:00:00Z' },
    { expression: 'cron(0 12 1W * ? *)', meaning: 'W stays in the month: the 1st is a Saturday, so Monday the 3rd', after: '2026-07-31T00:00:00Z', next: '2026-08-03T12:00:00Z' },
    { expression: 'cron(0 12 LW * ? *)', meaning: 'LW: the last weekday of May 2026 is Friday the 29th', after: '2026-05-20T00:00:00Z', next: '2026-05-29T12:00:00Z' },
    { expression: 'cron(0 0 ? * 6L *)', meaning: 'nL: the last Friday of March 2026', after: '2026-03-04T00:00:00Z', next: '2026-03-27T00:00:00Z' },
    { expression: 'cron(0 0 ? * L *)', meaning: 'L as day-of-week: Saturday', after: '2026-03-04T00:00:00Z', next: '2026-03-07T00:00:00Z' },
    { expression: 'cron(30 6 ? jan,Jul SUN 2027-2028)', meaning: 'names in any case, lists and years', after: '2026-03-04T00:00:00Z', next: '2027-01-03T06:30:00Z' },
    { expression: 'cron(0 0 1 1 ? 2030)', meaning: 'a single year', after: '2026-03-04T00:00:00Z', next: '2030-01-01T00:00:00Z' },
    { expression: 'rate(5 minutes)', meaning: 'AWS docs: every 5 minutes', after: '2026-03-04T09:30:00Z', next: '2026-03-04T09:35:00Z' },
    { expression: 'rate(1 hour)', meaning: 'AWS docs: every hour', after: '2026-03-04T09:30:00Z', next: '2026-03-04T10:30:00Z' },
    { expression: 'rate(7 days)', meaning: 'AWS docs: every seven days', after: '2026-03-04T09:30:00Z', next: '2026-03-11T09:30:00Z' },
  ];

  it.each(cases)('$expression after $after: $meaning', ({ expression, after, next }) => {
    // Prepare
    const from = at(after);

    // Act
    const fire = nextFireTime(expression, from);

    // Assess
    expect(fire?.toISOString()).toBe(at(next).toISOString());
  });

  it('keeps a rate on the grid of its anchor', () => {
    // Prepare
    const anchor = at('2026-03-04T09:00:00Z');

    // Act
    const fire = nextFireTime('rate(5 minutes)', at('2026-03-04T09:32:10Z'), anchor);

    // Assess
    expect(fire?.toISOString()).toBe('2026-03-04T09:35:00.000Z');
  });

  it.each([
    ['cron(0 0 30 2 ? *)', 'February has no 30th'],
    ['cron(0 0 1 1 ? 2020)', 'the only year is past'],
  ])('says %s never fires (%s)', (expression) => {
    // Prepare
    const from = at('2026-03-04T00:00:00Z');

    // Act
    const fire = nextFireTime(expression, from);

    // Assess
    expect(fire).toBeUndefined();
  });
});

describe('parseScheduleExpression', () => {
  it.each([
    ['cron(0 10 * * * *)', 'use ? in exactly one of day-of-month and day-of-week'],
    ['cron(0 10 ? * ? *)', 'use ? in exactly one of day-of-month and day-of-week'],
    ['cron(0 10 * * ?)', 'a cron has six fields (minutes hours day-of-month month day-of-week year), found 5'],
    ['cron(60 * * * ? *)', 'minutes: value 60 is outside 0-59'],
    ['cron(0 25 * * ? *)', 'hours: value 25 is outside 0-23'],
    ['cron(0 0 ? * 8 *)', 'day-of-week: value 8 is outside 1-7'],
    ['cron(0 0 ? * 3#1,6#3 *)', 'day-of-week: a # expression must stand alone'],
    ['cron(0 0 ? * 2#6 *)', 'day-of-week: occurrence 6 is outside 1-5'],
    ['cron(0 0 1 FOO ? *)', 'month: "FOO" is not a valid value'],
    ['cron(0 0 1 * ? 1969)', 'year: value 1969 is outside 1970-2199'],
    ['cron(0 0 20-10 * ? *)', 'day-of-month: the range "20-10" runs backwards'],
    ['rate(1 minutes)', 'use the singular "minute" for a value of 1'],
    ['rate(5 minute)', 'use the plural "minutes" for a value above 1'],
    ['rate(0 minutes)', 'the value must be a positive whole number'],
    ['rate(30 seconds)', 'unknown unit "seconds": use minute(s), hour(s) or day(s)'],
    ['every 5 minutes', 'it must be rate(value unit) or cron(fields)'],
  ])('rejects %s', (expression, reason) => {
    // Prepare
    const expected = `Schedule expression ${JSON.stringify(expression)} is not valid: ${reason}`;

    // Act
    const parse = () => parseScheduleExpression(expression);

    // Assess
    expect(parse).toThrow(InvalidScheduleExpressionError);
    expect(parse).toThrow(expected);
  });
});
