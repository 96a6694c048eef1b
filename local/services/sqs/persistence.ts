/**
 * Messages kept across restarts: a JSON snapshot of every queue's messages, written when local
 * SQS stops and put back into the model's queues when it starts. fauxqs keeps everything in
 * memory and has no API that sends a message with its id, timestamps and receive count, so this
 * works on its store directly, through what its types declare: `SqsStore.listQueues` and
 * `getQueueByName`, `SqsQueue.inspectMessages` (the snapshot behind its own `inspectQueue`),
 * `SqsQueue.enqueue`, and the FIFO `SqsQueue.sequenceCounter` field.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { FauxqsSqsStore } from './fauxqs';

type FauxqsQueue = NonNullable<ReturnType<FauxqsSqsStore['getQueueByName']>>;
type FauxqsMessage = FauxqsQueue['messages'][number];

const SavedMessageSchema = z.object({
  messageId: z.string(),
  body: z.string(),
  md5OfBody: z.string(),
  messageAttributes: z.record(z.string(), z.object({ DataType: z.string(), StringValue: z.string().optional(), BinaryValue: z.string().optional() })),
  md5OfMessageAttributes: z.string(),
  sentTimestamp: z.number(),
  approximateReceiveCount: z.number().int().nonnegative(),
  approximateFirstReceiveTimestamp: z.number().optional(),
  /** When a delayed message becomes visible, on the clock of the run that saved it. */
  delayUntil: z.number().optional(),
  messageGroupId: z.string().optional(),
  messageDeduplicationId: z.string().optional(),
  sequenceNumber: z.string().optional(),
});

const SavedQueueSchema = z.object({
  /** The last FIFO sequence number handed out, so that new messages still sort after the kept ones. */
  sequenceCounter: z.number().int().nonnegative(),
  /** In the order they are to be enqueued again (see {@link messagesInRestoreOrder}). */
  messages: z.array(SavedMessageSchema),
});

const SnapshotSchema = z.object({
  version: z.literal(1),
  savedAt: z.number(),
  queues: z.record(z.string(), SavedQueueSchema),
});

type SavedMessage = z.infer<typeof SavedMessageSchema>;
type Snapshot = z.infer<typeof SnapshotSchema>;

/**
 * Writes every queue's messages (ready, delayed and in flight) to `stateFile`, through a
 * temporary file renamed over it, so that a stop cut short leaves the previous snapshot whole.
 * Empty queues are written too: what was consumed must not come back.
 */
export async function saveMessages(store: FauxqsSqsStore, stateFile: string): Promise<void> {
  const snapshot: Snapshot = {
    version: 1,
    savedAt: Date.now(),
    queues: Object.fromEntries(
      store.listQueues().map((queue) => [queue.name, { sequenceCounter: queue.sequenceCounter, messages: messagesInRestoreOrder(queue).map(toSaved) }]),
    ),
  };
  await mkdir(dirname(stateFile), { recursive: true });
  const temporary = `${stateFile}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporary, JSON.stringify(snapshot));
    await rename(temporary, stateFile);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Puts the messages saved in `stateFile` back into the store's queues, which must be freshly
 * created (empty). No file is a first run. An unreadable or malformed file, and saved queues the
 * store does not have (gone from the model), are told to `warn` and skipped.
 */
export async function restoreMessages(store: FauxqsSqsStore, stateFile: string, warn: (message: string) => void): Promise<void> {
  const snapshot = await readSnapshot(stateFile, warn);
  if (!snapshot) return;
  const now = Date.now();
  for (const [name, saved] of Object.entries(snapshot.queues)) {
    const queue = store.getQueueByName(name);
    if (!queue) {
      if (saved.messages.length > 0) warn(`SQS state: queue ${name} is no longer in the model; its ${saved.messages.length} saved message(s) are dropped`);
      continue;
    }
    queue.sequenceCounter = Math.max(queue.sequenceCounter, saved.sequenceCounter);
    for (const message of saved.messages) queue.enqueue(toMessage(message, snapshot.savedAt, now));
  }
}

/**
 * The queue's messages in the order that, enqueued one by one, rebuilds it. In-flight messages
 * come back visible, as if their visibility timeout had passed while the cloud was down (the
 * consumers that held them are gone): where fauxqs itself would put them when that timeout
 * passes, at the head of their group in a FIFO queue (they were received before the group's
 * ready messages), at the back of a standard one. Delayed messages go last; `enqueue` keeps
 * them aside until their delay is over, then appends them to their group.
 */
function messagesInRestoreOrder(queue: FauxqsQueue): FauxqsMessage[] {
  const { ready, delayed, inflight } = queue.inspectMessages();
  const returning = inflight.map((entry) => entry.message);
  const visible = queue.isFifo() ? [...returning, ...ready] : [...ready, ...returning];
  return [...visible, ...delayed];
}

function toSaved(message: FauxqsMessage): SavedMessage {
  return {
    messageId: message.messageId,
    body: message.body,
    md5OfBody: message.md5OfBody,
    messageAttributes: message.messageAttributes,
    md5OfMessageAttributes: message.md5OfMessageAttributes,
    sentTimestamp: message.sentTimestamp,
    approximateReceiveCount: message.approximateReceiveCount,
    approximateFirstReceiveTimestamp: message.approximateFirstReceiveTimestamp,
    delayUntil: message.delayUntil,
    messageGroupId: message.messageGroupId,
    messageDeduplicationId: message.messageDeduplicationId,
    sequenceNumber: message.sequenceNumber,
  };
}

/** A saved message as fauxqs holds it; a delay still running at `savedAt` keeps what was left of it. */
function toMessage(saved: SavedMessage, savedAt: number, now: number): FauxqsMessage {
  const { delayUntil, ...rest } = saved;
  return { ...rest, delayUntil: delayUntil !== undefined && delayUntil > savedAt ? now + (delayUntil - savedAt) : delayUntil };
}

async function readSnapshot(stateFile: string, warn: (message: string) => void): Promise<Snapshot | undefined> {
  let text: string;
  try {
    text = await readFile(stateFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    warn(`SQS state in ${stateFile} could not be read (${(error as Error).message}); queues start empty`);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    warn(`SQS state in ${stateFile} is not JSON (${(error as Error).message}); queues start empty and it is replaced when local SQS stops`);
    return undefined;
  }
  const parsed = SnapshotSchema.safeParse(json);
  if (!parsed.success) {
    warn(`SQS state in ${stateFile} is not a snapshot this version reads (${z.prettifyError(parsed.error)}); queues start empty and it is replaced when local SQS stops`);
    return undefined;
  }
  return parsed.data;
}
