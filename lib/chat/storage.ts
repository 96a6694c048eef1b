import { AttributeType, ProjectionType, type TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { AppTable } from '../platform/app-table';

/**
 * The chat's table (layout in functions/chat/store.ts): conversations with their members,
 * messages by seq and client message ids; each user's live connections (one item per user);
 * presence. The `byUser` index finds a user's conversations (`conv#...`); TTL (`ttl`) removes
 * connection items after API Gateway's 2-hour limit and stale presence.
 */
export class ChatStorage extends Construct {
  readonly table: TableV2;
  static readonly USER_INDEX = 'byUser';

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new AppTable(this, 'Chat', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      timeToLiveAttribute: 'ttl',
      globalSecondaryIndexes: [
        {
          indexName: ChatStorage.USER_INDEX,
          partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
          sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
          projectionType: ProjectionType.ALL,
        },
      ],
    });
  }
}
