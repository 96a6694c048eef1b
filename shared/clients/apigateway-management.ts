import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { tracer } from '../powertools';

const clients = new Map<string, ApiGatewayManagementApiClient>();

/**
 * The @connections client for one WebSocket stage endpoint
 * (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`). One per endpoint, kept
 * for the life of the container like every other client.
 */
export function connectionsClient(endpoint: string): ApiGatewayManagementApiClient {
  let client = clients.get(endpoint);
  if (!client) {
    client = tracer.captureAWSv3Client(new ApiGatewayManagementApiClient({ endpoint }));
    clients.set(endpoint, client);
  }
  return client;
}
