import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { z } from 'zod';
import { s3Client } from '#shared/clients/s3';
import { JobStatusSchema } from '#shared/contracts/jobs';
import { readEnv } from '#shared/env';
import { listJobs, type JobItem } from '../store';
import { defineJobType } from './job-type';

/**
 * `report.export`: the tenant's job history as a CSV file in the results bucket, and a presigned
 * link to download it.
 *
 * The file holds what a job's record says of its life (ids, type, status, attempts, times, the
 * last error's message), never its payload or result: those may hold secrets. A re-attempt writes
 * the same key again, so a retried export leaves one file.
 */

/** The most rows an export may ask for. */
export const MAX_REPORT_ROWS = 100_000;
/** Rows when the payload names no `maxRows`. */
export const DEFAULT_REPORT_ROWS = 10_000;
/** Jobs read per query of the tenant's history. */
export const REPORT_PAGE_SIZE = 100;
/** How long the download link is signed for: 24 hours. */
export const REPORT_URL_SECONDS = 24 * 60 * 60;
/**
 * Of a job's last error message: longer ones are cut (with `…`). Error messages come from job code
 * and receivers and have no bound of their own; this one keeps a row near 300 bytes, and so the
 * whole file within what the worker holds in memory.
 */
export const MAX_ERROR_CHARS = 500;

/** The same rule as submission's `type`: `webhook.deliver`, `report.export`, ... */
const JobTypeName = z.string().regex(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)+$/, 'must be a job type name such as webhook.deliver');
const DateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' });

export const ReportExportPayloadSchema = z
  .object({
    status: JobStatusSchema.optional().meta({ description: 'Only jobs of this status.' }),
    type: JobTypeName.optional().meta({ description: 'Only jobs of this type.' }),
    createdFrom: DateTime.optional().meta({ description: 'Only jobs created at or after this instant.' }),
    createdTo: DateTime.optional().meta({ description: 'Only jobs created before this instant.' }),
    maxRows: z
      .number()
      .int('must be an integer')
      .min(1, 'must be at least 1')
      .max(MAX_REPORT_ROWS, `must be at most ${MAX_REPORT_ROWS}`)
      .default(DEFAULT_REPORT_ROWS)
      .meta({ description: `Rows at most (newest first); the result says whether more matched. Default ${DEFAULT_REPORT_ROWS}.` }),
  })
  .strict()
  .superRefine((payload, ctx) => {
    if (payload.createdFrom !== undefined && payload.createdTo !== undefined && Date.parse(payload.createdFrom) > Date.parse(payload.createdTo)) {
      ctx.addIssue({ code: 'custom', path: ['createdTo'], message: 'must not be before createdFrom' });
    }
  });
export type ReportExportPayload = z.output<typeof ReportExportPayloadSchema>;

export interface ReportExportResult {
  /** The file's key in the results bucket: `results/<tenant>/<job>/report.csv`. */
  readonly key: string;
  /** Data rows written (the header not counted). */
  readonly rows: number;
  /** True when more jobs matched than `maxRows`: the file holds the newest `maxRows` of them. */
  readonly truncated: boolean;
  /** A presigned GET of the file. */
  readonly url: string;
  /** When the URL's signature runs out (it may stop working sooner: see {@link reportExport}). */
  readonly expiresAt: string;
}

type Field = string | number | null;

/** The file's columns, in order, and what each takes from a job record. */
const COLUMNS: readonly (readonly [name: string, value: (job: JobItem) => Field])[] = [
  ['jobId', (job) => job.jobId],
  ['type', (job) => job.type],
  ['status', (job) => job.status],
  ['priority', (job) => job.priority],
  ['groupKey', (job) => job.groupKey ?? null],
  ['attempts', (job) => job.attempts],
  ['maxAttempts', (job) => job.maxAttempts],
  ['createdAt', (job) => job.createdAt],
  ['startedAt', (job) => job.startedAt ?? null],
  ['finishedAt', (job) => job.finishedAt ?? null],
  ['lastError', (job) => (job.lastError ? clipped(job.lastError.message, MAX_ERROR_CHARS) : null)],
];

/** The header row's names, in order. */
export const REPORT_COLUMNS: readonly string[] = COLUMNS.map(([name]) => name);

/** What a spreadsheet may read as the start of a formula (OWASP's CSV injection list). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** What RFC 4180 allows in a field only within quotes. */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV field: text that a spreadsheet would take for a formula gets a leading apostrophe (it
 * then shows as text, the apostrophe hidden), and a field holding a comma, a quote, CR or LF is
 * quoted, its quotes doubled (RFC 4180). `null` is the empty field. Numbers are ours, never
 * defused.
 */
export function csvField(value: Field): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, without its line end. */
export function csvRecord(fields: readonly Field[]): string {
  return fields.map(csvField).join(',');
}

