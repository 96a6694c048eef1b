/**
 * Multipart uploads in progress, held in memory: an upload started before a restart is gone
 * after it, like one aborted by a lifecycle rule.
 */
import { randomBytes } from 'node:crypto';
import { noSuchUpload } from './errors';
import type { ObjectDescription } from './object-headers';

export interface UploadedPart {
  readonly partNumber: number;
  /** Quoted md5 of the part. */
  readonly etag: string;
  readonly size: number;
  readonly body: Buffer;
  readonly lastModified: Date;
}

export interface MultipartUpload {
  readonly uploadId: string;
  readonly bucket: string;
  readonly key: string;
  readonly initiated: Date;
  /** What CreateMultipartUpload said about the object; the object gets it on completion. */
  readonly description: ObjectDescription;
  readonly parts: Map<number, UploadedPart>;
}

export class MultipartUploads {
  private readonly uploads = new Map<string, MultipartUpload>();

  start(bucket: string, key: string, description: ObjectDescription, initiated: Date): MultipartUpload {
    const upload: MultipartUpload = { uploadId: randomBytes(24).toString('base64url'), bucket, key, initiated, description, parts: new Map() };
    this.uploads.set(upload.uploadId, upload);
    return upload;
  }

  /** @throws S3Error NoSuchUpload when the id is unknown or belongs to another object */
  get(bucket: string, key: string, uploadId: string): MultipartUpload {
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key) throw noSuchUpload(uploadId);
    return upload;
  }

  finish(uploadId: string): void {
    this.uploads.delete(uploadId);
  }

  /** Uploads in progress in a bucket, by key then start time. */
  inBucket(bucket: string): MultipartUpload[] {
    return [...this.uploads.values()]
      .filter((upload) => upload.bucket === bucket)
      .sort((a, b) => (a.key === b.key ? a.initiated.getTime() - b.initiated.getTime() : a.key < b.key ? -1 : 1));
  }
}
