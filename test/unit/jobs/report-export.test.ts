import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import type { JobContext } from '../../../functions/jobs/types/job-type';
import type { ReportExportResult } from '../../../functions/jobs/types/report-export';
import type { JobItem } from '../../../functions/jobs/store';
import { useFrozenDate } from '../../support/clock';
import {
  context,
  jobItem,
  loadJobs,
  loadWorker,
  messageOf,
  newJobId,
  newTenant,
  putJobs,
  QUEUES,
  queueArnOf,
  sqsEvent,
  storedJob,
  T0,
  useEvents,
  useJobsTable,
  useS3,
  useSqs,
  type JobItemOverrides,
} from './harness';

const table = useJobsTable();
useSqs();
useEvents();
const s3 = useS3();

useFrozenDate(T0);

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const logger = new Logger({ logLevel: 'SILENT' });
const iso = (at: number) => new Date(at).toISOString();
const HEADER = 'jobId,type,status,priority,groupKey,attempts,maxAttempts,createdAt,startedAt,finishedAt,lastError';

/** The module as a worker instance loads it (after `loadJobs`, so the store reads the test table). */
async function loadExport() {
  const jobs = await loadJobs(table);
  const module = await import('../../../functions/jobs/types/report-export');
  return { jobs, module, type: module.reportExport };
}

type ReportExport = Awaited<ReturnType<typeof loadExport>>['type'];

function contextOf(tenantId: string, overrides: Partial<JobContext> = {}): JobContext {
  return { tenantId, jobId: newJobId(), attempt: 1, signal: new AbortController().signal, reportProgress: vi.fn(async () => undefined), logger, ...overrides };
}

/** One attempt of an export; the payload passes the schema first, as the worker does. */
async function exportOf(type: ReportExport, tenantId: string, raw: unknown = {}, overrides: Partial<JobContext> = {}) {
  const jobContext = contextOf(tenantId, overrides);
  // `run` is typed by its JobType as unknown; the module's own result type says what it returns.
  const result = (await type.run(type.payload.parse(raw), jobContext)) as ReportExportResult;
  const put = s3.puts().at(-1);
  if (!put) throw new Error('nothing was written to S3');
  return { result, context: jobContext, put, csv: put.body, rows: recordsOf(put.body) };
}

/** Jobs of one tenant created a minute apart, the first `count` minutes before now (so the last the newest). */
function minuteApart(tenantId: string, count: number, overrides: (i: number) => JobItemOverrides = () => ({})): JobItem[] {
  return Array.from({ length: count }, (_, i) => jobItem({ tenantId, createdAt: iso(T0 - (count - i) * MINUTE), ...overrides(i) }));
}

const idsNewestFirst = (jobs: readonly JobItem[]) => [...jobs].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((job) => job.jobId);

/**
 * An RFC 4180 reader, strict: every record ends in CRLF, a bare CR or LF or a quote is allowed
 * only inside a quoted field. Written here rather than taken from the module.
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') {
      if (field !== '' || wasQuoted) throw new Error(`a quote inside an unquoted field at ${i}`);
      quoted = wasQuoted = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
      wasQuoted = false;
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      wasQuoted = false;
      i++;
    } else if (c === '\r' || c === '\n') {
      throw new Error(`a bare ${c === '\r' ? 'CR' : 'LF'} outside quotes at ${i}`);
    } else {
      if (wasQuoted) throw new Error(`text after a closing quote at ${i}`);
      field += c;
    }
  }
  if (quoted || field !== '' || record.length > 0) throw new Error('the last record does not end in CRLF');
  return records;
}

/** The data rows as objects keyed by the header's names. */
function recordsOf(csv: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(csv);
  expect(header?.join(',')).toBe(HEADER);
  for (const row of rows) expect(row).toHaveLength(header!.length);
  return rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i]!])));
}