/** The job's row, in {@link REPORT_COLUMNS} order. */
export function reportRow(job: JobItem): string {
  return csvRecord(COLUMNS.map(([, value]) => value(job)));
}

let bucket: string | undefined;

function resultsBucket(): string {
  bucket ??= readEnv({ JOBS_RESULTS_BUCKET: z.string().min(1) }).JOBS_RESULTS_BUCKET;
  return bucket;
}

/**
 * The registered type. One attempt:
 * 1. reads the tenant's jobs newest first, {@link REPORT_PAGE_SIZE} a query (of one status, on its
 *    index, and one type when asked), skipping those created at or after `createdTo` and stopping
 *    at the first created before `createdFrom`, or at `maxRows` (reading on to one more match, so
 *    that `truncated` is exact);
 * 2. writes the CSV (UTF-8, header row, CRLF line ends) to `results/<tenant>/<job>/report.csv`
 *    in `JOBS_RESULTS_BUCKET`, as an attachment named `jobs-<job>.csv`;
 * 3. returns `{ key, rows, truncated, url, expiresAt }`, kept inline in the job record.
 *
 * The file is built in memory: at most {@link MAX_REPORT_ROWS} rows of about 300 bytes (the last
 * error is cut at {@link MAX_ERROR_CHARS} characters) is about 30 MB, which the workers' 512 MB
 * hold with room to spare; streaming (a multipart upload) would be needed only for larger limits.
 *
 * Progress (up to 90 %, the rest at the end) is reported each tenth of `maxRows` written: a
 * narrow filter finds fewer rows and jumps from low to done. The attempt's signal is checked
 * before each query and passed to the upload.
 *
 * The URL is signed for {@link REPORT_URL_SECONDS} (24 hours), but a URL works only while the
 * credentials that signed it do: signed with a Lambda role's temporary credentials, it stops
 * working when their session ends, which may be sooner. `expiresAt` is the signature's end, an
 * upper bound. The signer must be allowed `s3:GetObject` on the key at the time of download.
 *
 * The history is read from the table's indexes, which are eventually consistent: a job changed
 * within the last second or so may show its previous state. This export's own job is listed, as
 * `running`.
 */
export const reportExport = defineJobType({
  name: 'report.export',
  payload: ReportExportPayloadSchema,
  description:
    "Writes the tenant's job history (no payloads or results; filtered by status, type and creation time; at most `maxRows`, default 10,000) as CSV to the results bucket and returns a download URL valid up to 24 h.",

  async run(payload, context): Promise<ReportExportResult> {
    const key = `results/${context.tenantId}/${context.jobId}/report.csv`;
    const lines = [csvRecord(REPORT_COLUMNS)];
    const progressStep = Math.max(1, Math.ceil(payload.maxRows / 10));
    let rows = 0;
    let truncated = false;

    for await (const job of jobsCreatedWithin(context.tenantId, payload, context.signal)) {
      if (rows === payload.maxRows) {
        truncated = true;
        break;
      }
      lines.push(reportRow(job));
      rows++;
      if (rows % progressStep === 0 && rows < payload.maxRows) await context.reportProgress(Math.floor((rows * 90) / payload.maxRows));
    }

    await s3Client.send(
      new PutObjectCommand({
        Bucket: resultsBucket(),
        Key: key,
        Body: `${lines.join('\r\n')}\r\n`,
        ContentType: 'text/csv; charset=utf-8',
        ContentDisposition: `attachment; filename="jobs-${context.jobId}.csv"`,
      }),
      { abortSignal: context.signal },
    );
    const signedAt = Date.now();
    const url = await getSignedUrl(s3Client, new GetObjectCommand({ Bucket: resultsBucket(), Key: key }), {
      expiresIn: REPORT_URL_SECONDS,
      signingDate: new Date(signedAt),
    });
    context.logger.info('report exported', { key, rows, truncated });
    return { key, rows, truncated, url, expiresAt: new Date(signedAt + REPORT_URL_SECONDS * 1000).toISOString() };
  },
});

/**
 * The tenant's jobs matching the payload's status, type and creation range, newest first. Pages
 * come newest first, so the first job created before `createdFrom` ends the reading.
 */
async function* jobsCreatedWithin(tenantId: string, payload: ReportExportPayload, signal: AbortSignal): AsyncGenerator<JobItem> {
  const from = payload.createdFrom === undefined ? -Infinity : Date.parse(payload.createdFrom);
  const to = payload.createdTo === undefined ? Infinity : Date.parse(payload.createdTo);
  let cursor: string | undefined;
  do {
    signal.throwIfAborted();
    const page = await listJobs(tenantId, { status: payload.status, type: payload.type, limit: REPORT_PAGE_SIZE, cursor });
    for (const job of page.items) {
      const createdAt = Date.parse(job.createdAt);
      if (createdAt < from) return;
      if (createdAt < to) yield job;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

/** At most `max` characters, the cut marked with `…`, never inside a surrogate pair. */
function clipped(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
