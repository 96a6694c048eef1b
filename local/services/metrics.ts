/** One value a metric received, and when (the EMF document's timestamp). */
export interface MetricValue {
  readonly value: number;
  readonly timestamp: string;
}

/** A metric's series: everything one namespace, name and set of dimension values received. */
export interface MetricSeries {
  readonly namespace: string;
  readonly name: string;
  /** Dimension name → value, as CloudWatch keys the series. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** The unit of the latest value (`Count`, `Milliseconds`, ...; `None` when not given). */
  readonly unit: string;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  /** The latest values, oldest first (at most the store's `maxValuesPerSeries`). */
  readonly values?: readonly MetricValue[];
}

/** Which series a query returns; a series may have dimensions beyond those named. */
export interface MetricFilter {
  readonly namespace?: string;
  readonly name?: string;
  readonly dimensions?: Readonly<Record<string, string>>;
  /** Whether each series lists its values. @default true */
  readonly values?: boolean;
}

/** Values of one metric, as `PutMetricData` or an EMF document gives them. */
export interface MetricDatum {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions?: Readonly<Record<string, string>>;
  readonly unit?: string;
  readonly values: readonly number[];
  /** @default now */
  readonly timestamp?: Date;
}

interface Series {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  unit: string;
  count: number;
  sum: number;
  min: number;
  max: number;
  values: MetricValue[];
}

/**
 * CloudWatch metrics, kept in memory: what functions publish as Embedded Metric Format lines
 * (Powertools Metrics), by series. Count, sum, min and max cover every value; the values
 * themselves are kept up to a bound, so a long session does not grow without end.
 */
export class MetricStore {
  private readonly series = new Map<string, Series>();
  private readonly maxValuesPerSeries: number;

  constructor(options: { maxValuesPerSeries?: number } = {}) {
    this.maxValuesPerSeries = options.maxValuesPerSeries ?? 1000;
  }

  /** Records the values of one series. */
  put(datum: MetricDatum): void {
    const dimensions = Object.fromEntries(Object.entries(datum.dimensions ?? {}).sort(([a], [b]) => compare(a, b)));
    const key = JSON.stringify([datum.namespace, datum.name, dimensions]);
    const series = this.series.get(key) ?? { namespace: datum.namespace, name: datum.name, dimensions, unit: 'None', count: 0, sum: 0, min: Infinity, max: -Infinity, values: [] };
    this.series.set(key, series);
    series.unit = datum.unit ?? 'None';
    const timestamp = (datum.timestamp ?? new Date()).toISOString();
    for (const value of datum.values) {
      series.count += 1;
      series.sum += value;
      series.min = Math.min(series.min, value);
      series.max = Math.max(series.max, value);
      series.values.push({ value, timestamp });
    }
    if (series.values.length > this.maxValuesPerSeries) series.values.splice(0, series.values.length - this.maxValuesPerSeries);
  }

  /**
   * Records the metrics of one line a function printed, if it is an EMF document.
   * @returns how many values it recorded (0 for any other line)
   */
  ingestLine(line: string): number {
    // Most lines are logs: only a line that names `_aws` is worth parsing.
    if (!line.includes('"_aws"')) return 0;
    let document: unknown;
    try {
      document = JSON.parse(line.trim());
    } catch {
      return 0;
    }
    return document && typeof document === 'object' && !Array.isArray(document) ? this.ingest(document as Record<string, unknown>) : 0;
  }

  /**
   * Records the metrics of one EMF document: every metric of every directive, once per
   * dimension set, its values (a number or an array of numbers) and dimension values taken from
   * the document's top level, as CloudWatch Logs extracts them.
   * @returns how many values it recorded
   */
  ingest(document: Readonly<Record<string, unknown>>): number {
    const aws = document['_aws'];
    if (!aws || typeof aws !== 'object') return 0;
    const { Timestamp, CloudWatchMetrics } = aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown };
    if (!Array.isArray(CloudWatchMetrics)) return 0;
    const timestamp = typeof Timestamp === 'number' && Number.isFinite(Timestamp) ? new Date(Timestamp) : new Date();
    let recorded = 0;
    for (const directive of CloudWatchMetrics as unknown[]) {
      if (!directive || typeof directive !== 'object') continue;
      const { Namespace, Dimensions, Metrics } = directive as { Namespace?: unknown; Dimensions?: unknown; Metrics?: unknown };
      if (typeof Namespace !== 'string' || !Array.isArray(Metrics)) continue;
      const dimensionSets = dimensionSetsOf(Dimensions, document);
      for (const metric of Metrics as unknown[]) {
        const { Name, Unit } = (metric ?? {}) as { Name?: unknown; Unit?: unknown };
        if (typeof Name !== 'string') continue;
        const raw = document[Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
        if (!values.length) continue;
        for (const dimensions of dimensionSets) {
          this.put({ namespace: Namespace, name: Name, dimensions, ...(typeof Unit === 'string' ? { unit: Unit } : {}), values, timestamp });
          recorded += values.length;
        }
      }
    }
    return recorded;
  }

  /** The series that pass the filter, by namespace, name, then dimensions (fewest first). */
  query(filter: MetricFilter = {}): MetricSeries[] {
    const wanted = Object.entries(filter.dimensions ?? {});
    return [...this.series.values()]
      .filter((s) => (filter.namespace === undefined || s.namespace === filter.namespace) && (filter.name === undefined || s.name === filter.name))
      .filter((s) => wanted.every(([name, value]) => s.dimensions[name] === value))
      .map((s) => ({
        namespace: s.namespace,
        name: s.name,
        dimensions: s.dimensions,
        unit: s.unit,
        count: s.count,
        sum: s.sum,
        min: s.min,
        max: s.max,
        ...(filter.values === false ? {} : { values: [...s.values] }),
      }))
      .sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name) || Object.keys(a.dimensions).length - Object.keys(b.dimensions).length || compare(JSON.stringify(a.dimensions), JSON.stringify(b.dimensions)));
  }

  reset(): void {
    this.series.clear();
  }
}

/** Code-unit order: the same on every machine, whatever its locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The dimension values of each dimension set a directive names. No set (or an empty one) is
 * the series without dimensions; a set naming a key the document lacks, or whose value is not
 * a string, breaks the EMF specification and is skipped.
 */
function dimensionSetsOf(declared: unknown, document: Readonly<Record<string, unknown>>): Record<string, string>[] {
  if (!Array.isArray(declared) || declared.length === 0) return [{}];
  const sets: Record<string, string>[] = [];
  for (const set of declared as unknown[]) {
    if (!Array.isArray(set)) continue;
    const entries = set.map((name) => [name, document[name as string]] as const);
    if (entries.every(([name, value]) => typeof name === 'string' && typeof value === 'string')) sets.push(Object.fromEntries(entries) as Record<string, string>);
  }
  return sets;
}