describe('report.export: what it exports', () => {
  it("writes the tenant's jobs only, newest first, one row each in the documented columns, without payloads or results", async () => {
    // Prepare
    const { type } = await loadExport();
    const tenantId = newTenant();
    const queued = jobItem({ tenantId, createdAt: iso(T0 - 3 * MINUTE), payload: { apiKey: 'sk-secret-payload' } });
    const succeeded = jobItem({
      tenantId,
      type: 'webhook.deliver',
      status: 'succeeded',
      priority: 'high',
      groupKey: 'orders',
      attempts: 2,
      maxAttempts: 3,
      createdAt: iso(T0 - 2 * MINUTE),
      startedAt: iso(T0 - 2 * MINUTE + 5 * SECOND),
      finishedAt: iso(T0 - 2 * MINUTE + 9 * SECOND),
      lastError: { message: 'receiver answered 503', at: iso(T0 - 2 * MINUTE + 6 * SECOND), attempt: 1 },
      payload: { url: 'https://hooks.example.com/in', headers: { 'x-token': 'tok-secret-header' } },
      result: { status: 200, token: 'secret-result' },
    });
    const dead = jobItem({ tenantId, status: 'dead', priority: 'low', attempts: 5, createdAt: iso(T0 - MINUTE), finishedAt: iso(T0 - 30 * SECOND), lastError: { message: 'gone', at: iso(T0 - 30 * SECOND), attempt: 5 } });
    const others = minuteApart(newTenant(), 2);
    await putJobs(table, queued, succeeded, dead, ...others);

    // Act
    const { csv, result } = await exportOf(type, tenantId);

    // Assess
    expect(csv).toBe(
      [
        HEADER,
        `${dead.jobId},test.echo,dead,low,,5,5,${dead.createdAt},,${dead.finishedAt},gone`,
        `${succeeded.jobId},webhook.deliver,succeeded,high,orders,2,3,${succeeded.createdAt},${succeeded.startedAt},${succeeded.finishedAt},receiver answered 503`,
        `${queued.jobId},test.echo,queued,normal,,0,5,${queued.createdAt},,,`,
        '',
      ].join('\r\n'),
    );
    expect(csv).not.toMatch(/secret|hooks\.example/);
    for (const other of others) expect(csv).not.toContain(other.jobId);
    expect(result).toMatchObject({ rows: 3, truncated: false });
  });

  it('writes only the header for a tenant with no jobs', async () => {
    // Prepare
    const { type } = await loadExport();

    // Act
    const { csv, result } = await exportOf(type, newTenant());

    // Assess
    expect(csv).toBe(`${HEADER}\r\n`);
    expect(result).toMatchObject({ rows: 0, truncated: false });
  });

  it.each([
    { case: 'status', payload: { status: 'dead' }, matches: (job: JobItem) => job.status === 'dead' },
    { case: 'type', payload: { type: 'webhook.deliver' }, matches: (job: JobItem) => job.type === 'webhook.deliver' },
    { case: 'status and type', payload: { status: 'dead', type: 'webhook.deliver' }, matches: (job: JobItem) => job.status === 'dead' && job.type === 'webhook.deliver' },
  ] as const)('keeps the jobs of the $case asked for', async ({ payload, matches }) => {
    // Prepare
    const { type } = await loadExport();
    const tenantId = newTenant();
    const kinds = [
      { status: 'dead', type: 'webhook.deliver' },
      { status: 'succeeded', type: 'webhook.deliver' },
      { status: 'dead', type: 'test.fail' },
      { status: 'queued', type: 'test.echo' },
      { status: 'dead', type: 'webhook.deliver' },
      { status: 'retrying', type: 'webhook.deliver' },
    ] as const;
    const jobs = minuteApart(tenantId, kinds.length, (i) => kinds[i]!);
    await putJobs(table, ...jobs);

    // Act
    const { rows, result } = await exportOf(type, tenantId, payload);

    // Assess
    const expected = idsNewestFirst(jobs.filter(matches));
    expect(expected.length).toBeGreaterThan(0);
    expect(rows.map((row) => row['jobId'])).toEqual(expected);
    expect(result).toMatchObject({ rows: expected.length, truncated: false });
  });

  it('keeps the jobs created from createdFrom (inclusive) to createdTo (exclusive)', async () => {
    // Prepare: jobs created 6, 5, 4, 3, 2 and 1 minutes ago.
    const { type } = await loadExport();
    const tenantId = newTenant();
    const jobs = minuteApart(tenantId, 6);
    await putJobs(table, ...jobs);

    // Act: from 5 minutes ago to 2 minutes ago, the bounds in another time zone.
    const { rows, result } = await exportOf(type, tenantId, { createdFrom: '2026-11-23T13:55:00+02:00', createdTo: '2026-11-23T11:58:00Z' });
    const open = await exportOf(type, tenantId, { createdFrom: iso(T0 - 3 * MINUTE) });

    // Assess
    expect(rows.map((row) => row['createdAt'])).toEqual([iso(T0 - 3 * MINUTE), iso(T0 - 4 * MINUTE), iso(T0 - 5 * MINUTE)]);
    expect(result).toMatchObject({ rows: 3, truncated: false });
    expect(open.rows.map((row) => row['createdAt'])).toEqual([iso(T0 - MINUTE), iso(T0 - 2 * MINUTE), iso(T0 - 3 * MINUTE)]);
  });

  it('stops reading the history at the first job created before createdFrom', async () => {
    // Prepare: 150 old jobs behind 3 recent ones; a page is 100 jobs.
    const { type, jobs } = await loadExport();
    const tenantId = newTenant();
    const old = Array.from({ length: 150 }, (_, i) => jobItem({ tenantId, createdAt: iso(T0 - DAY - i * SECOND) }));
    const recent = minuteApart(tenantId, 3);
    await putJobs(table, ...old, ...recent);
    const sends = vi.spyOn(jobs.documentClient, 'send');

    // Act
    const { result } = await exportOf(type, tenantId, { createdFrom: iso(T0 - 10 * MINUTE) });

    // Assess
    expect(result).toMatchObject({ rows: 3, truncated: false });
    expect(sends.mock.calls.filter(([command]) => command instanceof QueryCommand)).toHaveLength(1);
  });
});

