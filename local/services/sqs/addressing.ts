/**
 * Queue URLs and ARNs in two forms. Clients see AWS's: `<endpoint>/<account>/<name>` and
 * `arn:aws:sqs:<region>:<account>:<name>`, with the local cloud's account. fauxqs keys its
 * queues by a URL of its own making and by an ARN whose account it fixes at `000000000000`
 * (`common/arnHelper.js`, `SqsStore.buildQueueUrl` in fauxqs 1.9), and it looks both up by
 * exact string. These functions translate between the two, and nothing else does.
 */
import type { LocalEnvironment } from '../../model';

/** The only account fauxqs puts in its ARNs and URLs. */
export const FAUXQS_ACCOUNT = '000000000000';

/**
 * The Host every request to fauxqs carries. fauxqs builds a new queue's URL from the Host of
 * the request that created it; a fixed one without a port makes that URL the same whoever
 * asked, so it can be computed instead of remembered.
 */
export const FAUXQS_HOST = 'fauxqs';

/** Translates queue URLs and ARNs between what clients use and what fauxqs keys by. */
export class QueueAddressing {
  private readonly publicArnPrefix: string;
  private readonly internalArnPrefix: string;

  constructor(private readonly env: LocalEnvironment) {
    this.publicArnPrefix = `arn:aws:sqs:${env.region}:${env.account}:`;
    this.internalArnPrefix = `arn:aws:sqs:${env.region}:${FAUXQS_ACCOUNT}:`;
  }

  /** The URL fauxqs gives a queue created through a request with {@link FAUXQS_HOST}. */
  internalUrl(name: string): string {
    return `http://sqs.${this.env.region}.localhost/${FAUXQS_ACCOUNT}/${name}`;
  }

  /** A client's view of a queue: `<base>/<account>/<name>`. */
  publicUrl(base: string, name: string): string {
    return `${base.replace(/\/+$/, '')}/${this.env.account}/${name}`;
  }

  /**
   * The fauxqs URL of a client's queue URL. Only the path counts (`/<account>/<name>`), as the
   * host is whichever endpoint the client reached; a URL of another account, or not shaped
   * like a queue URL, is passed on unchanged so that fauxqs answers `QueueDoesNotExist`.
   */
  toInternalUrl(url: string): string {
    const name = this.nameInPath(url, this.env.account);
    return name === undefined ? url : this.internalUrl(name);
  }

  /** The client's URL of a queue fauxqs named, on the endpoint the client reached (`base`). */
  toPublicUrl(url: string, base: string): string {
    const name = this.nameInPath(url, FAUXQS_ACCOUNT);
    return name === undefined ? url : this.publicUrl(base, name);
  }

  /** fauxqs's ARN of a client's queue ARN; other ARNs (another account or region) pass unchanged. */
  toInternalArn(arn: string): string {
    return arn.startsWith(this.publicArnPrefix) ? this.internalArnPrefix + arn.slice(this.publicArnPrefix.length) : arn;
  }

  /** The client's ARN of a fauxqs queue ARN. */
  toPublicArn(arn: string): string {
    return arn.startsWith(this.internalArnPrefix) ? this.publicArnPrefix + arn.slice(this.internalArnPrefix.length) : arn;
  }

  /**
   * fauxqs names every sender by its own account; the client's view names the local cloud's,
   * as AWS does for a caller signing with the account's own credentials.
   */
  toPublicSenderId(senderId: string): string {
    return senderId === FAUXQS_ACCOUNT ? this.env.account : senderId;
  }

  private nameInPath(url: string, account: string): string | undefined {
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      return undefined;
    }
    const [owner, name, ...rest] = path.split('/').filter(Boolean);
    return owner === account && name && rest.length === 0 ? decodeURIComponent(name) : undefined;
  }
}
