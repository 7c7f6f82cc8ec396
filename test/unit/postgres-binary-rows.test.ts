/**
 * The binary COPY row decoder on hand-built COPY data, fed in chunks cut at every byte
 * boundary: rows, NULLs and the header extension come out the same however the bytes arrive.
 */
import { describe, expect, it, vi } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { BinaryRowDecoder, ItemMeasure } from '../../src/sources/postgres-binary-rows.js';
import { decodeInt4, decodeText } from '../../src/sources/postgres-binary-values.js';

function copyData(rows: (number | string | null)[][], extension = 0): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')];
  const head = Buffer.alloc(8);
  head.writeUInt32BE(extension, 4);
  parts.push(head, Buffer.alloc(extension, 7));
  for (const row of rows) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(row.length);
    parts.push(count);
    for (const v of row) {
      const body = v === null ? undefined : typeof v === 'number' ? Buffer.alloc(4) : Buffer.from(v, 'utf8');
      if (typeof v === 'number') body?.writeInt32BE(v);
      const len = Buffer.alloc(4);
      len.writeInt32BE(body ? body.length : -1);
      parts.push(len, ...(body ? [body] : []));
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

const ROWS = [
  [1, 'one'],
  [2, null],
  [null, ''],
  [-7, 'ünïcødé 😀'.repeat(20)],
];

describe('BinaryRowDecoder', () => {
  it('decodes the same rows whatever the chunk boundaries', () => {
    const data = copyData(ROWS, 3);
    for (let cut = 1; cut < data.length; cut++) {
      for (const size of [cut, 5000]) {
        const decoder = new BinaryRowDecoder([decodeInt4, decodeText]);
        const rows: unknown[][] = [];
        rows.push(...decoder.decode(data.subarray(0, cut)));
        for (let at = cut; at < data.length; at += size)
          rows.push(...decoder.decode(data.subarray(at, at + size)));
        decoder.finish();
        expect(rows, `cut at ${cut}`).toEqual(ROWS);
      }
    }
  });

  it('joins a row that spans many chunks once, not once per chunk', () => {
    const big = 'x'.repeat(4 << 20);
    const data = copyData([
      [1, 'a'],
      [2, big],
      [3, 'c'],
    ]);
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      const decoder = new BinaryRowDecoder([decodeInt4, decodeText]);
      const rows: unknown[][] = [];
      for (let at = 0; at < data.length; at += 16 * 1024)
        rows.push(...decoder.decode(data.subarray(at, at + 16 * 1024)));
      decoder.finish();
      expect(rows.map((r) => [r[0], (r[1] as string).length])).toEqual([
        [1, 1],
        [2, big.length],
        [3, 1],
      ]);
      const joined = concat.mock.results.reduce((sum, r) => sum + (r.value as Buffer).length, 0);
      expect(joined).toBeLessThan(2 * big.length); // one copy of the big row (was ~256 growing copies)
    } finally {
      concat.mockRestore();
    }
  });

  it('measures a split item as its pieces come, whatever the cuts', () => {
    const data = copyData(
      [
        [1, 'one'],
        [null, 'x'.repeat(300)],
        [7, null],
      ],
      5,
    );
    // Items: the header (19 + 5 bytes), three rows, the trailer.
    const header = 24;
    const row = (i: number) => [2 + 4 + 4 + 4 + 3, 2 + 4 + 4 + 300, 2 + 4 + 4 + 4][i]!;
    const items = [header, row(0), row(1), row(2), 2];
    let at = 0;
    items.forEach((length, k) => {
      const item = data.subarray(at, at + length);
      at += length;
      for (let cut = 1; cut < length; cut += 7) {
        const measure = new ItemMeasure(k > 0);
        expect(measure.feed(item.subarray(0, cut))).toBe(-1);
        // The rest comes in 3-byte pieces, then bytes beyond the item.
        let answer = -1;
        for (let p = cut; p < length && answer < 0; p += 3) answer = measure.feed(item.subarray(p, p + 3));
        if (answer < 0) answer = measure.feed(Buffer.from([0, 1, 2, 3]));
        expect(answer, `item ${k} cut at ${cut}`).toBe(length);
      }
    });
    expect(at).toBe(data.length);
  });

  it('decodes byte by byte', () => {
    const data = copyData(ROWS);
    const decoder = new BinaryRowDecoder([decodeInt4, decodeText]);
    const rows: unknown[][] = [];
    for (let i = 0; i < data.length; i++) rows.push(...decoder.decode(data.subarray(i, i + 1)));
    decoder.finish();
    expect(rows).toEqual(ROWS);
  });

  it('refuses data that ends early, a wrong signature or a wrong column count', () => {
    const data = copyData(ROWS);
    const early = new BinaryRowDecoder([decodeInt4, decodeText]);
    early.decode(data.subarray(0, data.length - 5));
    expect(() => early.finish()).toThrow(TakeoutError);
    const wrong = Buffer.from(data);
    wrong[0] = 0x51;
    expect(() => new BinaryRowDecoder([decodeInt4, decodeText]).decode(wrong)).toThrow(/unknown format/);
    expect(() => new BinaryRowDecoder([decodeInt4]).decode(data)).toThrow(/columns/);
  });
});
