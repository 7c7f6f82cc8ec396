import { civilFromDays } from '../formats/datetime.js';
import { type Decode, int32, uint32 } from './postgres-binary-values.js';

/**
 * Decoders of the binary date/time types into the cursor path's values (postgres-datetime.ts
 * parses the text of the same settings: DateStyle ISO, TimeZone UTC, IntervalStyle iso_8601):
 * - date (int32 days since 2000-01-01) -> Date at UTC midnight;
 * - timestamp, timestamptz (int64 microseconds since 2000-01-01 00:00 UTC) -> Date, the
 *   microseconds truncated to milliseconds (as the text parser truncates the fraction);
 * - `infinity`, `-infinity` and instants beyond JavaScript's Date range -> PostgreSQL's text;
 * - time, timetz, interval -> PostgreSQL's text.
 */

const EPOCH_2000_MS = 946_684_800_000;
const DAY_MS = 86_400_000;
const MAX_DATE_MS = 8.64e15; // JavaScript's Date range: +-8.64e15 ms around 1970
const TWO_32 = 4294967296;
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;

export const decodeDate: Decode = (buf, pos) => {
  const days = int32(buf, pos);
  if (days === INT32_MAX) return 'infinity';
  if (days === INT32_MIN) return '-infinity';
  const ms = days * DAY_MS + EPOCH_2000_MS;
  return ms >= -MAX_DATE_MS && ms <= MAX_DATE_MS ? new Date(ms) : dateText(days + 10957);
};

function isInfinite(hi: number, lo: number): 'infinity' | '-infinity' | undefined {
  if (hi === INT32_MAX && lo === 0xffffffff) return 'infinity';
  if (hi === INT32_MIN && lo === 0) return '-infinity';
  return undefined;
}

/**
 * The instant of a timestamp(tz) in milliseconds, the microseconds truncated; NaN for
 * `infinity`, `-infinity` and instants beyond JavaScript's Date range.
 */
export function timestampMs(buf: Buffer, pos: number): number {
  const hi = int32(buf, pos);
  const lo = uint32(buf, pos + 4);
  if (isInfinite(hi, lo)) return Number.NaN;
  // floor(us / 1000) exactly: hi = 1000 a + r, so us = 1000 a 2^32 + (r 2^32 + lo).
  const r = ((hi % 1000) + 1000) % 1000;
  const a = (hi - r) / 1000;
  const ms = a * TWO_32 + Math.floor((r * TWO_32 + lo) / 1000) + EPOCH_2000_MS;
  return ms >= -MAX_DATE_MS && ms <= MAX_DATE_MS ? ms : Number.NaN;
}

function timestampDecoder(zone: string): Decode {
  return (buf, pos) => {
    const ms = timestampMs(buf, pos);
    if (!Number.isNaN(ms)) return new Date(ms);
    return (
      isInfinite(buf.readInt32BE(pos), buf.readUInt32BE(pos + 4)) ??
      timestampText(buf.readBigInt64BE(pos), zone)
    );
  };
}

export const decodeTimestamp = timestampDecoder('');
export const decodeTimestamptz = timestampDecoder('+00');

/** time: int64 microseconds since midnight -> `HH:MM:SS[.ffffff]`. */
export const decodeTime: Decode = (buf, pos) => timeText(readInt64(buf, pos));

/** timetz: time, then the zone as int32 seconds west of UTC. */
export const decodeTimetz: Decode = (buf, pos) =>
  timeText(readInt64(buf, pos)) + zoneText(buf.readInt32BE(pos + 8));

/** interval: int64 microseconds, int32 days, int32 months -> ISO 8601 as interval_out writes it. */
export const decodeInterval: Decode = (buf, pos) => {
  const days = buf.readInt32BE(pos + 8);
  const months = buf.readInt32BE(pos + 12);
  const hi = buf.readInt32BE(pos);
  // Beyond 2^53 microseconds (285 years) the time part needs exact integers.
  const time = hi >= -0x200000 && hi < 0x200000 ? readInt64(buf, pos) : buf.readBigInt64BE(pos);
  return intervalText(Math.trunc(months / 12), months % 12, days, time);
};

