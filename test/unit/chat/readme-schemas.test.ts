import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PingFrameSchema, ReadFrameSchema, SendFrameSchema, ServerFrameSchemas, SyncFrameSchema, TypingFrameSchema } from '../../../functions/chat/frames';

const readme = readFileSync(join(import.meta.dirname, '../../../lib/chat/README.md'), 'utf8');

/** The JSON block under a heading (`#### ack`, `### send`) of lib/chat/README.md. */
function documented(heading: string): unknown {
  const at = readme.indexOf(`\n${heading}\n`);
  expect(at, `no "${heading}" in lib/chat/README.md`).toBeGreaterThan(-1);
  const block = /```json\n([\s\S]*?)\n```/.exec(readme.slice(at));
  return JSON.parse(block![1]!);
}

describe('lib/chat/README.md', () => {
  it.each(Object.keys(ServerFrameSchemas) as (keyof typeof ServerFrameSchemas)[])('documents the %s server frame with the JSON Schema the code checks', (type) => {
    expect(documented(`#### ${type}`)).toEqual(z.toJSONSchema(ServerFrameSchemas[type], { target: 'draft-2020-12' }));
  });

  it.each([
    ['send', SendFrameSchema],
    ['sync', SyncFrameSchema],
    ['typing', TypingFrameSchema],
    ['read', ReadFrameSchema],
    ['ping', PingFrameSchema],
  ] as const)('documents the %s client frame with the JSON Schema the code validates', (action, schema) => {
    expect(documented(`### ${action}`)).toEqual(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }));
  });
});
