/**
 * Schedule expressions of EventBridge rules: `rate(value unit)` and AWS's six-field
 * `cron(minutes hours day-of-month month day-of-week year)`, always in UTC.
 *
 * Hand-written rather than taken from npm: `croner` and `cron-parser` read five- or
 * seven-field Unix/Quartz crons, with seconds and with days of week counted from 0, while AWS
 * counts SUN=1..SAT=7, has a year field, and insists on `?` in one of the two day fields.
 * Adapting them would take as much code as this, and would still parse expressions AWS rejects.
 */

/** An expression PutRule would reject; the message says what is wrong with it. */
export class InvalidScheduleExpressionError extends Error {
  constructor(
    readonly expression: string,
    reason: string,
  ) {
    super(`Schedule expression ${JSON.stringify(expression)} is not valid: ${reason}`);
    this.name = 'InvalidScheduleExpressionError';
  }
}

/** A parsed schedule expression. */
export type Schedule =
  | { readonly kind: 'rate'; readonly expression: string; readonly periodMs: number }
  | { readonly kind: 'cron'; readonly expression: string; readonly fields: CronFields };

/** The six cron fields, each compiled to a test. */
export interface CronFields {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  /** Whether a calendar day (UTC) is selected by the day-of-month or day-of-week field. */
  readonly day: (year: number, month: number, day: number) => boolean;
  /** 1-12. */
  readonly months: ReadonlySet<number>;
  readonly years: ReadonlySet<number>;
}

const MINUTE_MS = 60_000;
const RATE_UNITS: Readonly<Record<string, number>> = { minute: MINUTE_MS, hour: 60 * MINUTE_MS, day: 24 * 60 * MINUTE_MS };
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIRST_YEAR = 1970;
const LAST_YEAR = 2199;

/**
 * Parses and checks a schedule expression.
 * @throws InvalidScheduleExpressionError
 */
export function parseScheduleExpression(expression: string): Schedule {
  const trimmed = expression.trim();
  const rate = /^rate\((.*)\)$/.exec(trimmed);
  if (rate) return { kind: 'rate', expression, periodMs: parseRate(expression, rate[1] ?? '') };
  const cron = /^cron\((.*)\)$/.exec(trimmed);
  if (cron) return { kind: 'cron', expression, fields: parseCron(expression, cron[1] ?? '') };
  throw new InvalidScheduleExpressionError(expression, 'it must be rate(value unit) or cron(fields)');
}

/**
 * The first time strictly after `after` at which the schedule fires.
 *
 * A cron fires on whole minutes. A rate has no calendar of its own: it fires every period
 * from `anchor` (on AWS, when the rule was created), the first time one period after it.
 *
 * @param anchor when a rate schedule starts counting; defaults to `after`
 * @returns undefined when a cron never fires again (`cron(0 0 30 2 ? *)`, or a past year)
 * @throws InvalidScheduleExpressionError when given an invalid expression
 */
export function nextFireTime(expression: string | Schedule, after: Date, anchor: Date = after): Date | undefined {
  const schedule = typeof expression === 'string' ? parseScheduleExpression(expression) : expression;
  if (schedule.kind === 'rate') {
    const periods = Math.max(0, Math.floor((after.getTime() - anchor.getTime()) / schedule.periodMs)) + 1;
    return new Date(anchor.getTime() + periods * schedule.periodMs);
  }
  return nextCronTime(schedule.fields, after);
}

function parseRate(expression: string, body: string): number {
  const match = /^(\d+)\s+([a-z]+)$/.exec(body.trim());
  if (!match) throw new InvalidScheduleExpressionError(expression, 'a rate is "rate(value unit)", e.g. rate(5 minutes)');
  const value = Number(match[1]);
  const unit = match[2] ?? '';
  const singular = unit.endsWith('s') ? unit.slice(0, -1) : unit;
  const unitMs = RATE_UNITS[singular];
  if (unitMs === undefined) throw new InvalidScheduleExpressionError(expression, `unknown unit "${unit}": use minute(s), hour(s) or day(s)`);
  if (value < 1) throw new InvalidScheduleExpressionError(expression, 'the value must be a positive whole number');
  // AWS insists on "rate(1 minute)" and "rate(5 minutes)", never the other way round.
  if ((value === 1) !== (singular === unit)) {
    throw new InvalidScheduleExpressionError(expression, value === 1 ? `use the singular "${singular}" for a value of 1` : `use the plural "${singular}s" for a value above 1`);
  }
  return value * unitMs;
}

// ---------------------------------------------------------------------------------------------
// cron

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MINUTES: FieldSpec = { name: 'minutes', min: 0, max: 59 };
const HOURS: FieldSpec = { name: 'hours', min: 0, max: 23 };
const DAYS_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTHS: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTH_NAMES };
const DAYS_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 1, max: 7, names: DAY_NAMES };
const YEARS: FieldSpec = { name: 'year', min: FIRST_YEAR, max: LAST_YEAR };

function parseCron(expression: string, body: string): CronFields {
  const reject = (reason: string): never => {
    throw new InvalidScheduleExpressionError(expression, reason);
  };
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6) reject(`a cron has six fields (minutes hours day-of-month month day-of-week year), found ${parts.length}`);
  const [minutes = '', hours = '', dayOfMonth = '', month = '', dayOfWeek = '', year = ''] = parts;

  // Exactly one of the day fields is "?": AWS will not combine them, nor leave both open.
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    reject('use ? in exactly one of day-of-month and day-of-week');
  }
  try {
    return {
      minutes: parseValues(minutes, MINUTES),
      hours: parseValues(hours, HOURS),
      day: dayOfMonth === '?' ? parseDayOfWeek(dayOfWeek) : parseDayOfMonth(dayOfMonth),
      months: parseValues(month, MONTHS),
      years: parseValues(year, YEARS),
    };
  } catch (error) {
    if (error instanceof FieldError) return reject(error.message);
    throw error;
  }
}

