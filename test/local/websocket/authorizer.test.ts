import { describe, expect, it } from 'vitest';
import { evaluateAuthorizerResult, missingIdentitySource } from '../../../local/gateway/websocket/authorizer';
import type { Handshake } from '../../../local/gateway/websocket/handshake';

const METHOD_ARN = 'arn:aws:execute-api:us-east-1:000000000000:ws0987abcd/dev/$connect';

function policy(effect: 'Allow' | 'Deny', resource: string | string[], action: string | string[] = 'execute-api:Invoke') {
  return { principalId: 'alice', policyDocument: { Version: '2012-10-17', Statement: [{ Action: action, Effect: effect, Resource: resource }] } };
}

describe('evaluateAuthorizerResult', () => {
  it('allows with the context as strings and the principalId', () => {
    // Prepare
    const result = { ...policy('Allow', METHOD_ARN), context: { tenantId: 'acme', quota: 5, admin: true } };

    // Act
    const decision = evaluateAuthorizerResult(result, METHOD_ARN);

    // Assess
    expect(decision).toEqual({ kind: 'allow', authorizer: { tenantId: 'acme', quota: '5', admin: 'true', principalId: 'alice' } });
  });

  it('allows through IAM wildcards in the resource and the action', () => {
    // Prepare
    const result = policy('Allow', 'arn:aws:execute-api:us-east-1:000000000000:ws0987abcd/*', 'execute-api:*');

    // Act
    const decision = evaluateAuthorizerResult(result, METHOD_ARN);

    // Assess
    expect(decision.kind).toBe('allow');
  });

  it('refuses with 403 when the Allow is for another resource', () => {
    // Prepare
    const result = policy('Allow', 'arn:aws:execute-api:us-east-1:000000000000:other/dev/$connect');

    // Act
    const decision = evaluateAuthorizerResult(result, METHOD_ARN);

    // Assess
    expect(decision).toMatchObject({ kind: 'refuse', statusCode: 403 });
  });

  it('refuses with 403 when a Deny matches, even next to an Allow', () => {
    // Prepare
    const allow = policy('Allow', '*');
    const result = {
      ...allow,
      policyDocument: { ...allow.policyDocument, Statement: [...allow.policyDocument.Statement, { Action: '*', Effect: 'Deny', Resource: [METHOD_ARN] }] },
    };

    // Act
    const decision = evaluateAuthorizerResult(result, METHOD_ARN);

    // Assess
    expect(decision).toMatchObject({ kind: 'refuse', statusCode: 403 });
  });

  it.each([
    ['no policy object', null],
    ['no principalId', { policyDocument: policy('Allow', '*').policyDocument }],
    ['no policyDocument', { principalId: 'alice' }],
    ['an object in the context', { ...policy('Allow', '*'), context: { nested: { a: 1 } } }],
    ['a result over 8 KB', { ...policy('Allow', '*'), context: { padding: 'x'.repeat(8 * 1024) } }],
  ])('refuses with 500 for %s', (_case, result) => {
    // Prepare, Act
    const decision = evaluateAuthorizerResult(result, METHOD_ARN);

    // Assess
    expect(decision).toMatchObject({ kind: 'refuse', statusCode: 500 });
  });
});

describe('missingIdentitySource', () => {
  const handshake: Handshake = {
    headers: { Authorization: 'Bearer x' },
    multiValueHeaders: { Authorization: ['Bearer x'] },
    queryStringParameters: { token: 't' },
    multiValueQueryStringParameters: { token: ['t'] },
    sourceIp: '127.0.0.1',
  };

  it('finds headers case-insensitively and query parameters exactly', () => {
    // Prepare, Act
    const missing = missingIdentitySource(['route.request.header.authorization', 'route.request.querystring.token'], handshake);

    // Assess
    expect(missing).toBeUndefined();
  });

  it('names the first source the handshake lacks', () => {
    // Prepare, Act
    const missing = missingIdentitySource(['route.request.header.Authorization', 'route.request.header.X-Api-Key'], handshake);

    // Assess
    expect(missing).toBe('route.request.header.X-Api-Key');
  });
});
