import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadStageConfig } from '../../../lib/config';

const cdkJson = JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8')) as { context: { stages: Record<string, Record<string, unknown>> } };
const stages = cdkJson.context.stages;

/** The real dev stage with some top-level values replaced, under a name of the test's choosing. */
function stagesWith(name: string, changes: Record<string, unknown>, base = stages['dev']!): Record<string, unknown> {
  return { [name]: { ...structuredClone(base), ...changes } };
}

describe('loadStageConfig', () => {
  it('loads the dev stage of cdk.json', () => {
    // Act
    const config = loadStageConfig(stages, 'dev');

    // Assess
    expect(config).toMatchObject({ production: false, removalPolicy: 'destroy', auth: { mode: 'secret' } });
  });

  it('loads the prod stage of cdk.json: JWKS auth, retained data', () => {
    // Act
    const config = loadStageConfig(stages, 'prod');

    // Assess
    expect(config).toMatchObject({ production: true, removalPolicy: 'retain', pointInTimeRecovery: true, auth: { mode: 'jwks' } });
  });

  it('refuses an unknown stage, naming the known ones', () => {
    // Act
    const load = () => loadStageConfig(stages, 'staging');

    // Assess
    expect(load).toThrow('Unknown stage "staging": cdk.json context.stages defines dev, prod');
  });

  it('refuses a stage when no stages are defined', () => {
    // Act
    const load = () => loadStageConfig(undefined, 'dev');

    // Assess
    expect(load).toThrow('defines none');
  });

  it.each(['Prod!', 'PROD', 'p', '1dev', 'a-very-long-stage-name'])('refuses the stage name %s, even when it is defined', (name) => {
    // Prepare
    const defined = stagesWith(name, {});

    // Act
    const load = () => loadStageConfig(defined, name);

    // Assess
    expect(load).toThrow(/lower-case letters, digits and dashes/);
  });

  it('refuses shared-secret auth on a production stage, at auth.mode', () => {
    // Prepare
    const defined = stagesWith('live', { production: true, removalPolicy: 'retain' });

    // Act
    const load = () => loadStageConfig(defined, 'live');

    // Assess
    expect(load).toThrow(/stages\.live\.auth\.mode: a production stage must verify tokens against a JWKS/);
    expect(load).not.toThrow(/removalPolicy/);
  });

  it('refuses a production stage that destroys its data, at removalPolicy', () => {
    // Prepare
    const defined = stagesWith('live', { removalPolicy: 'destroy' }, stages['prod']);

    // Act
    const load = () => loadStageConfig(defined, 'live');

    // Assess
    expect(load).toThrow(/stages\.live\.removalPolicy: a production stage must retain its data/);
    expect(load).not.toThrow(/auth\.mode/);
  });

  it('lets a non-production stage use shared-secret auth and destroy its data', () => {
    // Prepare
    const defined = stagesWith('preview', { production: false, removalPolicy: 'destroy' });

    // Act
    const config = loadStageConfig(defined, 'preview');

    // Assess
    expect(config.removalPolicy).toBe('destroy');
  });

  it('refuses a log retention CloudWatch does not offer, listing the allowed values', () => {
    // Prepare
    const defined = stagesWith('dev', { logRetentionDays: 8 });

    // Act
    const load = () => loadStageConfig(defined, 'dev');

    // Assess
    expect(load).toThrow(/stages\.dev\.logRetentionDays: must be one of 1, 3, 5, 7, 14, 30, .*, 3653/);
  });

  it('refuses rate-limit defaults naming an undefined policy, and a malformed policy, by path', () => {
    // Prepare
    const rateLimits = structuredClone(stages['dev']!['rateLimits']) as { defaults: string[]; policies: Record<string, Record<string, unknown>> };
    const unknownDefault = stagesWith('dev', { rateLimits: { ...rateLimits, defaults: ['user', 'nope'] } });
    const badPolicy = stagesWith('dev', { rateLimits: { ...rateLimits, policies: { ...rateLimits.policies, user: { ...rateLimits.policies['user'], subject: 'moon' } } } });

    // Act + Assess
    expect(() => loadStageConfig(unknownDefault, 'dev')).toThrow(/stages\.dev\.rateLimits\.defaults: names a policy that is not defined/);
    expect(() => loadStageConfig(badPolicy, 'dev')).toThrow(/stages\.dev\.rateLimits\.policies\.user/);
  });

  it('loads the usage plans of cdk.json, with their API keys', () => {
    // Act
    const config = loadStageConfig(stages, 'dev');

    // Assess
    expect(config.api.usagePlans['standard']).toMatchObject({ quota: { period: 'DAY' }, apiKeys: ['dev-backend'] });
  });

  it('refuses an API key named in two usage plans, at api.usagePlans', () => {
    // Prepare
    const api = structuredClone(stages['dev']!['api']) as { usagePlans: Record<string, { apiKeys: string[] }> };
    api.usagePlans['partner'] = { apiKeys: ['partner-backend', 'dev-backend'] };
    const defined = stagesWith('dev', { api });

    // Act
    const load = () => loadStageConfig(defined, 'dev');

    // Assess
    expect(load).toThrow(/stages\.dev\.api\.usagePlans: an API key may be named in one usage plan only/);
  });

  it('lets two usage plans name different API keys', () => {
    // Prepare
    const api = structuredClone(stages['dev']!['api']) as { usagePlans: Record<string, { apiKeys: string[] }> };
    api.usagePlans['partner'] = { apiKeys: ['partner-backend'] };

    // Act
    const config = loadStageConfig(stagesWith('dev', { api }), 'dev');

    // Assess
    expect(Object.keys(config.api.usagePlans)).toEqual(['standard', 'partner']);
  });

  it('refuses a rate-limit service policy (subject key) among the route defaults, at rateLimits.defaults', () => {
    // Prepare
    const rateLimits = structuredClone(stages['dev']!['rateLimits']) as { defaults: string[]; policies: Record<string, { subject: string }> };
    const keyPolicy = Object.keys(rateLimits.policies).find((name) => rateLimits.policies[name]!.subject === 'key')!;
    const defined = stagesWith('dev', { rateLimits: { ...rateLimits, defaults: [...rateLimits.defaults, keyPolicy] } });

    // Act
    const load = () => loadStageConfig(defined, 'dev');

    // Assess
    expect(load).toThrow(/stages\.dev\.rateLimits\.defaults: names a policy with subject "key"/);
  });

  it('refuses a rate-limit service policy (subject key) among the WebSocket defaults, at rateLimits.webSocketDefaults', () => {
    // Prepare
    const rateLimits = structuredClone(stages['dev']!['rateLimits']) as { webSocketDefaults: string[]; policies: Record<string, { subject: string }> };
    const keyPolicy = Object.keys(rateLimits.policies).find((name) => rateLimits.policies[name]!.subject === 'key')!;
    const defined = stagesWith('dev', { rateLimits: { ...rateLimits, webSocketDefaults: [...rateLimits.webSocketDefaults, keyPolicy] } });

    // Act
    const load = () => loadStageConfig(defined, 'dev');

    // Assess
    expect(load).toThrow(/stages\.dev\.rateLimits\.webSocketDefaults: names a policy with subject "key"/);
  });

  it('names every bad value at once, by its path', () => {
    // Prepare
    const dev = structuredClone(stages['dev']!) as { api: { throttle: { burstLimit: unknown } }; corsOrigins: unknown };
    dev.api.throttle.burstLimit = 0;
    dev.corsOrigins = ['not a url'];

    // Act
    const load = () => loadStageConfig({ dev }, 'dev');

    // Assess
    expect(load).toThrow(/stages\.dev\.api\.throttle\.burstLimit: /);
    expect(load).toThrow(/stages\.dev\.corsOrigins\.0: /);
  });

  it('applies the claim defaults when claims are left out', () => {
    // Prepare
    const defined = stagesWith('dev', { auth: { mode: 'secret', issuer: 'https://auth.example.com', audience: 'switchyard' } });

    // Act
    const config = loadStageConfig(defined, 'dev');

    // Assess
    expect(config.auth.claims).toEqual({ user: 'sub', tenant: 'tenant', scopes: 'scope' });
  });

  it('fills in the claims a stage leaves out and keeps the ones it sets', () => {
    // Prepare
    const defined = stagesWith('live', { auth: { mode: 'jwks', claims: { tenant: 'custom:tenant' } } }, stages['prod']);

    // Act
    const config = loadStageConfig(defined, 'live');

    // Assess
    expect(config.auth.claims).toEqual({ user: 'sub', tenant: 'custom:tenant', scopes: 'scope' });
  });

  it('refuses a JWKS URL that is not https', () => {
    // Prepare
    const defined = stagesWith('live', { auth: { mode: 'jwks', jwksUrl: 'http://idp.example.com/.well-known/jwks.json' } }, stages['prod']);

    // Act
    const load = () => loadStageConfig(defined, 'live');

    // Assess
    expect(load).toThrow(/stages\.live\.auth\.jwksUrl: /);
  });
});
