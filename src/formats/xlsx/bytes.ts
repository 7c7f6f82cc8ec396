import { type BufferPool, CHUNK_BYTES, SLACK_BYTES } from './buffer-pool.js';
import { digitCount, putDigits, SMALL } from './digits.js';

export { BufferPool } from './buffer-pool.js';

/** Markup encoded once: its bytes, and the same bytes as little-endian 32-bit words. */
export type Markup = Uint8Array & { readonly words: Uint32Array };

/** Markup as bytes, encoded once (copied four bytes at a time: see `XmlBytes.bytes`). */
export function ascii(s: string): Markup {
  const bytes = Buffer.from(s, 'utf8');
  const words = new Uint32Array(Math.ceil(bytes.length / 4));
  for (let i = 0; i < bytes.length; i++) words[i >> 2]! |= bytes[i]! << (8 * (i & 3));
  return Object.assign(new Uint8Array(bytes), { words });
}

/**
 * Characters `text` cannot copy as they are: 1 = never (controls but TAB and LF, `& < >`),
 * 2 = `_`, which only matters when an `_xHHHH_` escape could start.
 */
const SPECIAL = new Uint8Array(128);
for (let c = 0; c < 32; c++) SPECIAL[c] = c === 9 || c === 10 ? 0 : 1;
SPECIAL[38] = 1;
SPECIAL[60] = 1;
SPECIAL[62] = 1;
SPECIAL[95] = 2;

/** Whether a byte of `x` is zero (exact as a whole: a borrow only follows a real zero byte). */
function zeroByte(x: number): boolean {
  return ((x - 0x01010101) & ~x & 0x80808080) !== 0;
}

/**
 * Whether the four ASCII bytes of `w` (little-endian) all copy as they are: none is 128 or
 * above, below 32 (TAB and LF go byte by byte), `& < >` or `_`.
 */
function plainWord(w: number): boolean {
  return (
    (w & 0x80808080) === 0 &&
    ((w - 0x20202020) & ~w & 0x80808080) === 0 &&
    !zeroByte(w ^ 0x26262626) &&
    !zeroByte(w ^ 0x3c3c3c3c) &&
    !zeroByte(w ^ 0x3e3e3e3e) &&
    !zeroByte(w ^ 0x5f5f5f5f)
  );
}

const NONE = ascii('');
/** Markup is copied in whole words: up to 3 bytes past its end are written (then overwritten). */
const WORD_SLACK = 3;
function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.length);
}

/** Copies markup at `p`, a word at a time (up to WORD_SLACK bytes past it); returns its end. */
function putMarkup(view: DataView, p: number, u: Markup): number {
  const words = u.words;
  for (let k = 0; k < words.length; k++) view.setUint32(p + 4 * k, words[k]!, true);
  return p + u.length;
}

/**
 * A sheet's XML, written straight into byte chunks for deflate: markup is copied from encoded
 * constants, numbers are written digit by digit, plain text is UTF-8 encoded by a loop that also
 * checks it needs no escaping. No strings are built per cell, so there is nothing for the
 * garbage collector, and the XML is touched once before deflate (no join, no re-encoding).
 * Chunks are sealed only between rows, so a row can be taken back (`pos = mark`).
 */
export class XmlBytes {
  buf: Buffer;
  pos = 0;
  private readonly sealed: Buffer[] = [];
  private sealedBytes = 0;

  /** `buf` as a DataView, for writing markup a word at a time. */
  private view: DataView;
  /** asciiCell's last two sources as DataViews, most recent first. */
  private readonly sourceViews: ({ source: Uint8Array; view: DataView } | undefined)[] = [
    undefined,
    undefined,
  ];

  constructor(private readonly pool: BufferPool) {
    this.buf = pool.take();
    this.view = viewOf(this.buf);
  }

  bytes(u: Markup): void {
    if (this.pos + u.length + WORD_SLACK > this.buf.length) this.grow(u.length + WORD_SLACK);
    this.pos = putMarkup(this.view, this.pos, u);
  }

  /** One byte. */
  byte(c: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = c;
  }