function readInt64(buf: Buffer, pos: number): number {
  return int32(buf, pos) * TWO_32 + uint32(buf, pos + 4);
}

function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, '0');
}

/** Fraction digits of microseconds, trailing zeros dropped (PostgreSQL's AppendSeconds). */
function fraction(us: number): string {
  if (us === 0) return '';
  return `.${pad(us, 6).replace(/0+$/, '')}`;
}

function timeText(us: number): string {
  const sec = Math.floor(us / 1e6);
  return `${pad(Math.floor(sec / 3600), 2)}:${pad(Math.floor(sec / 60) % 60, 2)}:${pad(sec % 60, 2)}${fraction(us - sec * 1e6)}`;
}

function zoneText(secondsWest: number): string {
  const abs = Math.abs(secondsWest);
  const sign = secondsWest <= 0 ? '+' : '-';
  const h = Math.floor(abs / 3600);
  const m = Math.floor(abs / 60) % 60;
  const s = abs % 60;
  if (s !== 0) return `${sign}${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}`;
  if (m !== 0) return `${sign}${pad(h, 2)}:${pad(m, 2)}`;
  return `${sign}${pad(h, 2)}`;
}

function part(n: number | bigint, unit: string): string {
  return n === 0 || n === 0n ? '' : `${n}${unit}`;
}

function intervalText(years: number, months: number, days: number, time: number | bigint): string {
  // Split as interval2itm does: C division, truncating toward zero.
  let hours: number | bigint;
  let minutes: number;
  let seconds: number;
  let micros: number;
  if (typeof time === 'bigint') {
    hours = time / 3_600_000_000n;
    const rest = Number(time - hours * 3_600_000_000n);
    minutes = Math.trunc(rest / 60_000_000);
    seconds = Math.trunc((rest % 60_000_000) / 1_000_000);
    micros = rest % 1_000_000;
  } else {
    hours = Math.trunc(time / 3_600_000_000);
    const rest = time - hours * 3_600_000_000;
    minutes = Math.trunc(rest / 60_000_000);
    seconds = Math.trunc((rest % 60_000_000) / 1_000_000);
    micros = rest % 1_000_000;
  }
  const noTime = (hours === 0 || hours === 0n) && minutes === 0 && seconds === 0 && micros === 0;
  if (years === 0 && months === 0 && days === 0 && noTime) return 'PT0S';
  let text = `P${part(years, 'Y')}${part(months, 'M')}${part(days, 'D')}`;
  if (noTime) return text;
  text += `T${part(hours, 'H')}${part(minutes, 'M')}`;
  if (seconds !== 0 || micros !== 0) {
    text += `${seconds < 0 || micros < 0 ? '-' : ''}${Math.abs(seconds)}${fraction(Math.abs(micros))}S`;
  }
  return text;
}

/** `YYYY-MM-DD` (` BC` for years before 1) as DateStyle ISO writes it. */
function dateText(unixDays: number): string {
  const [year, month, day] = civilFromDays(unixDays);
  const bc = year <= 0;
  return `${pad(bc ? 1 - year : year, 4)}-${pad(month, 2)}-${pad(day, 2)}${bc ? ' BC' : ''}`;
}

/** PostgreSQL's text of a timestamp beyond JavaScript's Date range (the cursor path keeps it). */
function timestampText(us: bigint, zone: string): string {
  const dayUs = 86_400_000_000n;
  let days = us / dayUs;
  let rest = us % dayUs;
  if (rest < 0n) {
    rest += dayUs;
    days -= 1n;
  }
  const text = dateText(Number(days) + 10957);
  const time = timeText(Number(rest));
  // The ` BC` suffix comes after the time and zone.
  return text.endsWith(' BC') ? `${text.slice(0, -3)} ${time}${zone} BC` : `${text} ${time}${zone}`;
}
