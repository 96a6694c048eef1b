/**
 * Watches the raw bytes a client sends for a frame larger than API Gateway's frame quota
 * (32 KB). `ws` only enforces one limit, on the whole message, so frames are measured here,
 * from their headers (RFC 6455 §5.2), before `ws` parses them. Payload bytes are skipped, not
 * copied.
 */
export class FrameSizeGuard {
  private readonly header = Buffer.alloc(14);
  private headerBytes = 0;
  /** Header bytes needed before the payload length is known: 2, then up to 14. */
  private needed = 2;
  private payloadLeft = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Feeds the next bytes of the stream. Returns the payload length of the first frame over the
   * limit, as soon as its header has arrived, or undefined while every frame is within it.
   */
  inspect(chunk: Buffer): number | undefined {
    let at = 0;
    while (at < chunk.length) {
      if (this.payloadLeft > 0) {
        const skipped = Math.min(this.payloadLeft, chunk.length - at);
        this.payloadLeft -= skipped;
        at += skipped;
        continue;
      }
      const taken = Math.min(this.needed - this.headerBytes, chunk.length - at);
      chunk.copy(this.header, this.headerBytes, at, at + taken);
      this.headerBytes += taken;
      at += taken;
      if (this.headerBytes < this.needed) break;

      const full = headerLength(this.header);
      if (full > this.needed) {
        this.needed = full;
        continue;
      }
      const length = payloadLength(this.header);
      if (length > this.maxFrameBytes) return length;
      this.payloadLeft = length;
      this.headerBytes = 0;
      this.needed = 2;
    }
    return undefined;
  }
}

/** The whole header's size, from its first two bytes: length extension and masking key. */
function headerLength(header: Buffer): number {
  const length7 = (header[1] as number) & 0x7f;
  const masked = ((header[1] as number) & 0x80) !== 0;
  return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (masked ? 4 : 0);
}

function payloadLength(header: Buffer): number {
  const length7 = (header[1] as number) & 0x7f;
  if (length7 === 126) return header.readUInt16BE(2);
  if (length7 === 127) return Number(header.readBigUInt64BE(2));
  return length7;
}