  /** Text known to be ASCII (numbers in JavaScript's notation). */
  ascii(s: string): void {
    const n = s.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    const b = this.buf;
    const p = this.pos;
    for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i);
    this.pos = p + n;
  }

  /** Any text already fit for XML, UTF-8 encoded. */
  utf8(s: string): void {
    if (this.pos + s.length * 3 > this.buf.length) this.grow(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /**
   * Writes text that needs no escaping, UTF-8 encoded, and returns true; returns false (having
   * written part of it: the caller takes it back) when it finds a character that needs work.
   */
  text(s: string): boolean {
    return this.textCell(NONE, s, NONE);
  }

  /**
   * `text` between two pieces of markup (a text cell's opening and closing tags): one capacity
   * check and no calls for the whole cell.
   */
  textCell(head: Markup, s: string, tail: Markup): boolean {
    const n = s.length;
    const room = head.length + n * 3 + tail.length + WORD_SLACK;
    if (this.pos + room > this.buf.length) this.grow(room);
    const b = this.buf;
    let p = putMarkup(this.view, this.pos, head);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 128) {
        const special = SPECIAL[c];
        if (special !== 0 && (special === 1 || s.charCodeAt(i + 1) === 120)) return false;
        b[p++] = c;
      } else if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 63);
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const low = s.charCodeAt(i + 1);
        if (c > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) return false; // unpaired: removed
        const cp = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        b[p++] = 0xf0 | (cp >> 18);
        b[p++] = 0x80 | ((cp >> 12) & 63);
        b[p++] = 0x80 | ((cp >> 6) & 63);
        b[p++] = 0x80 | (cp & 63);
        i++;
      } else {
        if (c >= 0xfffe) return false;
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 63);
        b[p++] = 0x80 | (c & 63);
      }
    }
    this.pos = putMarkup(this.view, p, tail);
    return true;
  }

  /**
   * textCell for text that is still bytes (`len` of them in `src` from `at`): writes it when
   * it is ASCII and needs no escaping, and returns true; else returns false, having written
   * part of it (the caller takes it back). A source's text is copied without a string.
   */
  asciiCell(head: Markup, src: Uint8Array, at: number, len: number, tail: Markup): boolean {
    const room = head.length + len + tail.length + WORD_SLACK;
    if (this.pos + room > this.buf.length) this.grow(room);
    const b = this.buf;
    const view = this.view;
    let p = putMarkup(view, this.pos, head);
    // Four bytes at a time while none needs a look (about twice as fast as byte by byte).
    const words = this.sourceView(src);
    const end = at + len;
    let i = at;
    for (; i + 4 <= end; i += 4) {
      const w = words.getUint32(i, true) | 0;
      if (!plainWord(w)) break;
      view.setUint32(p, w, true);
      p += 4;
    }
    for (; i < end; i++) {
      const c = src[i]!;
      if (c >= 128) return false;
      const special = SPECIAL[c];
      if (special !== 0 && (special === 1 || (i + 1 < end && src[i + 1] === 120))) return false;
      b[p++] = c;
    }
    this.pos = putMarkup(view, p, tail);
    return true;
  }

  /** A DataView of `src`, kept for the next call (the same COPY chunk, or one of two buffers in turn). */
  private sourceView(src: Uint8Array): DataView {
    const views = this.sourceViews;
    if (views[0]?.source === src) return views[0].view;
    if (views[1]?.source === src) return views[1].view;
    const entry = { source: src, view: new DataView(src.buffer, src.byteOffset, src.byteLength) };
    views[1] = views[0];
    views[0] = entry;
    return entry.view;
  }

  /** An integer below 2^53 in magnitude, in decimal. */
  int(v: number): void {
    if (this.pos + 24 > this.buf.length) this.grow(24);
    if (v < 0) {
      this.buf[this.pos++] = 45;
      v = -v;
    }
    if (v < SMALL) {
      const width = digitCount(v);
      this.pos = putDigits(this.buf, this.pos + width, v, width);
      return;
    }
    // Above 2^31: the digits above the last nine, then those nine (each part a small integer).
    const high = Math.floor(v / 1e9);
    this.int(high);
    this.fixed(v - high * 1e9, 9);
  }

  /** An integer between two pieces of markup (`<c><v>`, `</v></c>`): one capacity check. */
  intCell(head: Markup, v: number, tail: Markup): void {
    if (!(v >= 0 && v < SMALL)) {
      this.bytes(head);
      this.int(v);
      this.bytes(tail);
      return;
    }
    const room = head.length + 10 + tail.length + WORD_SLACK;
    if (this.pos + room > this.buf.length) this.grow(room);
    let p = putMarkup(this.view, this.pos, head);
    const width = digitCount(v);
    p = putDigits(this.buf, p + width, v, width);
    this.pos = putMarkup(this.view, p, tail);
  }

  /** `v` (0 <= v < 10^width, width <= 15) in exactly `width` digits, with leading zeros. */
  fixed(v: number, width: number): void {
    if (this.pos + width > this.buf.length) this.grow(width);
    if (width > 9) {
      const high = Math.floor(v / 1e9);
      this.pos = putDigits(this.buf, this.pos + width - 9, high, width - 9);
      v -= high * 1e9;
      width = 9;
    }
    this.pos = putDigits(this.buf, this.pos + width, v, width);
  }

  /** Called between rows: seals the chunk once it is full. */
  rowDone(): void {
    if (this.pos >= CHUNK_BYTES) this.seal();
  }

  /** Whether a full chunk waits to be taken. */
  get ready(): boolean {
    return this.sealed.length > 0;
  }

  /** Bytes written and not yet taken. */
  get heldBytes(): number {
    return this.sealedBytes + this.pos;
  }

  /** The full chunks, in order. */
  take(): Buffer[] {
    const out = this.sealed.splice(0);
    this.sealedBytes = 0;
    return out;
  }

  /** Everything written, full or not. */
  drain(): Buffer[] {
    this.seal();
    return this.take();
  }

  private seal(): void {
    if (this.pos === 0) return;
    const chunk = this.buf.subarray(0, this.pos);
    this.sealed.push(chunk);
    this.sealedBytes += chunk.length;
    this.buf = this.pool.take();
    this.view = viewOf(this.buf);
    this.pos = 0;
  }

  /** A row longer than the slack: a bigger buffer, the row so far copied over. */
  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + needed + SLACK_BYTES));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.pool.give(this.buf);
    this.buf = bigger;
    this.view = viewOf(bigger);
  }
}
