import { mintDevelopmentToken } from '#shared/auth/jwt';
import { loadStageConfig } from '../lib/config';
import type { LocalCloud } from '../local/cloud';

/** The `p`th percentile of `values` (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * A token for the dev stage running on `cloud`, signed with the secret the local cloud generated
 * for it (the data stack's `JwtSecretArn` output), valid for an hour.
 */
export function benchToken(cloud: LocalCloud, stages: unknown, who: { readonly userId: string; readonly tenantId: string; readonly scopes?: readonly string[] }): Promise<string> {
  const config = loadStageConfig(stages, 'dev');
  if (config.auth.mode !== 'secret') throw new Error('the dev stage must use secret auth');
  const secretArn = Object.values(cloud.model.outputs).find((o) => o['JwtSecretArn'])?.['JwtSecretArn'];
  const secret = secretArn === undefined ? undefined : cloud.secrets.value(secretArn);
  if (secret === undefined) throw new Error('the local cloud holds no JWT signing secret');
  const { issuer, audience, claims } = config.auth;
  return mintDevelopmentToken({ secret, issuer, audience, claims, ...who, scopes: [...(who.scopes ?? [])], expiresInSeconds: 3600 });
}
