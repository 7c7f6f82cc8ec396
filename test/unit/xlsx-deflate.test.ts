import { randomBytes } from 'node:crypto';
import { crc32, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32Combine } from '../../src/formats/xlsx/crc32-combine.js';
import { deflateEngine, isalAddon, isalLoadError } from '../../src/formats/xlsx/deflate.js';

describe('crc32Combine', () => {
  it("chains two pieces' CRC-32 into the whole's, as zlib computes it", () => {
    const data = randomBytes(300_000);
    for (const cut of [0, 1, 7, 4096, 65_537, 299_999, 300_000]) {
      const [a, b] = [data.subarray(0, cut), data.subarray(cut)];
      expect(crc32Combine(crc32(a), crc32(b), b.length), `cut at ${cut}`).toBe(crc32(data));
    }
  });

  it('is associative for lengths beyond 4 GiB (ZIP64 entries)', () => {
    const [x, y, z] = [0x12345678, 0x9abcdef0, 0x0fedcba9];
    const [ly, lz] = [3 * 2 ** 30 + 3, 3 * 2 ** 30 + 17]; // each below 2^32, their sum above it
    expect(crc32Combine(crc32Combine(x, y, ly), z, lz)).toBe(
      crc32Combine(x, crc32Combine(y, z, lz), ly + lz),
    );
  });
});

describe('deflateEngine', () => {
  it('picks zlib for levels ISA-L does not have, and when told to', () => {
    expect(deflateEngine(0, {}).name).toBe('zlib');
    expect(deflateEngine(6, {}).name).toBe('zlib');
    expect(deflateEngine(2, { TAKEOUT_XLSX_DEFLATE: 'zlib' }).name).toBe('zlib');
    expect(() => deflateEngine(2, { TAKEOUT_XLSX_DEFLATE: 'fast' })).toThrow(/auto, isal or zlib/);
    if (isalAddon()) {
      // Insisting on ISA-L still leaves the levels it does not have to zlib.
      expect(deflateEngine(6, { TAKEOUT_XLSX_DEFLATE: 'isal' }).name).toBe('zlib');
      expect(deflateEngine(3, { TAKEOUT_XLSX_DEFLATE: 'isal' }).name).toBe('isal');
    } else {
      expect(() => deflateEngine(2, { TAKEOUT_XLSX_DEFLATE: 'isal' })).toThrow(/cannot be used/);
    }
  });

  it('picks ISA-L for levels 1-3 where the addon is installed (always in CI)', () => {
    expect(isalLoadError(), 'an installed addon that does not load').toBeUndefined();
    if (process.env.CI) expect(isalAddon(), 'CI builds @takeout/isal-deflate (libisal-dev)').not.toBeNull();
    expect(deflateEngine(2, {}).name).toBe(isalAddon() ? 'isal' : 'zlib');
  });
});

describe.skipIf(!isalAddon())('the ISA-L addon', () => {
  const addon = isalAddon()!;

  it('continues a raw stream from a dictionary and ends each chunk with a sync flush', async () => {
    const text = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `<c><v>${i % 977}</v></c>`).join(''));
    const parts: Buffer[] = [];
    for (let at = 0; at < text.length; at += 100_000) {
      const dictionary = at > 0 ? text.subarray(Math.max(0, at - 32_768), at) : null;
      const { output, crc } = await addon.deflate(text.subarray(at, at + 100_000), dictionary, 2);
      expect(crc).toBe(crc32(text.subarray(at, at + 100_000)));
      expect(output.subarray(-4)).toEqual(Buffer.from([0, 0, 0xff, 0xff])); // the sync flush marker
      parts.push(output);
    }
    parts.push(Buffer.from([0x03, 0x00])); // an empty final block
    expect(inflateRawSync(Buffer.concat(parts)).equals(text)).toBe(true);
  });

  it('grows its output buffer when the first one is too small', async () => {
    const noise = randomBytes(2_000_000);
    const grow = addon.deflate as unknown as (...args: unknown[]) => Promise<{ output: Buffer; crc: number }>;
    for (const start of [64, 100_000, undefined]) {
      const { output, crc } = await grow(noise, null, 1, start);
      expect(crc).toBe(crc32(noise));
      expect(inflateRawSync(Buffer.concat([output, Buffer.from([0x03, 0x00])])).equals(noise)).toBe(true);
    }
  });

  it('rejects bad arguments with a TypeError or RangeError', () => {
    const call = addon.deflate as unknown as (...args: unknown[]) => unknown;
    expect(() => call('text', null, 1)).toThrow(TypeError);
    expect(() => call(Buffer.alloc(1), 'dictionary', 1)).toThrow(TypeError);
    expect(() => call(Buffer.alloc(1), null, 4)).toThrow(RangeError);
    expect(() => call(Buffer.alloc(1), null, 1.5)).toThrow(RangeError);
  });
});