describe('report.export: maxRows', () => {
  it('writes the newest maxRows jobs and says truncated when more matched', async () => {
    // Prepare
    const { type } = await loadExport();
    const tenantId = newTenant();
    const jobs = minuteApart(tenantId, 5);
    await putJobs(table, ...jobs);

    // Act
    const cut = await exportOf(type, tenantId, { maxRows: 3 });
    const exact = await exportOf(type, tenantId, { maxRows: 5 });

    // Assess
    expect(cut.result).toMatchObject({ rows: 3, truncated: true });
    expect(cut.rows.map((row) => row['jobId'])).toEqual(idsNewestFirst(jobs).slice(0, 3));
    expect(exact.result).toMatchObject({ rows: 5, truncated: false });
    expect(exact.rows.map((row) => row['jobId'])).toEqual(idsNewestFirst(jobs));
  });

  it('reads page after page, reporting progress each tenth of maxRows', async () => {
    // Prepare: 230 jobs, three pages of the history.
    const { type } = await loadExport();
    const tenantId = newTenant();
    const jobs = Array.from({ length: 230 }, (_, i) => jobItem({ tenantId, createdAt: iso(T0 - DAY + i * SECOND) }));
    await putJobs(table, ...jobs);

    // Act
    const all = await exportOf(type, tenantId);
    const cut = await exportOf(type, tenantId, { maxRows: 150 });

    // Assess
    expect(all.result).toMatchObject({ rows: 230, truncated: false });
    expect(all.rows.map((row) => row['jobId'])).toEqual(idsNewestFirst(jobs));
    expect(cut.result).toMatchObject({ rows: 150, truncated: true });
    expect(cut.rows.map((row) => row['jobId'])).toEqual(idsNewestFirst(jobs).slice(0, 150));
    expect(vi.mocked(cut.context.reportProgress).mock.calls.map(([percent]) => percent)).toEqual([9, 18, 27, 36, 45, 54, 63, 72, 81]);
  });
});

