import { AttributeType, ProjectionType, type TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { AppTable } from '../platform/app-table';

/**
 * The shortener's table. One partition per link, keyed by its code (`pk = L#<code>`), since the
 * redirect knows nothing but the code:
 * - `sk = link`: the link, with its tenant; a sparse index (`byTenant`: `gsi1pk = T#<tenant>`,
 *   `gsi1sk = <createdAt>#<code>`) lists a tenant's links newest first;
 * - `sk = stat#...`: click counters (total, per day, referrer, country, agent), humans and bots;
 * - `sk = click#<id>`: one marker per counted click, written in the same transaction as the
 *   counters so a click delivered twice counts once; they expire through TTL (`ttl`).
 */
export class ShortenerStorage extends Construct {
  readonly table: TableV2;
  static readonly TENANT_INDEX = 'byTenant';

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new AppTable(this, 'Links', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      timeToLiveAttribute: 'ttl',
      globalSecondaryIndexes: [
        {
          indexName: ShortenerStorage.TENANT_INDEX,
          partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
          sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
          projectionType: ProjectionType.ALL,
        },
      ],
    });
  }
}