/** A problem in one field; turned into an {@link InvalidScheduleExpressionError} by the caller. */
class FieldError extends Error {}

/** A comma-separated list of `*`, `n`, `a-b`, `*\/s`, `a/s`, `a-b/s`. */
function parseValues(text: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const [range = '', stepText, ...extra] = item.split('/');
    if (extra.length > 0) throw new FieldError(`${spec.name}: "${item}" has more than one /`);
    const step = stepText === undefined ? 1 : parseNumber(stepText, spec, 'step', 1, spec.max - spec.min + 1);
    let low: number;
    let high: number;
    if (range === '*') {
      [low, high] = [spec.min, spec.max];
    } else if (range.includes('-')) {
      const [from = '', to = '', ...more] = range.split('-');
      if (more.length > 0) throw new FieldError(`${spec.name}: "${item}" is not a range`);
      [low, high] = [parseValue(from, spec), parseValue(to, spec)];
      if (low > high) throw new FieldError(`${spec.name}: the range "${range}" runs backwards`);
    } else {
      low = parseValue(range, spec);
      // "5/15" means from 5 to the end of the field, every 15.
      high = stepText === undefined ? low : spec.max;
    }
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

function parseValue(text: string, spec: FieldSpec): number {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + spec.min;
  return parseNumber(text, spec, 'value', spec.min, spec.max);
}

function parseNumber(text: string, spec: FieldSpec, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new FieldError(`${spec.name}: "${text}" is not a valid ${what}`);
  const value = Number(text);
  if (value < min || value > max) throw new FieldError(`${spec.name}: ${what} ${value} is outside ${min}-${max}`);
  return value;
}

type DayTest = (year: number, month: number, day: number) => boolean;

/** Day-of-month: values and ranges, `L` (last day), `LW` (last weekday), `nW` (weekday nearest day n). */
function parseDayOfMonth(text: string): DayTest {
  const tests = text.split(',').map((item): DayTest => {
    if (item === 'L') return (y, m, d) => d === daysInMonth(y, m);
    if (item === 'LW') return (y, m, d) => d === nearestWeekday(y, m, daysInMonth(y, m));
    const weekday = /^(\d+)W$/.exec(item);
    if (weekday) {
      const target = parseNumber(weekday[1] ?? '', DAYS_OF_MONTH, 'value', 1, 31);
      return (y, m, d) => target <= daysInMonth(y, m) && d === nearestWeekday(y, m, target);
    }
    const days = parseValues(item, DAYS_OF_MONTH);
    return (_y, _m, d) => days.has(d);
  });
  return (y, m, d) => tests.some((test) => test(y, m, d));
}

/** Day-of-week (SUN=1 .. SAT=7): values and ranges, `L` (Saturday), `nL` (last n-day of the month), `n#k` (k-th n-day). */
function parseDayOfWeek(text: string): DayTest {
  const items = text.split(',');
  if (items.length > 1 && items.some((item) => item.includes('#'))) {
    throw new FieldError('day-of-week: a # expression must stand alone (e.g. 3#2, not 3#1,6#3)');
  }
  const tests = items.map((item): DayTest => {
    if (item === 'L') return (y, m, d) => weekdayOf(y, m, d) === 7;
    const last = /^(\w+)L$/.exec(item);
    if (last) {
      const weekday = parseValue(last[1] ?? '', DAYS_OF_WEEK);
      return (y, m, d) => weekdayOf(y, m, d) === weekday && d + 7 > daysInMonth(y, m);
    }
    const nth = /^(\w+)#(\d+)$/.exec(item);
    if (nth) {
      const weekday = parseValue(nth[1] ?? '', DAYS_OF_WEEK);
      const occurrence = parseNumber(nth[2] ?? '', DAYS_OF_WEEK, 'occurrence', 1, 5);
      return (y, m, d) => weekdayOf(y, m, d) === weekday && Math.ceil(d / 7) === occurrence;
    }
    const weekdays = parseValues(item, DAYS_OF_WEEK);
    return (y, m, d) => weekdays.has(weekdayOf(y, m, d));
  });
  return (y, m, d) => tests.some((test) => test(y, m, d));
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 1 (Sunday) .. 7 (Saturday), as AWS counts. */
function weekdayOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}

/** The weekday nearest to `day`, never leaving its month (Quartz's `W`, which AWS follows). */
function nearestWeekday(year: number, month: number, day: number): number {
  const weekday = weekdayOf(year, month, day);
  const last = daysInMonth(year, month);
  if (weekday === 7) return day === 1 ? 3 : day - 1;
  if (weekday === 1) return day === last ? day - 2 : day + 1;
  return day;
}

/** Walks forward from the next whole minute, skipping whole years, months, days and hours. */
function nextCronTime(fields: CronFields, after: Date): Date | undefined {
  let t = Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  for (;;) {
    const date = new Date(t);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth() + 1;
    const day = date.getUTCDate();
    if (year > LAST_YEAR) return undefined;
    if (!fields.years.has(year)) {
      t = Date.UTC(year + 1, 0, 1);
    } else if (!fields.months.has(month)) {
      t = Date.UTC(year, month, 1);
    } else if (!fields.day(year, month, day)) {
      t = Date.UTC(year, month - 1, day + 1);
    } else if (!fields.hours.has(date.getUTCHours())) {
      t = Date.UTC(year, month - 1, day, date.getUTCHours() + 1);
    } else if (!fields.minutes.has(date.getUTCMinutes())) {
      t += MINUTE_MS;
    } else {
      return date;
    }
  }
}
