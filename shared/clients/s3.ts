import { S3Client } from '@aws-sdk/client-s3';
import { tracer } from '../powertools';

/**
 * Checksums only where S3 requires them. The SDK's default (`WHEN_SUPPORTED`) adds CRC
 * checksums and aws-chunked encoding to every upload and bakes checksum parameters into
 * presigned URLs, which browsers and curl then cannot satisfy; `WHEN_REQUIRED` keeps
 * presigned URLs plain and works with S3-compatible emulators.
 */
export const s3Client = tracer.captureAWSv3Client(
  new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }),
);
