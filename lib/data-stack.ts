import { CfnOutput, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ChatStorage } from './chat/storage';
import { JobsStorage } from './jobs/storage';
import { IdempotencyTable } from './platform/idempotency-table';
import { RateLimiterStorage } from './rate-limiter/storage';
import { ShortenerStorage } from './shortener/storage';
import { SwitchyardStack, type SwitchyardStackProps } from './platform/stage';

/**
 * Everything that holds data: tables, buckets, signing secrets. It changes rarely, is
 * termination-protected in production, and the service stack only references it, so no
 * deploy of code can replace or delete what is stored here.
 */
export class DataStack extends SwitchyardStack {
  readonly idempotency: IdempotencyTable;
  readonly rateLimits: RateLimiterStorage;
  readonly shortener: ShortenerStorage;
  readonly chat: ChatStorage;
  readonly jobs: JobsStorage;
  /** The HS256 signing secret, in stages whose auth mode is `secret`. */
  readonly signingSecret?: Secret;

  constructor(scope: Construct, id: string, props: SwitchyardStackProps) {
    super(scope, id, { terminationProtection: props.config.production, ...props });
    this.idempotency = new IdempotencyTable(this, 'Idempotency');
    this.rateLimits = new RateLimiterStorage(this, 'RateLimits');
    this.shortener = new ShortenerStorage(this, 'Shortener');
    this.chat = new ChatStorage(this, 'Chat');
    this.jobs = new JobsStorage(this, 'Jobs');

    if (this.config.auth.mode === 'secret') {
      this.signingSecret = new Secret(this, 'JwtSigningSecret', {
        description: `Switchyard ${this.stage}: HS256 key for development tokens (npm run token)`,
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy: this.removalPolicy,
      });
      Validations.of(this.signingSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'Development-stage token key (production verifies against a JWKS). Rotate by changing the secret value; authorizers re-read it within 5 minutes.',
      });
      new CfnOutput(this, 'JwtSecretArn', {
        value: this.signingSecret.secretArn,
        description: 'Give it to `npm run token -- --secret-id <arn>` to mint development tokens',
      });
    }
  }
}
