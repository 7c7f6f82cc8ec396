import { type ByteSink, writeInteger } from './byte-sink.js';
import { numberText } from './cells.js';
import { DAY_MS, dayText, offsetText, type ZoneClock } from './datetime.js';

/**
 * Numbers and dates written as bytes in place (CSV and JSON writers): the same digits as
 * numberText and ZoneClock.isoDateTime, without building a string per cell.
 */

/** `.01`..`.99` without trailing zeros, as in numberText's fast path. */
function writeCents(o: ByteSink, cents: number, decimal: number): void {
  o.ensure(3);
  const b = o.buf;
  let p = o.pos;
  b[p++] = decimal;
  const tens = (cents / 10) | 0;
  b[p++] = 48 + tens;
  if (cents !== tens * 10) b[p++] = 48 + cents - tens * 10;
  o.pos = p;
}

/** Writes a number as numberText would (same digits), with `decimal` as the separator. */
export function writeNumber(o: ByteSink, v: number, decimal: number): void {
  if (Number.isInteger(v) && v <= 9007199254740991 && v >= -9007199254740991) {
    if (v === 0 && 1 / v < 0) o.ascii('-0');
    else writeInteger(o, v);
    return;
  }
  const k = Math.round(v * 100);
  if (k / 100 === v && v < 1e12 && v > -1e12) {
    const abs = k < 0 ? -k : k;
    // int32 arithmetic when it fits (amounts below 21 million): a double `%` is a libm call
    const whole = abs < 2147483648 ? ((abs | 0) / 100) | 0 : Math.floor(abs / 100);
    const cents = abs - whole * 100;
    if (k < 0) {
      o.ensure(1);
      o.buf[o.pos++] = 45;
    }
    writeInteger(o, whole);
    writeCents(o, cents, decimal);
    return;
  }
  const text = numberText(v);
  const start = o.pos;
  o.ascii(text);
  if (decimal !== 46) {
    for (let p = start; p < o.pos; p++) {
      if (o.buf[p] === 46) {
        o.buf[p] = decimal;
        break;
      }
    }
  }
}

// The bytes of `YYYY-MM-DD` per day, direct-mapped like dayText's strings: copying ten bytes
// from here is cheaper than reading ten characters of a string.
const DAY_SLOTS = 4096;
const slotDay = new Float64Array(DAY_SLOTS).fill(Number.NaN);
const slotBytes = new Uint8Array(DAY_SLOTS * 10);

export function writeDay(o: ByteSink, day: number): void {
  const slot = day & (DAY_SLOTS - 1);
  if (slotDay[slot] !== day) {
    const text = dayText(day);
    if (text.length !== 10) {
      o.ascii(text); // a year outside 0000-9999
      return;
    }
    for (let i = 0; i < 10; i++) slotBytes[slot * 10 + i] = text.charCodeAt(i);
    slotDay[slot] = day;
  }
  o.ensure(10);
  const b = o.buf;
  let p = o.pos;
  for (let i = slot * 10, end = i + 10; i < end; i++) b[p++] = slotBytes[i]!;
  o.pos = p;
}

/** Writes an instant as ISO 8601 in the clock's zone, as ZoneClock.isoDateTime does. */
export function writeDateTime(o: ByteSink, ms: number, clock: ZoneClock): void {
  const offset = clock.offsetMinutes(ms);
  const local = ms + offset * 60000;
  const day = Math.floor(local / DAY_MS);
  writeDay(o, day);
  const msOfDay = (local - day * DAY_MS) | 0;
  const millis = msOfDay % 1000;
  const second = (msOfDay / 1000) | 0;
  const minute = (second / 60) | 0;
  const hour = (minute / 60) | 0;
  o.ensure(13);
  const b = o.buf;
  let p = o.pos;
  b[p++] = 84; // T
  b[p++] = 48 + ((hour / 10) | 0);
  b[p++] = 48 + (hour % 10);
  b[p++] = 58;
  b[p++] = 48 + (((minute % 60) / 10) | 0);
  b[p++] = 48 + (minute % 10);
  b[p++] = 58;
  b[p++] = 48 + (((second % 60) / 10) | 0);
  b[p++] = 48 + (second % 10);
  if (millis !== 0) {
    b[p++] = 46;
    b[p++] = 48 + ((millis / 100) | 0);
    b[p++] = 48 + (((millis / 10) | 0) % 10);
    b[p++] = 48 + (millis % 10);
  }
  o.pos = p;
  if (offset === 0) {
    o.ensure(1);
    o.buf[o.pos++] = 90; // Z
  } else {
    if (offset !== lastOffset) {
      lastOffset = offset;
      lastOffsetText = offsetText(offset);
    }
    o.ascii(lastOffsetText);
  }
}

// The text of the last non-zero offset written: a zone has few offsets, in long runs.
let lastOffset = 0;
let lastOffsetText = 'Z';