describe('report.export: CSV safety', () => {
  it.each([
    { case: 'plain text', value: 'timed out after 30 s', field: 'timed out after 30 s' },
    { case: 'a comma', value: 'a, b', field: '"a, b"' },
    { case: 'quotes', value: 'say "hi"', field: '"say ""hi"""' },
    { case: 'a line feed', value: 'one\ntwo', field: '"one\ntwo"' },
    { case: 'a carriage return', value: 'one\r\ntwo', field: '"one\r\ntwo"' },
    { case: 'a leading =', value: '=HYPERLINK("https://evil.example","x")', field: `"'=HYPERLINK(""https://evil.example"",""x"")"` },
    { case: 'a leading +', value: '+1+cmd', field: "'+1+cmd" },
    { case: 'a leading -', value: '-2+3', field: "'-2+3" },
    { case: 'a leading @', value: '@SUM(A1:A9)', field: "'@SUM(A1:A9)" },
    { case: 'a leading tab', value: '\t=1', field: "'\t=1" },
    { case: 'a leading CR', value: '\r=1', field: `"'\r=1"` },
    { case: 'a formula character inside', value: 'x=1, y=-2', field: '"x=1, y=-2"' },
  ])('writes $case as $field', async ({ value, field }) => {
    // Prepare
    const { module } = await loadExport();

    // Act
    const written = module.csvField(value);

    // Assess
    expect(written).toBe(field);
  });

  it('writes empty fields for null and numbers as they are', async () => {
    // Prepare
    const { module } = await loadExport();

    // Act
    const record = module.csvRecord([null, 0, 12, '']);

    // Assess
    expect(record).toBe(',0,12,');
  });

  it('escapes and defuses crafted error messages and group keys so that a spreadsheet reads them back as the text they were', async () => {
    // Prepare
    const { type } = await loadExport();
    const tenantId = newTenant();
    const messages = ['a, b', 'say "hi"', 'one\r\ntwo\nthree', '=HYPERLINK("https://evil.example","x")', '+1', '-1', '@cmd', '\tTab', '\rCR', 'plain'];
    const jobs = minuteApart(tenantId, messages.length, (i) => ({
      status: 'dead',
      groupKey: i === 0 ? '-cmd|calc' : null,
      lastError: { message: messages[i]!, at: iso(T0), attempt: 1 },
    }));
    await putJobs(table, ...jobs);

    // Act
    const { rows, csv } = await exportOf(type, tenantId);

    // Assess: every row parses into the same columns (parseCsv is strict), each message comes back,
    // with an apostrophe where a spreadsheet would have seen a formula.
    const defused = (text: string) => (/^[=+\-@\t\r]/.test(text) ? `'${text}` : text);
    expect(rows.map((row) => row['lastError'])).toEqual([...messages].reverse().map(defused));
    expect(rows.at(-1)?.['groupKey']).toBe("'-cmd|calc");
    expect(csv).toContain(`,"'=HYPERLINK(""https://evil.example"",""x"")"\r\n`);
    expect(csv).toContain(`,"one\r\ntwo\nthree"\r\n`);
  });

  it('cuts a last error longer than 500 characters', async () => {
    // Prepare
    const { type } = await loadExport();
    const tenantId = newTenant();
    await putJobs(table, jobItem({ tenantId, lastError: { message: 'x'.repeat(2_000), at: iso(T0), attempt: 1 } }));

    // Act
    const { rows } = await exportOf(type, tenantId);

    // Assess
    expect(rows[0]?.['lastError']).toBe(`${'x'.repeat(499)}…`);
  });
});

