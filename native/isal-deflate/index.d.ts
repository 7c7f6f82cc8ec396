/**
 * Deflates `input` as the continuation of a raw deflate stream whose last bytes were
 * `dictionary` (up to 32 KiB used), ending with a sync flush, on the libuv thread pool.
 * `input` must not change until the promise settles. `crc` is the CRC-32 of `input`.
 */
export function deflate(
  input: Uint8Array,
  dictionary: Uint8Array | null,
  level: 0 | 1 | 2 | 3,
  /** The output buffer to start with (it grows as needed); default: a bound for the input. */
  outputSize?: number,
): Promise<{ output: Buffer; crc: number }>;
