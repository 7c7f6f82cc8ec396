/**
 * Part sizes for multipart uploads of unknown length. S3 allows at most 10,000 parts of
 * 5 MiB to 5 GiB. Growing mode doubles the part size every 1,000 parts, so the 10,000 parts
 * cover 1023 x 1000 x the base size (8 TiB from the default 8 MiB, above S3's 5 TiB object
 * limit; 4.9 TiB from the 5 MiB minimum) while small exports keep small parts and little memory. Uniform mode keeps every part the
 * same size, as Cloudflare R2 requires; it caps an export at 10,000 x the part size.
 */
import { constants as bufferConstants } from 'node:buffer';

export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's 5 GiB, or less where a Buffer cannot be that large (4 GiB on Node 20). */
export const MAX_PART_SIZE = Math.min(5 * 1024 * 1024 * 1024, bufferConstants.MAX_LENGTH);
/** MAX_PART_SIZE as the settings' messages say it. */
export const MAX_PART_SIZE_TEXT = `${MAX_PART_SIZE / 1024 ** 3} GiB`;
export const MAX_PARTS = 10_000;
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const PARTS_PER_DOUBLING = 1000;

export function partSizeFor(partNumber: number, baseSize: number, uniform: boolean): number {
  if (uniform) return baseSize;
  const doublings = Math.floor((partNumber - 1) / PARTS_PER_DOUBLING);
  return Math.min(baseSize * 2 ** doublings, MAX_PART_SIZE);
}

/** The largest object the scheme can upload within MAX_PARTS parts. */
export function maxUploadSize(baseSize: number, uniform: boolean): number {
  let total = 0;
  for (let part = 1; part <= MAX_PARTS; part += PARTS_PER_DOUBLING) {
    total += partSizeFor(part, baseSize, uniform) * PARTS_PER_DOUBLING;
  }
  return total;
}

/**
 * Reuses part buffers: a steady upload then allocates `slots` buffers once instead of one per
 * part, which keeps RSS flat (freed large buffers are returned to the OS lazily).
 */
export class BufferPool {
  private free: Buffer[] = [];
  private size = 0;

  constructor(private readonly slots: number) {}

  acquire(size: number): Buffer {
    if (size !== this.size) {
      this.free = [];
      this.size = size;
    }
    return this.free.pop() ?? Buffer.allocUnsafeSlow(size);
  }

  release(buffer: Buffer): void {
    if (buffer.length === this.size && this.free.length < this.slots) this.free.push(buffer);
  }
}
