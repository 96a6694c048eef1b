/**
 * S3's errors as the wire shows them: an HTTP status and an `<Error>` document whose `Code`
 * SDKs turn into exception names (`NoSuchKey`, `SignatureDoesNotMatch`, ...).
 */
export class S3Error extends Error {
  constructor(
    /** S3's error code, e.g. `NoSuchKey`. */
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra elements S3 puts in the error document (`Key`, `BucketName`, `StringToSign`, ...). */
    readonly details: Readonly<Record<string, string | number>> = {},
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

export const noSuchBucket = (bucket: string) =>
  new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket });

export const noSuchKey = (key: string) => new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { Key: key });

export const noSuchUpload = (uploadId: string) =>
  new S3Error(
    'NoSuchUpload',
    404,
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );

export const accessDenied = (message = 'Access Denied', details: Record<string, string> = {}) =>
  new S3Error('AccessDenied', 403, message, details);

export const malformedXml = () =>
  new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema');

export const invalidArgument = (message: string, name: string, value: string) =>
  new S3Error('InvalidArgument', 400, message, { ArgumentName: name, ArgumentValue: value });

export const notImplemented = (what: string) =>
  new S3Error('NotImplemented', 501, `${what} is not served by the local S3.`);
