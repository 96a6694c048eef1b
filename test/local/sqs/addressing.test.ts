import { describe, expect, it } from 'vitest';
import { QueueAddressing } from '../../../local/services/sqs/addressing';
import { toInternalRequest, toPublicResponse } from '../../../local/services/sqs/translate';
import { ENV } from './support';

const addressing = new QueueAddressing(ENV);
const internalUrl = 'http://sqs.eu-west-1.localhost/000000000000/jobs.fifo';
const internalArn = 'arn:aws:sqs:eu-west-1:000000000000:jobs.fifo';
const publicArn = 'arn:aws:sqs:eu-west-1:123456789012:jobs.fifo';

describe('queue URLs', () => {
  it('maps a client URL on any host to the fauxqs URL by its account and name', () => {
    // Prepare
    const urls = ['http://127.0.0.1:4566/123456789012/jobs.fifo', 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo'];

    // Act
    const mapped = urls.map((url) => addressing.toInternalUrl(url));

    // Assess
    expect(mapped).toEqual([internalUrl, internalUrl]);
  });

  it('passes on a URL of another account, or not shaped as a queue URL, for fauxqs to refuse', () => {
    // Prepare
    const urls = ['http://127.0.0.1:4566/999999999999/jobs.fifo', 'http://127.0.0.1:4566/123456789012/jobs.fifo/extra', 'jobs.fifo'];

    // Act
    const mapped = urls.map((url) => addressing.toInternalUrl(url));

    // Assess
    expect(mapped).toEqual(urls);
  });

  it('gives a fauxqs URL back on the endpoint the client reached, with the cloud account', () => {
    // Act
    const url = addressing.toPublicUrl(internalUrl, 'http://127.0.0.1:4566');

    // Assess
    expect(url).toBe('http://127.0.0.1:4566/123456789012/jobs.fifo');
  });
});

describe('queue ARNs', () => {
  it('swaps the account both ways and leaves ARNs of other accounts and regions alone', () => {
    // Prepare
    const foreign = ['arn:aws:sqs:us-east-1:123456789012:jobs.fifo', 'arn:aws:sqs:eu-west-1:999999999999:jobs.fifo'];

    // Act
    const inward = [publicArn, ...foreign].map((arn) => addressing.toInternalArn(arn));
    const outward = addressing.toPublicArn(internalArn);

    // Assess
    expect(inward).toEqual([internalArn, ...foreign]);
    expect(outward).toBe(publicArn);
  });
});

describe('request and answer translation', () => {
  it('rewrites the queue URL and the ARNs of redrive policies in a request', () => {
    // Prepare
    const request = {
      QueueUrl: 'http://127.0.0.1:4566/123456789012/work',
      Attributes: {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: publicArn, maxReceiveCount: 3 }),
        RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [publicArn] }),
        VisibilityTimeout: '30',
      },
    };

    // Act
    const translated = toInternalRequest(request, addressing);

    // Assess
    expect(translated).toEqual({
      QueueUrl: 'http://sqs.eu-west-1.localhost/000000000000/work',
      Attributes: {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: internalArn, maxReceiveCount: 3 }),
        RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [internalArn] }),
        VisibilityTimeout: '30',
      },
    });
  });

  it('rewrites URLs, ARNs and the sender in an answer, and never a message body', () => {
    // Prepare
    const answer = {
      QueueUrls: [internalUrl],
      Attributes: { QueueArn: internalArn, RedrivePolicy: JSON.stringify({ deadLetterTargetArn: internalArn, maxReceiveCount: 3 }) },
      Messages: [{ Body: `${internalUrl} ${internalArn}`, Attributes: { SenderId: '000000000000', SentTimestamp: '1' } }],
    };

    // Act
    const translated = toPublicResponse(answer, addressing, 'http://127.0.0.1:4566');

    // Assess
    expect(translated).toEqual({
      QueueUrls: ['http://127.0.0.1:4566/123456789012/jobs.fifo'],
      Attributes: { QueueArn: publicArn, RedrivePolicy: JSON.stringify({ deadLetterTargetArn: publicArn, maxReceiveCount: 3 }) },
      Messages: [{ Body: `${internalUrl} ${internalArn}`, Attributes: { SenderId: '123456789012', SentTimestamp: '1' } }],
    });
  });
});
