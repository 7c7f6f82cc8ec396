/** Test bytes: produced lazily (never held in memory), hashed while streaming. */
import { createHash } from 'node:crypto';

const CHUNK = 256 * 1024;

/** Deterministic bytes, produced lazily; `onChunk` may pause the producer. */
export async function* generatedBytes(
  total: number,
  onChunk?: (produced: number) => Promise<void> | void,
): AsyncGenerator<Uint8Array> {
  const block = createHash('sha512').update('takeout').digest();
  const pattern = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i += block.length) block.copy(pattern, i);
  let produced = 0;
  for (let index = 0; produced < total; index++) {
    const size = Math.min(CHUNK, total - produced);
    const chunk = Buffer.allocUnsafe(size); // a fresh buffer: callers may keep what they got
    pattern.copy(chunk, 0, 0, size);
    if (size >= 8) chunk.writeUInt32BE(index, 0); // no two chunks alike
    produced += size;
    yield chunk;
    await onChunk?.(produced);
  }
}

export async function sha256Of(body: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

export async function download(url: string): Promise<{ response: Response; sha256: string; size: number }> {
  const response = await fetch(url);
  const { sha256, size } = response.body
    ? await sha256Of(response.body as unknown as AsyncIterable<Uint8Array>)
    : { sha256: '', size: 0 };
  return { response, sha256, size };
}
