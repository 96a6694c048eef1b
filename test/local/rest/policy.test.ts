import { describe, expect, it } from 'vitest';
import { evaluatePolicy, parsePolicyDocument } from '../../../local/gateway/rest/policy';

const STAGE = 'arn:aws:execute-api:us-east-1:000000000000:a1b2c3d4e5/dev';

const statements = (...list: unknown[]) => parsePolicyDocument({ Version: '2012-10-17', Statement: list })!;

describe('authorizer policy evaluation', () => {
  it.each([
    ['the stage wildcard, on the root resource', `${STAGE}/*/*`, `${STAGE}/GET/`],
    ['the stage wildcard, on a deep path', `${STAGE}/*/*`, `${STAGE}/DELETE/jobs/42/attempts/3`],
    ['a method wildcard', `${STAGE}/GET/*`, `${STAGE}/GET/links/abc`],
    ['a single-character wildcard', `${STAGE}/GET/links/???`, `${STAGE}/GET/links/abc`],
    ['a bare star', '*', `${STAGE}/POST/links`],
  ])('allows through %s', (_, resource, methodArn) => {
    // Prepare
    const policy = statements({ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: resource });

    // Act
    const decision = evaluatePolicy(policy, methodArn);

    // Assess
    expect(decision).toBe('allow');
  });

  it.each([
    ['another method', `${STAGE}/GET/links`, `${STAGE}/POST/links`],
    ['another stage', 'arn:aws:execute-api:us-east-1:000000000000:a1b2c3d4e5/prod/*/*', `${STAGE}/GET/links`],
    ['a longer path than a literal resource', `${STAGE}/GET/links`, `${STAGE}/GET/links/abc`],
  ])('implicitly denies %s', (_, resource, methodArn) => {
    // Prepare
    const policy = statements({ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: resource });

    // Act
    const decision = evaluatePolicy(policy, methodArn);

    // Assess
    expect(decision).toBe('implicit-deny');
  });

  it('lets a Deny win over an Allow', () => {
    // Prepare
    const policy = statements(
      { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${STAGE}/*/*` },
      { Effect: 'Deny', Action: ['execute-api:Invoke'], Resource: [`${STAGE}/DELETE/*`] },
    );

    // Act
    const get = evaluatePolicy(policy, `${STAGE}/GET/jobs/1`);
    const remove = evaluatePolicy(policy, `${STAGE}/DELETE/jobs/1`);

    // Assess
    expect([get, remove]).toEqual(['allow', 'explicit-deny']);
  });

  it('matches actions without regard to case and with wildcards, and ignores other actions', () => {
    // Prepare
    const wildcard = statements({ Effect: 'Allow', Action: 'execute-api:*', Resource: '*' });
    const lowerCase = statements({ Effect: 'Allow', Action: 'execute-api:invoke', Resource: '*' });
    const other = statements({ Effect: 'Allow', Action: 'execute-api:ManageConnections', Resource: '*' });

    // Act
    const decisions = [wildcard, lowerCase, other].map((p) => evaluatePolicy(p, `${STAGE}/GET/links`));

    // Assess
    expect(decisions).toEqual(['allow', 'allow', 'implicit-deny']);
  });

  it('honours NotResource and NotAction', () => {
    // Prepare
    const policy = statements(
      { Effect: 'Allow', Action: 'execute-api:Invoke', NotResource: `${STAGE}/*/admin/*` },
      { Effect: 'Deny', NotAction: 'execute-api:Invoke', Resource: '*' },
    );

    // Act
    const links = evaluatePolicy(policy, `${STAGE}/GET/links`);
    const admin = evaluatePolicy(policy, `${STAGE}/GET/admin/users`);

    // Assess
    expect([links, admin]).toEqual(['allow', 'implicit-deny']);
  });

  it('takes a single statement object as well as a list', () => {
    // Prepare
    const policy = parsePolicyDocument({ Statement: { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: '*' } })!;

    // Act
    const decision = evaluatePolicy(policy, `${STAGE}/GET/links`);

    // Assess
    expect(decision).toBe('allow');
  });

  it.each([
    ['no document', undefined],
    ['no Statement', { Version: '2012-10-17' }],
    ['an unknown Effect', { Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] }],
    ['a statement without a resource', { Statement: [{ Effect: 'Allow', Action: '*' }] }],
    ['a resource that is not a string', { Statement: [{ Effect: 'Allow', Action: '*', Resource: 42 }] }],
  ])('refuses a policy with %s', (_, document) => {
    // Prepare: the document above

    // Act
    const parsed = parsePolicyDocument(document);

    // Assess
    expect(parsed).toBeUndefined();
  });
});
