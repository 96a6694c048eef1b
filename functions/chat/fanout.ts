import { setTimeout as sleep } from 'node:timers/promises';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger, metrics } from '#shared/powertools';
import { postFrame, type ServerFrame } from './frames';
import { advancePushed, connectionsOf, deleteConnection, readMessages, readPushed, type ChatMessage, type Conversation, type MemberConnection } from './store';

/** Posts in flight at once, per message. */
const POST_CONCURRENCY = 8;
/** How long a message waits for its predecessor's fan-out before taking it over. */
const BATON_WAIT_MS = 3_000;

export interface FanoutResult {
  readonly delivered: number;
  readonly pruned: number;
}

/**
 * Pushes stored messages to every connection of every member, in seq order for every connection,
 * though several instances store messages of one conversation at once.
 *
 * The order comes from a baton on the conversation, `pushedSeq`: the message with seq `n` is
 * pushed only once `pushedSeq` is `n - 1`, and then moves it to `n`. An instance that saw the
 * baton stand still for `BATON_WAIT_MS` (its predecessor crashed or hangs; a long line of live
 * predecessors keeps it moving) takes over: it pushes every message from `pushedSeq + 1` to its
 * own, in order, from the table. A taken-over message may then reach a client twice (its first
 * instance may still push it), never out of order; clients drop a seq they have seen.
 */
export async function fanOut(
  conversation: Conversation,
  message: ChatMessage,
  now: () => number = Date.now,
  held?: { readonly batonSince?: number | undefined; readonly connections?: readonly MemberConnection[] | undefined },
): Promise<FanoutResult> {
  const { tenantId, conversationId } = conversation;
  // The sequencer found `pushedSeq = seq - 1` at the commit: the baton is this instance's, and no
  // successor can take it over before it has waited BATON_WAIT_MS, which starts after that commit.
  // Well within that, push without reading the baton (to the connections the caller read, if any).
  if (held?.batonSince !== undefined && now() - held.batonSince < BATON_WAIT_MS / 2) return pushAndHandOn(conversation, [message], now, held.connections);
  let deadline = now() + BATON_WAIT_MS;
  let seen = -1;
  for (let wait = 5; ; wait = Math.min(50, wait * 2)) {
    const pushed = await readPushed(tenantId, conversationId);
    if (pushed >= message.seq) return { delivered: 0, pruned: 0 };
    // A predecessor that pushes is alive, however long the line ahead is: only a baton that stops
    // moving for BATON_WAIT_MS is taken over.
    if (pushed !== seen) {
      seen = pushed;
      deadline = now() + BATON_WAIT_MS;
    }
    if (pushed === message.seq - 1) return pushAndHandOn(conversation, [message], now);
    if (now() >= deadline) {
      metrics.addMetric('FanoutTakeovers', MetricUnit.Count, 1);
      logger.warn('fan-out baton taken over', { conversationId, pushedSeq: pushed, seq: message.seq });
      const missed = await readMessages(tenantId, conversationId, { afterSeq: pushed, limit: message.seq - pushed });
      return pushAndHandOn(conversation, missed, now);
    }
    await sleep(wait);
  }
}

/**
 * Pushes messages (consecutive seqs, in order), then moves the baton to the last of them. Never
 * further: were a read of the table ever to come back short, the messages it missed are pushed by
 * the next takeover instead of being marked pushed.
 */
export async function pushAndHandOn(
  conversation: Conversation,
  messages: readonly ChatMessage[],
  now: () => number = Date.now,
  connections?: readonly MemberConnection[],
): Promise<FanoutResult> {
  const result = await pushToMembers(conversation, messages, now, connections);
  const last = messages.at(-1);
  if (last) await advancePushed(conversation.tenantId, conversation.conversationId, last.seq);
  return result;
}

/**
 * Pushes one frame that is not part of the message order (typing, read receipts) to every live
 * connection of the members but `except`.
 */
export function pushEphemeral(conversation: Conversation, frame: ServerFrame, except?: string, now: () => number = Date.now): Promise<FanoutResult> {
  return pushFrames(conversation, [frame], except, now);
}

/**
 * Pushes messages, in order, to every live connection of the conversation's members (read now,
 * unless the caller read them already).
 */
export function pushToMembers(conversation: Conversation, messages: readonly ChatMessage[], now: () => number = Date.now, connections?: readonly MemberConnection[]): Promise<FanoutResult> {
  return pushFrames(conversation, messages.map((message) => ({ type: 'message', ...message })), undefined, now, connections);
}

/** Posts frames, in order, to the members' live connections (but `except`); prunes the gone ones. */
async function pushFrames(conversation: Conversation, frames: readonly ServerFrame[], except: string | undefined, now: () => number, known?: readonly MemberConnection[]): Promise<FanoutResult> {
  const connections = (known ?? (await connectionsOf(conversation.tenantId, conversation.memberIds, now()))).filter((c) => c.connectionId !== except);
  let delivered = 0;
  const gone = new Set<MemberConnection>();
  for (const frame of frames) {
    const targets = connections.filter((c) => !gone.has(c));
    for (let i = 0; i < targets.length; i += POST_CONCURRENCY) {
      await Promise.all(
        targets.slice(i, i + POST_CONCURRENCY).map(async (connection) => {
          if (await postWithRetry(connection.connectionId, frame)) delivered++;
          else gone.add(connection);
        }),
      );
    }
  }
  // A 410 means the socket is gone for good ($disconnect is best effort): forget it now.
  await Promise.all([...gone].map((c) => deleteConnection(conversation.tenantId, c.userId, c.connectionId)));
  if (gone.size) {
    metrics.addMetric('ConnectionsPruned', MetricUnit.Count, gone.size);
    logger.info('gone connections pruned', { conversationId: conversation.conversationId, connectionIds: [...gone].map((c) => c.connectionId) });
  }
  return { delivered, pruned: gone.size };
}

/** One post, retried with backoff on anything but a 410; after 3 tries the connection misses it (it can `sync`). */
async function postWithRetry(connectionId: string, frame: ServerFrame): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await postFrame(connectionId, frame);
    } catch (error) {
      if (attempt >= 3) {
        logger.warn('push failed; the client will catch up with sync', { connectionId, error: error as Error });
        metrics.addMetric('PushFailures', MetricUnit.Count, 1);
        return true;
      }
      await sleep(20 * 2 ** attempt);
    }
  }
}
