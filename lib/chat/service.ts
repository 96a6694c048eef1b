import { Duration, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { addMembersRoute, createConversationRoute, getPresenceRoute, listConversationsRoute, listMessagesRoute, removeMemberRoute } from '#shared/contracts/chat';
import { AppFunction } from '../platform/app-function';
import type { IdempotencyTable } from '../platform/idempotency-table';
import type { Observability } from '../platform/observability';
import type { PlatformRestApi } from '../platform/rest-api';
import { SwitchyardStack } from '../platform/stage';
import type { PlatformWebSocketApi } from '../platform/websocket-api';
import { ChatStorage } from './storage';

export interface ChatServiceProps {
  readonly restApi: PlatformRestApi;
  readonly webSocketApi: PlatformWebSocketApi;
  readonly storage: ChatStorage;
  readonly idempotency: IdempotencyTable;
  readonly observability: Observability;
  /** The WebSocket API's `$connect` and `$disconnect` handlers, made by `ChatService.connectionHandlers`. */
  readonly connections: { readonly connect: AppFunction; readonly disconnect: AppFunction };
}

/**
 * Chat over the platform's WebSocket API: the connection registry (`$connect`, `$disconnect`),
 * the actions `send`, `sync`, `typing`, `read` and `ping`, and the REST routes. Each function gets only the table
 * actions it uses.
 */
export class ChatService extends Construct {
  /**
   * The connection registry's handlers, which the WebSocket API needs before it exists.
   * Grants are made when the service is built.
   */
  static connectionHandlers(scope: Construct, storage: ChatStorage): { connect: AppFunction; disconnect: AppFunction } {
    const environment = { CHAT_TABLE_NAME: storage.table.tableName };
    return {
      connect: new AppFunction(scope, 'ChatConnect', { domain: 'chat', entry: 'chat/connect.ts', description: 'WebSocket $connect: records the connection', environment, memorySize: 256 }),
      disconnect: new AppFunction(scope, 'ChatDisconnect', { domain: 'chat', entry: 'chat/disconnect.ts', description: 'WebSocket $disconnect: forgets the connection', environment, memorySize: 256 }),
    };
  }

  constructor(scope: Construct, id: string, props: ChatServiceProps) {
    super(scope, id);
    const { restApi, webSocketApi, storage, connections, idempotency, observability } = props;
    const { config } = SwitchyardStack.of(this);
    const { table } = storage;
    const environment = {
      CHAT_TABLE_NAME: table.tableName,
      CHAT_MAX_GROUP_SIZE: String(config.chat.maxGroupSize),
      PRESENCE_WINDOW_SECONDS: String(config.chat.presenceWindowSeconds),
      CHAT_QUEUE_FANOUT_ABOVE: String(config.chat.queueFanoutAboveMembers),
    };
    const grant = (fn: IFunction, actions: readonly string[], index = false) =>
      fn.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [index ? `${table.tableArn}/index/${ChatStorage.USER_INDEX}` : table.tableArn] }));
    const fn = (name: string, entry: string, description: string) => new AppFunction(this, name, { domain: 'chat', entry: `chat/${entry}`, description, environment });

    grant(connections.connect, ['dynamodb:UpdateItem']);
    grant(connections.disconnect, ['dynamodb:UpdateItem']);

    const send = fn('ChatSend', 'send.ts', 'WebSocket send: sequences, stores and fans out a message');
    grant(send, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:BatchGetItem']);
    webSocketApi.addRoute('send', send, 'ChatSend');

    // Large conversations fan out through a FIFO queue, one conversation (message group) at a time.
    const deadLetters = new Queue(this, 'FanoutDeadLetterQueue', {
      fifo: true,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(deadLetters).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the chat fan-out queue; it is alarmed on any message.' });
    const fanoutQueue = new Queue(this, 'FanoutQueue', {
      fifo: true,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the consumer's timeout, as AWS advises for event source mappings.
      visibilityTimeout: Duration.seconds(60),
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 },
    });
    observability.monitorQueue(fanoutQueue, deadLetters, 'ChatFanout');
    fanoutQueue.grantSendMessages(send);
    send.addEnvironment('CHAT_FANOUT_QUEUE_URL', fanoutQueue.queueUrl);

    const deliver = fn('ChatDeliver', 'deliver.ts', 'Fans out messages of large conversations from the FIFO queue, in seq order');
    grant(deliver, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchGetItem']);
    webSocketApi.grantManageConnections(deliver);
    idempotency.bindIdempotency(deliver);
    deliver.addEventSource(new SqsEventSource(fanoutQueue, { batchSize: 10, reportBatchItemFailures: true }));
    observability.monitorFunction(deliver, 'ChatDeliver');

    const sync = fn('ChatSync', 'sync.ts', 'WebSocket sync: the messages after a seq');
    grant(sync, ['dynamodb:GetItem', 'dynamodb:Query']);
    webSocketApi.addRoute('sync', sync, 'ChatSync');

    const typing = fn('ChatTyping', 'typing.ts', 'WebSocket typing: pushed, not stored');
    grant(typing, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem']);
    webSocketApi.addRoute('typing', typing, 'ChatTyping');

    const read = fn('ChatRead', 'read.ts', 'WebSocket read: stores and pushes a read receipt');
    grant(read, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem']);
    webSocketApi.addRoute('read', read, 'ChatRead');

    const ping = fn('ChatPing', 'ping.ts', 'WebSocket ping: refreshes presence');
    grant(ping, ['dynamodb:PutItem']);
    webSocketApi.addRoute('ping', ping, 'ChatPing');

    const create = fn('CreateConversation', 'create-conversation.ts', 'POST /v1/conversations');
    grant(create, ['dynamodb:PutItem']);
    restApi.addRoute(createConversationRoute, create);

    const conversations = fn('ListConversations', 'list-conversations.ts', 'GET /v1/conversations');
    grant(conversations, ['dynamodb:BatchGetItem']);
    grant(conversations, ['dynamodb:Query'], true);
    restApi.addRoute(listConversationsRoute, conversations);

    const add = fn('AddMembers', 'add-members.ts', 'POST /v1/conversations/{id}/members');
    grant(add, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem']);
    restApi.addRoute(addMembersRoute, add);

    const remove = fn('RemoveMember', 'remove-member.ts', 'DELETE /v1/conversations/{id}/members/{userId}');
    grant(remove, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']);
    restApi.addRoute(removeMemberRoute, remove);

    const presence = fn('GetPresence', 'get-presence.ts', 'GET /v1/presence');
    grant(presence, ['dynamodb:BatchGetItem']);
    restApi.addRoute(getPresenceRoute, presence);

    const list = fn('ListMessages', 'list-messages.ts', 'GET /v1/conversations/{id}/messages');
    grant(list, ['dynamodb:GetItem', 'dynamodb:Query']);
    restApi.addRoute(listMessagesRoute, list);
  }
}
