import { GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { z } from 'zod';
import { connectionsClient } from '#shared/clients/apigateway-management';
import { readEnv } from '#shared/env';

/**
 * The chat's frames: what clients send (one schema per action) and what the server pushes.
 * lib/chat/README.md documents each as JSON Schema (`npm run -s chat:schemas` prints them).
 */

/** Largest message body, in UTF-8 bytes: a pushed message must fit API Gateway's 32 KB frame with its envelope. */
export const MAX_BODY_BYTES = 16 * 1024;

const ConversationId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 of A-Z, a-z, 0-9, _ and -');
const Seq = z.number().int('must be an integer').nonnegative('must not be negative');

export const SendFrameSchema = z
  .object({
    action: z.literal('send'),
    conversationId: ConversationId,
    clientMessageId: z.string().regex(/^[\x21-\x7e]{1,64}$/, 'must be 1 to 64 printable ASCII characters'),
    body: z
      .string()
      .min(1, 'must not be empty')
      .refine((body) => Buffer.byteLength(body, 'utf8') <= MAX_BODY_BYTES, `must be at most ${MAX_BODY_BYTES} bytes in UTF-8`),
  })
  .strict();

export const SyncFrameSchema = z
  .object({
    action: z.literal('sync'),
    conversationId: ConversationId,
    afterSeq: Seq,
    limit: z.number().int('must be an integer').min(1, 'must be at least 1').max(500, 'must be at most 500').default(100),
  })
  .strict();

export const PingFrameSchema = z.object({ action: z.literal('ping') }).strict();

export const TypingFrameSchema = z.object({ action: z.literal('typing'), conversationId: ConversationId }).strict();

export const ReadFrameSchema = z.object({ action: z.literal('read'), conversationId: ConversationId, seq: Seq }).strict();

const MessageFields = {
  conversationId: z.string(),
  seq: z.number().int().positive(),
  senderId: z.string(),
  clientMessageId: z.string(),
  body: z.string(),
  sentAt: z.iso.datetime(),
};

/** A stored message as it travels (a `message` frame without its `type`). */
export const StoredMessageSchema = z.object(MessageFields);

/**
 * What the server pushes or replies, one schema per `type`: the documentation (lib/chat/README.md
 * prints them as JSON Schema) and the type the handlers build frames with.
 */
export const ServerFrameSchemas = {
  ack: z.object({ type: z.literal('ack'), conversationId: z.string(), clientMessageId: z.string(), seq: z.number().int().positive(), sentAt: z.iso.datetime(), duplicate: z.boolean().optional() }),
  message: z.object({ type: z.literal('message'), ...MessageFields }),
  sync: z.object({ type: z.literal('sync'), conversationId: z.string(), messages: z.array(StoredMessageSchema), lastSeq: z.number().int().nonnegative(), hasMore: z.boolean() }),
  typing: z.object({ type: z.literal('typing'), conversationId: z.string(), userId: z.string(), at: z.iso.datetime() }),
  read: z.object({ type: z.literal('read'), conversationId: z.string(), userId: z.string(), seq: z.number().int().nonnegative() }),
  pong: z.object({ type: z.literal('pong'), at: z.iso.datetime() }),
  error: z.object({
    type: z.literal('error'),
    code: z.string(),
    message: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ field: z.string(), rule: z.string() })).optional(),
    retryAfterSeconds: z.number().int().nonnegative().optional(),
    violatedPolicies: z.array(z.string()).readonly().optional(),
  }),
} as const;

export type ServerFrame = { [K in keyof typeof ServerFrameSchemas]: z.infer<(typeof ServerFrameSchemas)[K]> }[keyof typeof ServerFrameSchemas];

let callbackUrl: string | undefined;

function endpoint(): string {
  callbackUrl ??= readEnv({ WEBSOCKET_CALLBACK_URL: z.url() }).WEBSOCKET_CALLBACK_URL;
  return callbackUrl;
}

/**
 * Posts one frame to one connection.
 * @returns false when the connection is gone (410): the caller prunes it
 */
export async function postFrame(connectionId: string, frame: ServerFrame): Promise<boolean> {
  try {
    await connectionsClient(endpoint()).send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(frame)) }));
    return true;
  } catch (error) {
    if (error instanceof GoneException) return false;
    throw error;
  }
}
