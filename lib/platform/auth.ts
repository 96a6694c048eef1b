import { CfnParameter, Duration } from 'aws-cdk-lib';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AppFunction } from './app-function';
import type { Observability } from './observability';
import { SwitchyardStack } from './stage';

export interface PlatformAuthProps {
  readonly observability: Observability;
  /** The HS256 signing secret; required when the stage's auth mode is `secret`. */
  readonly signingSecret?: ISecret;
}

/**
 * The two JWT authorizers: a TOKEN authorizer for the REST API and a REQUEST authorizer
 * for the WebSocket API's `$connect`. Both verify the same tokens the same way
 * (`#shared/auth/jwt`), configured from the stage:
 * - `secret` mode (non-production): HS256 with a secret CDK generates into Secrets Manager;
 * - `jwks` mode: any OIDC provider's keys. Settings left out of cdk.json become CloudFormation
 *   parameters, so `cdk synth` works from a clean clone while `cdk deploy` refuses to run
 *   without them.
 */
export class PlatformAuth extends Construct {
  readonly requestAuthorizer: AppFunction;
  readonly connectionAuthorizer: AppFunction;

  constructor(scope: Construct, id: string, props: PlatformAuthProps) {
    super(scope, id);
    const { config } = SwitchyardStack.of(this);
    const { auth } = config;

    const environment: Record<string, string> = {
      AUTH_MODE: auth.mode,
      CLAIM_USER: auth.claims.user,
      CLAIM_TENANT: auth.claims.tenant,
      CLAIM_SCOPES: auth.claims.scopes,
    };
    if (auth.mode === 'secret') {
      if (!props.signingSecret) throw new Error('auth mode "secret" needs a signing secret');
      Object.assign(environment, { JWT_ISSUER: auth.issuer, JWT_AUDIENCE: auth.audience, JWT_SECRET_ARN: props.signingSecret.secretArn });
    } else {
      Object.assign(environment, {
        JWKS_URL: this.setting('JwksUrl', auth.jwksUrl, 'HTTPS URL of the identity provider JWKS', '^https://.+'),
        JWT_ISSUER: this.setting('JwtIssuer', auth.issuer, 'Expected iss claim of access tokens', '.+'),
        JWT_AUDIENCE: this.setting('JwtAudience', auth.audience, 'Expected aud claim of access tokens', '.+'),
      });
    }

    const common = { domain: 'platform', environment, timeout: Duration.seconds(5), memorySize: 256 };
    this.requestAuthorizer = new AppFunction(this, 'RequestAuthorizer', {
      ...common,
      entry: 'platform/authorize-request.ts',
      description: 'REST API: verifies the bearer JWT and hands user, tenant and scopes to the route',
    });
    this.connectionAuthorizer = new AppFunction(this, 'ConnectionAuthorizer', {
      ...common,
      entry: 'platform/authorize-connection.ts',
      description: 'WebSocket $connect: verifies the JWT from ?token= or Sec-WebSocket-Protocol',
    });
    props.signingSecret?.grantRead(this.requestAuthorizer);
    props.signingSecret?.grantRead(this.connectionAuthorizer);
    props.observability.monitorFunction(this.requestAuthorizer, 'RequestAuthorizer');
    props.observability.monitorFunction(this.connectionAuthorizer, 'ConnectionAuthorizer');
  }

  /** A value from cdk.json, or else a parameter that `cdk deploy` must be given. */
  private setting(name: string, value: string | undefined, description: string, allowedPattern: string): string {
    if (value) return value;
    return new CfnParameter(SwitchyardStack.of(this), name, { type: 'String', description, allowedPattern }).valueAsString;
  }
}
