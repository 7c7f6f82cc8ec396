import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { TakeoutError } from '../../errors.js';

/**
 * What deflates the chunks of a sheet's XML (zip.ts): each chunk continues one raw deflate
 * stream (the 32 KiB before it as its dictionary) and ends with a sync flush, off the main
 * thread. Two engines:
 *
 * - `isal`: Intel ISA-L through the optional addon `@takeout/isal-deflate` (native/isal-deflate,
 *   built on install where libisal is present). About a third of zlib's CPU at a
 *   ratio within 5% of zlib's level 2, with the chunk's CRC-32 computed on the same thread.
 *   Used for levels 1-3 (ISA-L's own levels).
 * - `zlib`: node:zlib, for level 0 and 4-9, and wherever the addon is missing.
 *
 * `TAKEOUT_XLSX_DEFLATE=zlib` keeps zlib for every level; `isal` refuses to run without the addon.
 */
export interface DeflateEngine {
  readonly name: 'isal' | 'zlib';
  /**
   * Deflates `data`, which must not change until the promise settles. `crc` is the chunk's
   * own CRC-32 (chained with crc32Combine).
   */
  deflate(data: Buffer, dictionary: Buffer | undefined): Promise<{ output: Buffer; crc: number }>;
}

interface IsalAddon {
  deflate(
    input: Uint8Array,
    dictionary: Uint8Array | null,
    level: number,
  ): Promise<{ output: Buffer; crc: number }>;
}

/** zlib's output buffer per round: a 1 MiB chunk of XML deflates to ~200 KB. */
const OUTPUT_CHUNK = 256 * 1024;

let addon: IsalAddon | null | undefined;
let loadError: string | undefined;

/**
 * The ISA-L addon, or null when it is not installed or could not load here (then
 * `isalLoadError` says why, unless it is simply not installed).
 */
export function isalAddon(): IsalAddon | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)('@takeout/isal-deflate') as IsalAddon;
    } catch (error) {
      addon = null;
      const notInstalled =
        (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' &&
        String((error as Error).message).includes("'@takeout/isal-deflate'");
      // Installed but broken (e.g. libisal.so.2 missing at run time): worth telling operators.
      if (!notInstalled) loadError = String((error as Error).message).split('\n')[0];
    }
  }
  return addon;
}

/** At a process's start: warns when the addon is installed but does not load (XLSX uses zlib). */
export function warnIfIsalBroken(log: { warn(details: object, message: string): void }): void {
  const error = isalLoadError();
  if (error)
    log.warn({ error }, 'The ISA-L deflate addon is installed but does not load here: XLSX uses zlib');
}

/** Why the installed addon could not load (undefined when it loaded or is not installed). */
export function isalLoadError(): string | undefined {
  isalAddon();
  return loadError;
}

/**
 * The engine for a deflate level: ISA-L for 1-3 when available and not turned off, else zlib.
 * `TAKEOUT_XLSX_DEFLATE=isal` insists on the addon (for the levels it has).
 */
export function deflateEngine(level: number, env: NodeJS.ProcessEnv = process.env): DeflateEngine {
  const wanted = env.TAKEOUT_XLSX_DEFLATE || 'auto';
  if (wanted !== 'auto' && wanted !== 'zlib' && wanted !== 'isal') {
    throw new TakeoutError('config_error', 'TAKEOUT_XLSX_DEFLATE must be auto, isal or zlib');
  }
  if (wanted === 'zlib') return zlibEngine(level);
  const isal = isalAddon();
  if (wanted === 'isal' && !isal) {
    const why = isalLoadError() ?? 'it is not installed (it needs libisal-dev when npm installs it)';
    throw new TakeoutError(
      'config_error',
      `TAKEOUT_XLSX_DEFLATE=isal, but the @takeout/isal-deflate addon cannot be used: ${why}`,
    );
  }
  return isal && level >= 1 && level <= 3 ? isalEngine(isal, level) : zlibEngine(level);
}

function isalEngine(isal: IsalAddon, level: number): DeflateEngine {
  return { name: 'isal', deflate: (data, dictionary) => isal.deflate(data, dictionary ?? null, level) };
}

export function zlibEngine(level: number): DeflateEngine {
  return {
    name: 'zlib',
    deflate: (data, dictionary) => {
      const crc = zlib.crc32(data); // zlib's SIMD CRC: about 0.2 ms per MiB, on the main thread
      return zlibChunk(data, level, dictionary).then((output) => ({ output, crc }));
    },
  };
}

/**
 * One chunk through node:zlib, in one thread-pool job: a deflate stream of its own whose
 * buffers are sized so that no backpressure stops it before all the output is in.
 */
function zlibChunk(data: Buffer, level: number, dictionary: Buffer | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const options: zlib.ZlibOptions & { readableHighWaterMark: number } = {
      level,
      memLevel: 9, // about 7% faster than the default 8 on sheet XML, for the same output size
      flush: zlib.constants.Z_SYNC_FLUSH,
      chunkSize: OUTPUT_CHUNK,
      readableHighWaterMark: 2 * data.length + OUTPUT_CHUNK,
      ...(dictionary ? { dictionary } : {}),
    };
    const deflate = zlib.createDeflateRaw(options);
    deflate.on('error', reject);
    deflate.write(data, (error) => {
      if (error) return reject(error);
      const output = (deflate.read() as Buffer | null) ?? Buffer.alloc(0);
      deflate.close();
      resolve(output);
    });
  });
}
