import { describe, expect, it } from 'vitest';
import { FrameSizeGuard } from '../../../local/gateway/websocket/frame-guard';

/** A masked client frame (RFC 6455 §5.2) with a payload of `length` bytes. */
function clientFrame(length: number, opcode = 0x1, fin = true): Buffer {
  const extension = length < 126 ? Buffer.alloc(0) : length < 65_536 ? Buffer.alloc(2) : Buffer.alloc(8);
  if (extension.length === 2) extension.writeUInt16BE(length);
  if (extension.length === 8) extension.writeBigUInt64BE(BigInt(length));
  const length7 = length < 126 ? length : length < 65_536 ? 126 : 127;
  const head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | length7]);
  return Buffer.concat([head, extension, Buffer.from([1, 2, 3, 4]), Buffer.alloc(length, 0x61)]);
}

describe('FrameSizeGuard', () => {
  it('lets frames up to the limit through, whatever their length encoding', () => {
    // Prepare
    const guard = new FrameSizeGuard(70_000);
    const stream = Buffer.concat([clientFrame(0), clientFrame(125), clientFrame(126), clientFrame(65_535), clientFrame(70_000)]);

    // Act
    const oversized = guard.inspect(stream);

    // Assess
    expect(oversized).toBeUndefined();
  });

  it('reports a frame over the limit from its header, before its payload arrives', () => {
    // Prepare
    const guard = new FrameSizeGuard(1024);
    const header = clientFrame(1025).subarray(0, 8);

    // Act
    const oversized = guard.inspect(header);

    // Assess
    expect(oversized).toBe(1025);
  });

  it('finds an oversized frame after others when the stream arrives one byte at a time', () => {
    // Prepare
    const guard = new FrameSizeGuard(1024);
    const stream = Buffer.concat([clientFrame(1000, 0x1, false), clientFrame(1024, 0x0, false), clientFrame(300_000, 0x0)]);
    let oversized: number | undefined;

    // Act
    for (let at = 0; at < stream.length && oversized === undefined; at += 1) oversized = guard.inspect(stream.subarray(at, at + 1));

    // Assess
    expect(oversized).toBe(300_000);
  });
});
