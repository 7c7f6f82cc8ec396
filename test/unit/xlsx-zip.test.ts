import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type DeflateEngine, deflateEngine, isalAddon, zlibEngine } from '../../src/formats/xlsx/deflate.js';
import { ZipWriter } from '../../src/formats/xlsx/zip.js';
import {
  centralHeader,
  dataDescriptor,
  endOfCentralDirectory,
  localHeader,
} from '../../src/formats/xlsx/zip-records.js';
import { assertZipValid, saved, zipEntries } from '../integration/xlsx-read.js';

const GiB = 2 ** 30;
const name = Buffer.from('xl/worksheets/sheet1.xml');

describe('zip headers (bytes)', () => {
  it('streamed ZIP64 entry: version 45, data descriptor flag, zero CRC and sizes, no local extra', () => {
    const h = localHeader(name, 0x0008, true);
    expect(h.readUInt32LE(0)).toBe(0x04034b50);
    expect(h.readUInt16LE(4)).toBe(45);
    expect(h.readUInt16LE(6)).toBe(0x0008);
    expect(h.readUInt16LE(8)).toBe(8); // deflate
    expect([h.readUInt32LE(14), h.readUInt32LE(18), h.readUInt32LE(22)]).toEqual([0, 0, 0]);
    expect(h.readUInt16LE(26)).toBe(name.length);
    expect(h.readUInt16LE(28)).toBe(0); // no ZIP64 extra in the local header
    expect(h.subarray(30).toString()).toBe('xl/worksheets/sheet1.xml');
    expect(h.length).toBe(30 + name.length);
  });

  it('small known entry: version 20, CRC and sizes in the local header', () => {
    const h = localHeader(name, 0, false, { crc: 0xdeadbeef, compressedSize: 10, size: 20 });
    expect(h.readUInt16LE(4)).toBe(20);
    expect(h.readUInt16LE(6)).toBe(0);
    expect([h.readUInt32LE(14), h.readUInt32LE(18), h.readUInt32LE(22)]).toEqual([0xdeadbeef, 10, 20]);
  });

  it('data descriptor: 8-byte sizes for ZIP64 entries, 4-byte otherwise', () => {
    const big = dataDescriptor(0x12345678, 5 * GiB + 1, 6 * GiB + 2, true);
    expect(big.length).toBe(24);
    expect(big.readUInt32LE(0)).toBe(0x08074b50);
    expect(big.readUInt32LE(4)).toBe(0x12345678);
    expect(big.readBigUInt64LE(8)).toBe(BigInt(5 * GiB + 1));
    expect(big.readBigUInt64LE(16)).toBe(BigInt(6 * GiB + 2));
    const small = dataDescriptor(1, 2, 3, false);
    expect(small.length).toBe(16);
    expect([small.readUInt32LE(8), small.readUInt32LE(12)]).toEqual([2, 3]);
  });

  it('central header of a ZIP64 entry: sizes 0xFFFFFFFF and a ZIP64 extra (size, then compressed)', () => {
    const h = centralHeader({
      name,
      flags: 0x0008,
      crc: 7,
      compressedSize: 4 * GiB + 5,
      size: 9 * GiB,
      offset: 1234,
      zip64: true,
    });
    expect(h.readUInt32LE(0)).toBe(0x02014b50);
    expect(h.readUInt16LE(4)).toBe(45);
    expect(h.readUInt16LE(6)).toBe(45);
    expect(h.readUInt32LE(16)).toBe(7);
    expect(h.readUInt32LE(20)).toBe(0xffffffff);
    expect(h.readUInt32LE(24)).toBe(0xffffffff);
    expect(h.readUInt16LE(30)).toBe(20); // extra: 4-byte header + two 8-byte sizes
    expect(h.readUInt32LE(42)).toBe(1234); // the offset fits: it stays in the fixed field
    const extra = h.subarray(46 + name.length);
    expect(extra.readUInt16LE(0)).toBe(0x0001);
    expect(extra.readUInt16LE(2)).toBe(16);
    expect(extra.readBigUInt64LE(4)).toBe(BigInt(9 * GiB));
    expect(extra.readBigUInt64LE(12)).toBe(BigInt(4 * GiB + 5));
  });

  it('central header of a small entry past 4 GiB: only the offset moves to the ZIP64 extra', () => {
    const h = centralHeader({
      name,
      flags: 0,
      crc: 1,
      compressedSize: 100,
      size: 300,
      offset: 5 * GiB,
      zip64: false,
    });
    expect(h.readUInt16LE(6)).toBe(45);
    expect([h.readUInt32LE(20), h.readUInt32LE(24)]).toEqual([100, 300]);
    expect(h.readUInt32LE(42)).toBe(0xffffffff);
    const extra = h.subarray(46 + name.length);
    expect(extra.readUInt16LE(2)).toBe(8);
    expect(extra.readBigUInt64LE(4)).toBe(BigInt(5 * GiB));
  });

  it('central header of a small entry: version 20, no extra', () => {
    const h = centralHeader({ name, flags: 0, crc: 1, compressedSize: 2, size: 3, offset: 4, zip64: false });
    expect(h.readUInt16LE(6)).toBe(20);
    expect(h.readUInt16LE(30)).toBe(0);
    expect(h.length).toBe(46 + name.length);
  });

  it('end of central directory: plain below 4 GiB, with ZIP64 record and locator above', () => {
    const plain = endOfCentralDirectory(6, 1000, 400);
    expect(plain.length).toBe(22);
    expect(plain.readUInt32LE(0)).toBe(0x06054b50);
    expect([plain.readUInt16LE(10), plain.readUInt32LE(12), plain.readUInt32LE(16)]).toEqual([6, 400, 1000]);

    const big = endOfCentralDirectory(6, 5 * GiB, 400);
    expect(big.length).toBe(56 + 20 + 22);
    expect(big.readUInt32LE(0)).toBe(0x06064b50);
    expect(big.readBigUInt64LE(4)).toBe(44n);
    expect(big.readBigUInt64LE(32)).toBe(6n);
    expect(big.readBigUInt64LE(40)).toBe(400n);
    expect(big.readBigUInt64LE(48)).toBe(BigInt(5 * GiB));
    const locator = big.subarray(56, 76);
    expect(locator.readUInt32LE(0)).toBe(0x07064b50);
    expect(locator.readBigUInt64LE(8)).toBe(BigInt(5 * GiB + 400)); // where the ZIP64 record starts
    expect(locator.readUInt32LE(16)).toBe(1);
    const end = big.subarray(76);
    expect(end.readUInt32LE(0)).toBe(0x06054b50);
    expect(end.readUInt32LE(16)).toBe(0xffffffff);
  });
});

