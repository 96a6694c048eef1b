import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { z } from 'zod';
import { s3Client } from '#shared/clients/s3';
import { getJobRoute } from '#shared/contracts/jobs';
import { readEnv } from '#shared/env';
import { NotFoundError } from '#shared/errors';
import { httpHandler } from '#shared/http/handler';
import { readJob, toJob } from './store';

/** How long a large result's download link works. */
const RESULT_URL_SECONDS = 3600;

let bucket: string | undefined;

/** GET /v1/jobs/{jobId}: the job as it is now (strongly consistent), with a download link for a large result. */
export const handler = httpHandler(getJobRoute, async ({ params, principal }) => {
  const item = await readJob(principal.tenantId, params.jobId);
  if (!item) throw new NotFoundError(`no job ${params.jobId}`);
  let resultUrl: string | null = null;
  if (item.resultKey) {
    bucket ??= readEnv({ JOBS_RESULTS_BUCKET: z.string().min(1) }).JOBS_RESULTS_BUCKET;
    resultUrl = await getSignedUrl(s3Client, new GetObjectCommand({ Bucket: bucket, Key: item.resultKey }), { expiresIn: RESULT_URL_SECONDS });
  }
  return { status: 200, body: toJob(item, resultUrl) };
});
