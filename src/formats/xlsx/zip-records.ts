/**
 * The byte records of a ZIP file (PKWARE APPNOTE 6.3), as the XLSX container uses them: deflated
 * entries, fixed timestamps, ZIP64 fields only where an entry or the archive needs them.
 */

const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL = 0x06054b50;
const ZIP64_END_OF_CENTRAL = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA_ID = 0x0001;
export const MAX_32 = 0xffffffff;
const MAX_16 = 0xffff;
const VERSION_DEFLATE = 20;
const VERSION_ZIP64 = 45;
export const FLAG_DESCRIPTOR = 0x0008;
export const FLAG_UTF8 = 0x0800;
const METHOD_DEFLATE = 8;
/** 1980-01-01 00:00, the DOS epoch: a fixed time makes the same rows give the same bytes. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** What the central directory needs to know about one written entry. */
export interface CentralRecord {
  name: Buffer;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
  /** Sizes live in the ZIP64 extra (the entry was written as ZIP64). */
  zip64: boolean;
}

export function nameBytes(name: string): { bytes: Buffer; utf8: boolean } {
  const bytes = Buffer.from(name, 'utf8');
  return { bytes, utf8: bytes.length !== name.length };
}

function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeBigUInt64LE(BigInt(value), at);
}

/** Local file header. Streamed entries (descriptor) carry zero CRC and sizes, and no extra field. */
export function localHeader(
  name: Buffer,
  flags: number,
  zip64: boolean,
  known?: { crc: number; compressedSize: number; size: number },
): Buffer {
  const buf = Buffer.alloc(30 + name.length);
  buf.writeUInt32LE(LOCAL_HEADER, 0);
  buf.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION_DEFLATE, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt16LE(METHOD_DEFLATE, 8);
  buf.writeUInt16LE(DOS_TIME, 10);
  buf.writeUInt16LE(DOS_DATE, 12);
  buf.writeUInt32LE(known?.crc ?? 0, 14);
  buf.writeUInt32LE(known?.compressedSize ?? 0, 18);
  buf.writeUInt32LE(known?.size ?? 0, 22);
  buf.writeUInt16LE(name.length, 26);
  buf.writeUInt16LE(0, 28);
  name.copy(buf, 30);
  return buf;
}

/** Data descriptor after a streamed entry: 8-byte sizes for ZIP64 entries, else 4-byte. */
export function dataDescriptor(crc: number, compressedSize: number, size: number, zip64: boolean): Buffer {
  const buf = Buffer.alloc(zip64 ? 24 : 16);
  buf.writeUInt32LE(DATA_DESCRIPTOR, 0);
  buf.writeUInt32LE(crc, 4);
  if (zip64) {
    writeU64(buf, compressedSize, 8);
    writeU64(buf, size, 16);
  } else {
    buf.writeUInt32LE(compressedSize, 8);
    buf.writeUInt32LE(size, 12);
  }
  return buf;
}

/**
 * Central directory header. A ZIP64 entry puts both sizes in the ZIP64 extra (0xFFFFFFFF in
 * the fixed fields); any entry whose local header starts past 4 GiB puts its offset there too.
 */
export function centralHeader(entry: CentralRecord): Buffer {
  const bigOffset = entry.offset >= MAX_32;
  const extraFields = (entry.zip64 ? 2 : 0) + (bigOffset ? 1 : 0);
  const extraLength = extraFields > 0 ? 4 + 8 * extraFields : 0;
  const needs64 = entry.zip64 || bigOffset;
  const buf = Buffer.alloc(46 + entry.name.length + extraLength);
  buf.writeUInt32LE(CENTRAL_HEADER, 0);
  buf.writeUInt16LE(needs64 ? VERSION_ZIP64 : VERSION_DEFLATE, 4); // made by (MS-DOS host)
  buf.writeUInt16LE(needs64 ? VERSION_ZIP64 : VERSION_DEFLATE, 6); // needed to extract
  buf.writeUInt16LE(entry.flags, 8);
  buf.writeUInt16LE(METHOD_DEFLATE, 10);
  buf.writeUInt16LE(DOS_TIME, 12);
  buf.writeUInt16LE(DOS_DATE, 14);
  buf.writeUInt32LE(entry.crc, 16);
  buf.writeUInt32LE(entry.zip64 ? MAX_32 : entry.compressedSize, 20);
  buf.writeUInt32LE(entry.zip64 ? MAX_32 : entry.size, 24);
  buf.writeUInt16LE(entry.name.length, 28);
  buf.writeUInt16LE(extraLength, 30);
  // comment length, disk number start, internal and external attributes stay 0
  buf.writeUInt32LE(bigOffset ? MAX_32 : entry.offset, 42);
  entry.name.copy(buf, 46);
  if (extraLength > 0) {
    let at = 46 + entry.name.length;
    buf.writeUInt16LE(ZIP64_EXTRA_ID, at);
    buf.writeUInt16LE(extraLength - 4, at + 2);
    at += 4;
    // APPNOTE 4.5.3 order: uncompressed size, compressed size, local header offset
    if (entry.zip64) {
      writeU64(buf, entry.size, at);
      writeU64(buf, entry.compressedSize, at + 8);
      at += 16;
    }
    if (bigOffset) writeU64(buf, entry.offset, at);
  }
  return buf;
}

/** End of central directory, preceded by the ZIP64 record and locator when a field overflows. */
export function endOfCentralDirectory(count: number, centralOffset: number, centralSize: number): Buffer {
  const needs64 = count >= MAX_16 || centralOffset >= MAX_32 || centralSize >= MAX_32;
  const parts: Buffer[] = [];
  if (needs64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(ZIP64_END_OF_CENTRAL, 0);
    writeU64(record, 44, 4); // size of the rest of this record
    record.writeUInt16LE(VERSION_ZIP64, 12);
    record.writeUInt16LE(VERSION_ZIP64, 14);
    // this disk and the central directory's disk stay 0
    writeU64(record, count, 24);
    writeU64(record, count, 32);
    writeU64(record, centralSize, 40);
    writeU64(record, centralOffset, 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(ZIP64_LOCATOR, 0);
    writeU64(locator, centralOffset + centralSize, 8); // where the ZIP64 record starts
    locator.writeUInt32LE(1, 16); // total number of disks
    parts.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL, 0);
  end.writeUInt16LE(Math.min(count, MAX_16), 8);
  end.writeUInt16LE(Math.min(count, MAX_16), 10);
  end.writeUInt32LE(Math.min(centralSize, MAX_32), 12);
  end.writeUInt32LE(Math.min(centralOffset, MAX_32), 16);
  parts.push(end);
  return Buffer.concat(parts);
}
