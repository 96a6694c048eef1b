import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';

// ws-default reads its callback URL when it is imported.
vi.hoisted(() => {
  vi.stubEnv('WEBSOCKET_CALLBACK_URL', 'https://ws0987.execute-api.us-east-1.amazonaws.com/dev');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'websocket-test');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
});

import { handler as defaultRoute } from '../../../functions/platform/ws-default';
import { lambdaContext } from '../../support/lambda-context';

const managementApi = mockClient(ApiGatewayManagementApiClient);

const CONNECTION_ID = 'L0SM9cOFvHcCIhw=';
const REQUEST_ID = 'Tp3dKFx0IAMEbJw=';

const context = lambdaContext('switchyard-ws');

function requestContext(routeKey: string) {
  return {
    routeKey,
    messageId: 'TvQ2dd8HIAMCJsQ=',
    eventType: 'MESSAGE' as const,
    extendedRequestId: REQUEST_ID,
    requestTime: '01/Mar/2026:12:00:00 +0000',
    messageDirection: 'IN' as const,
    stage: 'dev',
    connectedAt: 1772366390000,
    requestTimeEpoch: 1772366400000,
    requestId: REQUEST_ID,
    domainName: 'ws0987.execute-api.us-east-1.amazonaws.com',
    connectionId: CONNECTION_ID,
    apiId: 'ws0987',
  };
}

function frame(body: string | undefined): APIGatewayProxyWebsocketEventV2 {
  return { requestContext: requestContext('$default'), ...(body === undefined ? {} : { body }), isBase64Encoded: false };
}

/** The frames posted back, decoded, with the connection each went to. */
function posted(): { connectionId: string | undefined; frame: Record<string, unknown> }[] {
  return managementApi.commandCalls(PostToConnectionCommand).map((call) => ({
    connectionId: call.args[0].input.ConnectionId,
    frame: JSON.parse(Buffer.from(call.args[0].input.Data as Uint8Array).toString('utf8')) as Record<string, unknown>,
  }));
}

beforeEach(() => {
  managementApi.reset();
});

describe('$default route (ws-default handler)', () => {
  it('answers an unknown action with an error frame to the same connection, and 200', async () => {
    // Prepare
    managementApi.on(PostToConnectionCommand).resolves({});

    // Act
    const result = await defaultRoute(frame('{"action":"nope"}'), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(posted()).toEqual([
      { connectionId: CONNECTION_ID, frame: { type: 'error', code: 'unknown-action', message: 'no route for action "nope"', requestId: REQUEST_ID } },
    ]);
  });

  it('posts through the configured callback URL', async () => {
    // Prepare
    managementApi.on(PostToConnectionCommand).resolves({});

    // Act
    await defaultRoute(frame('{"action":"nope"}'), context);

    // Assess
    const client = managementApi.commandCalls(PostToConnectionCommand)[0]?.thisValue as ApiGatewayManagementApiClient;
    const endpoint = await client.config.endpoint?.();
    expect(endpoint).toMatchObject({ protocol: 'https:', hostname: 'ws0987.execute-api.us-east-1.amazonaws.com', path: '/dev' });
  });

  it('answers a JSON object without an action as an unknown action', async () => {
    // Prepare
    managementApi.on(PostToConnectionCommand).resolves({});

    // Act
    await defaultRoute(frame('{"message":"hello"}'), context);

    // Assess
    expect(posted()[0]?.frame).toMatchObject({ code: 'unknown-action', message: 'no route for action null' });
  });

  it.each([
    ['text that is not JSON', 'hello there'],
    ['a JSON array', '[{"action":"nope"}]'],
    ['a JSON string', '"nope"'],
    ['an action that is not a string', '{"action":42}'],
    ['no body at all', undefined],
  ])('answers %s with a malformed-frame error, and 200', async (_, body) => {
    // Prepare
    managementApi.on(PostToConnectionCommand).resolves({});

    // Act
    const result = await defaultRoute(frame(body), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(posted()).toEqual([
      { connectionId: CONNECTION_ID, frame: { type: 'error', code: 'malformed-frame', message: expect.any(String), requestId: REQUEST_ID } },
    ]);
  });

  it('swallows GoneException: the client left, nothing to retry', async () => {
    // Prepare
    managementApi.on(PostToConnectionCommand).rejects(new GoneException({ message: 'connection is gone', $metadata: { httpStatusCode: 410 } }));

    // Act
    const result = await defaultRoute(frame('{"action":"nope"}'), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(managementApi.commandCalls(PostToConnectionCommand)).toHaveLength(1);
  });

  it('rethrows any other error from PostToConnection', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'LimitExceededException' });
    managementApi.on(PostToConnectionCommand).rejects(throttled);

    // Act
    const invoking = defaultRoute(frame('{"action":"nope"}'), context);

    // Assess
    await expect(invoking).rejects.toThrow('Rate exceeded');
  });
});