async function buildArchive(
  level: number,
  entries: { name: string; data: Buffer; stream?: 'plain' | 'zip64' }[],
  firstStep = 100_000,
  engine?: DeflateEngine,
) {
  const zip = new ZipWriter(level, undefined, engine);
  const out: Buffer[] = [];
  for (const e of entries) {
    if (!e.stream) {
      out.push(...(await zip.wholeEntry(e.name, e.data)));
      continue;
    }
    const entry = zip.startEntry(e.name, e.stream === 'zip64');
    out.push(entry.header);
    // Uneven chunks, several queued for deflate at once.
    for (let at = 0, step = firstStep; at < e.data.length; at += step, step += 77_777) {
      out.push(...(await entry.write(e.data.subarray(at, at + step))));
    }
    out.push(...(await entry.end()));
  }
  out.push(zip.finish());
  return Buffer.concat(out);
}

function pythonHashes(path: string): Record<string, string> {
  const script =
    'import sys, json, zipfile, hashlib\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    'print(json.dumps({n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()}))';
  return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('ZipWriter', () => {
  const text = Buffer.from('<row r="1"><c><v>1</v></c></row>'.repeat(60_000)); // ~2 MB, compressible
  const noise = randomBytes(700_000); // incompressible: deflate falls back to stored blocks
  const entries = [
    { name: '_rels/.rels', data: Buffer.from('<Relationships/>') },
    { name: 'xl/worksheets/sheet1.xml', data: text, stream: 'plain' as const },
    { name: 'xl/worksheets/sheet2.xml', data: Buffer.concat([noise, text]), stream: 'zip64' as const },
    { name: 'empty.xml', data: Buffer.alloc(0), stream: 'plain' as const },
    { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
  ];

  it('writes an archive Python and unzip read back byte for byte, at every level', async () => {
    for (const level of [0, 1, 6]) {
      const path = saved(await buildArchive(level, entries), `zip-${level}`);
      assertZipValid(path);
      const hashes = pythonHashes(path);
      for (const e of entries) expect(hashes[e.name], `${e.name} at level ${level}`).toBe(sha(e.data));
    }
  });

  it('uses ZIP64 only for the entry that asked for it, and data descriptors only when streaming', async () => {
    const path = saved(await buildArchive(1, entries), 'zip-meta');
    const info = zipEntries(path);
    expect(info.map((i) => i.name)).toEqual(entries.map((e) => e.name));
    const byName = new Map(info.map((i) => [i.name, i]));
    expect(byName.get('xl/worksheets/sheet2.xml')?.extract_version).toBe(45);
    for (const n of ['_rels/.rels', 'xl/worksheets/sheet1.xml', '[Content_Types].xml']) {
      expect(byName.get(n)?.extract_version).toBe(20);
    }
    expect(byName.get('xl/worksheets/sheet1.xml')!.flag_bits & 8).toBe(8);
    expect(byName.get('_rels/.rels')!.flag_bits & 8).toBe(0);
    expect(byName.get('xl/worksheets/sheet1.xml')!.size).toBe(text.length);
    expect(byName.get('xl/worksheets/sheet1.xml')!.compressed).toBeLessThan(text.length / 20);
  });

  it('reads back when chunks are smaller than the deflate window, and loses nothing to chunking', async () => {
    const path = saved(await buildArchive(6, entries, 5_000), 'zip-small-chunks');
    const hashes = pythonHashes(path);
    for (const e of entries) expect(hashes[e.name], e.name).toBe(sha(e.data));
    // Each chunk is deflated on its own with the 32 KiB before it as its dictionary: within 0.2%
    // of one deflate call (without the dictionary these rows cost 0.4% more).
    const cells = Array.from(
      { length: 30_000 },
      (_, i) =>
        `<row r="${i}"><c t="inlineStr"><is><t>name ${(i * 7919) % 1000}</t></is></c><c><v>${(i * 104729) % 100000}</v></c></row>`,
    );
    const rows = Buffer.from(cells.join(''));
    const sheet = [{ name: 'sheet.xml', data: rows, stream: 'plain' as const }];
    const chunked = zipEntries(saved(await buildArchive(6, sheet, 5_000), 'zip-dictionary'))[0]!;
    expect(chunked.size).toBe(rows.length);
    expect(chunked.compressed).toBeLessThan(deflateRawSync(rows, { level: 6 }).length * 1.002);
  });

  // Both engines, whichever the level would pick: ISA-L (when installed) and zlib, each chunk
  // continuing the stream across chunks smaller and larger than the window.
  const engines: [string, DeflateEngine][] = [['zlib', zlibEngine(2)]];
  if (isalAddon()) engines.push(['isal', deflateEngine(2, {})]);

  it.each(engines)(
    'the %s engine writes sheets Python and unzip read back byte for byte',
    async (kind, engine) => {
      expect(engine.name).toBe(kind);
      for (const step of [5_000, 100_000, 1_500_000]) {
        const path = saved(await buildArchive(2, entries, step, engine), `zip-${kind}-${step}`);
        assertZipValid(path);
        const hashes = pythonHashes(path);
        for (const e of entries)
          expect(hashes[e.name], `${e.name}, ${kind}, chunks from ${step}`).toBe(sha(e.data));
      }
      const sheet = zipEntries(
        saved(await buildArchive(2, entries, 100_000, engine), `zip-${kind}-size`),
      )[1]!;
      expect(sheet.compressed).toBeLessThan(text.length / 20);
    },
  );

  it('gives the same bytes for the same input (fixed timestamps)', async () => {
    const a = await buildArchive(1, entries);
    const b = await buildArchive(1, entries);
    expect(sha(a)).toBe(sha(b));
  });

  it('refuses to start an entry while another is open', () => {
    const zip = new ZipWriter(1);
    zip.startEntry('a.xml', false);
    expect(() => zip.startEntry('b.xml', false)).toThrow(/still open/);
  });
});
