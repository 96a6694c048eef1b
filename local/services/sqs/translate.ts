/**
 * Rewrites the fields of SQS JSON requests and answers that hold queue URLs, queue ARNs or the
 * account, between the clients' form and fauxqs's (see `addressing.ts`). Only those fields are
 * touched: message bodies and attributes pass byte for byte, so their MD5s still hold.
 */
import type { QueueAddressing } from './addressing';

type Json = Record<string, unknown>;

/** A request as fauxqs must see it. */
export function toInternalRequest(body: Json, addressing: QueueAddressing): Json {
  const out: Json = { ...body };
  if (typeof out['QueueUrl'] === 'string') out['QueueUrl'] = addressing.toInternalUrl(out['QueueUrl']);
  // CreateQueue and SetQueueAttributes name dead-letter queues and their sources by ARN.
  if (isRecord(out['Attributes'])) out['Attributes'] = mapRedriveArns(out['Attributes'], (arn) => addressing.toInternalArn(arn));
  return out;
}

/** fauxqs's answer as the client must see it; `base` is the endpoint the client reached. */
export function toPublicResponse(body: Json, addressing: QueueAddressing, base: string): Json {
  const out: Json = { ...body };
  const toPublicUrl = (url: unknown) => (typeof url === 'string' ? addressing.toPublicUrl(url, base) : url);
  if ('QueueUrl' in out) out['QueueUrl'] = toPublicUrl(out['QueueUrl']);
  if (Array.isArray(out['QueueUrls'])) out['QueueUrls'] = out['QueueUrls'].map(toPublicUrl);
  if (isRecord(out['Attributes'])) {
    const attributes = mapRedriveArns(out['Attributes'], (arn) => addressing.toPublicArn(arn));
    if (typeof attributes['QueueArn'] === 'string') attributes['QueueArn'] = addressing.toPublicArn(attributes['QueueArn']);
    out['Attributes'] = attributes;
  }
  if (Array.isArray(out['Messages'])) {
    out['Messages'] = out['Messages'].map((message: unknown) => {
      if (!isRecord(message) || !isRecord(message['Attributes']) || typeof message['Attributes']['SenderId'] !== 'string') return message;
      return { ...message, Attributes: { ...message['Attributes'], SenderId: addressing.toPublicSenderId(message['Attributes']['SenderId']) } };
    });
  }
  return out;
}

/** Queue attributes with the ARNs inside `RedrivePolicy` and `RedriveAllowPolicy` mapped. */
function mapRedriveArns(attributes: Json, map: (arn: string) => string): Json {
  const out: Json = { ...attributes };
  const redrive = parseJson(out['RedrivePolicy']);
  if (redrive && typeof redrive['deadLetterTargetArn'] === 'string') {
    out['RedrivePolicy'] = JSON.stringify({ ...redrive, deadLetterTargetArn: map(redrive['deadLetterTargetArn']) });
  }
  const allow = parseJson(out['RedriveAllowPolicy']);
  if (allow && Array.isArray(allow['sourceQueueArns'])) {
    const sources = allow['sourceQueueArns'].map((arn: unknown) => (typeof arn === 'string' ? map(arn) : arn));
    out['RedriveAllowPolicy'] = JSON.stringify({ ...allow, sourceQueueArns: sources });
  }
  return out;
}

/** A policy attribute's JSON text as an object; anything else is left for fauxqs to judge. */
function parseJson(value: unknown): Json | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