describe('report.export: the file and its link', () => {
  it('writes the CSV to results/<tenant>/<job>/report.csv as an attachment and returns a link presigned for that key, valid 24 hours', async () => {
    // Prepare
    const { type } = await loadExport();
    const tenantId = newTenant();
    await putJobs(table, ...minuteApart(tenantId, 2));
    const jobId = newJobId();

    // Act
    const { put, result } = await exportOf(type, tenantId, {}, { jobId });

    // Assess
    const key = `results/${tenantId}/${jobId}/report.csv`;
    expect(s3.puts()).toHaveLength(1);
    expect(put).toEqual({
      bucket: 'jobs-results',
      key,
      contentType: 'text/csv; charset=utf-8',
      contentDisposition: `attachment; filename="jobs-${jobId}.csv"`,
      body: expect.stringMatching(/^jobId,/),
    });
    expect(result).toEqual({ key, rows: 2, truncated: false, url: expect.any(String), expiresAt: iso(T0 + DAY) });
    // The SDK addresses the bucket by virtual host: the bucket in the host name, the key in the path.
    const url = new URL(result.url);
    expect(url.protocol).toBe('https:');
    expect(url.host).toBe('jobs-results.s3.us-east-1.amazonaws.com');
    expect(decodeURIComponent(url.pathname)).toBe(`/${key}`);
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('86400');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20261123T120000Z');
    expect(url.searchParams.get('X-Amz-Credential')).toBe('local/20261123/us-east-1/s3/aws4_request');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    // Plain: no checksum parameters a browser could not satisfy (#shared/clients/s3).
    expect([...url.searchParams.keys()].filter((name) => /checksum/i.test(name))).toEqual([]);
  });

  it('stops without writing when the attempt is aborted', async () => {
    // Prepare
    const { type } = await loadExport();
    const tenantId = newTenant();
    await putJobs(table, ...minuteApart(tenantId, 2));
    const controller = new AbortController();
    controller.abort(new Error('timed out after 30 s'));

    // Act
    const outcome = type.run(type.payload.parse({}), contextOf(tenantId, { signal: controller.signal }));

    // Assess
    await expect(outcome).rejects.toThrow('timed out after 30 s');
    expect(s3.puts()).toEqual([]);
  });

  it('fails the attempt when S3 refuses the write', async () => {
    // Prepare
    const { type } = await loadExport();
    const tenantId = newTenant();
    s3.mock.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } }));

    // Act
    const outcome = type.run(type.payload.parse({}), contextOf(tenantId));

    // Assess
    await expect(outcome).rejects.toThrow('Access Denied');
  });
});

describe('report.export: payload', () => {
  it('defaults maxRows to 10000', async () => {
    // Prepare
    const { type } = await loadExport();

    // Act
    const payload = type.payload.parse({});

    // Assess
    expect(payload).toEqual({ maxRows: 10_000 });
  });

  it.each([
    { case: 'an unknown field', payload: { tenant: 'other' }, path: '' },
    { case: 'an unknown status', payload: { status: 'done' }, path: 'status' },
    { case: 'a type that is not a type name', payload: { type: 'Webhook' }, path: 'type' },
    { case: 'a date without a time', payload: { createdFrom: '2026-11-01' }, path: 'createdFrom' },
    { case: 'a date-time without a zone', payload: { createdTo: '2026-11-01T00:00:00' }, path: 'createdTo' },
    { case: 'createdTo before createdFrom', payload: { createdFrom: '2026-11-02T00:00:00Z', createdTo: '2026-11-01T00:00:00Z' }, path: 'createdTo' },
    { case: 'maxRows 0', payload: { maxRows: 0 }, path: 'maxRows' },
    { case: 'maxRows over 100000', payload: { maxRows: 100_001 }, path: 'maxRows' },
    { case: 'a fractional maxRows', payload: { maxRows: 1.5 }, path: 'maxRows' },
  ])('refuses $case', async ({ payload, path }) => {
    // Prepare
    const { type } = await loadExport();

    // Act
    const parsed = type.payload.safeParse(payload);

    // Assess
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toEqual([path]);
  });
});

describe('report.export: run by the worker', () => {
  it('is a registered type: the worker runs it and keeps its result inline in the job record', async () => {
    // Prepare
    await loadJobs(table);
    const worker = await loadWorker();
    const tenantId = newTenant();
    const history = minuteApart(tenantId, 3);
    const job = jobItem({ tenantId, type: 'report.export', payload: { status: 'queued', maxRows: 2 }, createdAt: iso(T0) });
    await putJobs(table, ...history, job);
    const lane = queueArnOf(QUEUES.lane.normal);

    // Act
    const response = await worker.handler(sqsEvent(lane, [{ body: messageOf(job), messageId: randomUUID() }]), context);

    // Assess: the export's own job is queued history too until the worker claims it, so it is not listed.
    expect(response.batchItemFailures).toEqual([]);
    const key = `results/${tenantId}/${job.jobId}/report.csv`;
    const stored = await storedJob(table, job);
    expect(stored).toMatchObject({
      status: 'succeeded',
      resultKey: null,
      result: { key, rows: 2, truncated: true, url: expect.stringContaining(`/${key}?`), expiresAt: iso(T0 + DAY) },
    });
    expect(s3.puts().map((put) => put.key)).toEqual([key]);
    expect(recordsOf(s3.puts()[0]!.body).map((row) => row['jobId'])).toEqual(idsNewestFirst(history).slice(0, 2));
  });
});
