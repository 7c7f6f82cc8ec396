import { TakeoutError } from '../errors.js';

/**
 * Fast, allocation-light rendering of instants in an IANA time zone. Intl.DateTimeFormat is
 * correct but costs microseconds a call, too slow for millions of cells; so the zone's UTC
 * offset is looked up once per six hours of time and the wall-clock parts are computed by
 * arithmetic. When the offset differs at the two ends of such a span, the second of the
 * change is found by bisection (changes do not all fall on round times: St. John's changed
 * at 00:01 local time until 2011). No zone changes its offset twice within six hours.
 */
export interface ZoneClock {
  readonly zone: string;
  /**
   * Offset from UTC in minutes at the instant `ms` (e.g. +60 for Paris in winter), rounded:
   * ISO 8601 text cannot write the seconds of a local mean time offset (Paris +00:09:21).
   */
  offsetMinutes(ms: number): number;
  /** The exact offset in milliseconds (whole seconds): for wall times with no offset written (XLSX). */
  offsetMs(ms: number): number;
  /** ISO 8601 with offset: `2024-03-01T13:05:09+01:00`, or `Z` in UTC; milliseconds only when not 0. */
  isoDateTime(ms: number): string;
  /** Calendar date `YYYY-MM-DD` of the instant in the zone. */
  isoDate(ms: number): string;
}

const BUCKET_MS = 6 * 3600 * 1000;
/** Offset of a span: one value, or a change at the instant `at` (ms). */
type SpanOffset = number | { at: number; before: number; after: number };
const clocks = new Map<string, ZoneClock>();
/** Zone spellings remembered besides canonical names; bounded since callers choose them. */
const MAX_CLOCK_NAMES = 1024;

export function assertTimeZone(zone: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new TakeoutError('invalid_timezone', `Unknown time zone: ${JSON.stringify(zone).slice(0, 80)}`);
  }
}

export function zoneClock(zone = 'UTC'): ZoneClock {
  const known = clocks.get(zone);
  if (known) return known;
  const canonical = zone === 'UTC' || zone === 'Etc/UTC' ? 'UTC' : assertTimeZone(zone);
  let clock = clocks.get(canonical);
  if (!clock) {
    clock = createClock(canonical);
    clocks.set(canonical, clock);
  }
  if (clocks.size < MAX_CLOCK_NAMES) clocks.set(zone, clock);
  return clock;
}

/** `00`..`99`: two-digit fields without allocating. */
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : `${i}`));
/** `.001`..`.999` (index 0 unused: whole seconds print no fraction). */
const FRACTIONS = Array.from({ length: 1000 }, (_, i) => `.${`${i}`.padStart(3, '0')}`);
export const DAY_MS = 86_400_000;
/** The last instant a Date holds, either side of 1970 (±8.64e15 ms: 100,000,000 days). */
const MAX_INSTANT_MS = 8.64e15;

function year4(y: number): string {
  if (y >= 1000 && y <= 9999) return `${y}`;
  if (y >= 0 && y < 1000) return `${y}`.padStart(4, '0');
  return y < 0 ? `-${`${-y}`.padStart(6, '0')}` : `+${`${y}`.padStart(6, '0')}`;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (month 1-12), for any year: Date.UTC
 * reads years 0-99 as 1900-1999 and gives NaN past JavaScript's range. H. Hinnant's algorithm.
 */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether year-month-day (month 1-12) is a day of the proleptic Gregorian calendar. */
export function dayExists(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[month - 1]!);
}

/** The day number (days since 1970-01-01) of `YYYY-MM-DD` text naming a real day, else undefined. */
export function isoDayNumber(text: string): number | undefined {
  if (text.length !== 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined;
  let year = 0;
  for (let i = 0; i < 10; i++) {
    if (i === 4 || i === 7) continue;
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    if (i < 4) year = year * 10 + c;
  }
  const month = (text.charCodeAt(5) - 48) * 10 + text.charCodeAt(6) - 48;
  const day = (text.charCodeAt(8) - 48) * 10 + text.charCodeAt(9) - 48;
  return dayExists(year, month, day) ? daysFromCivil(year, month, day) : undefined;
}

/** Proleptic Gregorian [year, month 1-12, day] of a day count since 1970-01-01 (H. Hinnant's civil_from_days). */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

/**
 * `YYYY-MM-DD` of a day number, by arithmetic: a wall clock ahead of UTC can be past the last
 * instant a Date holds (+275760-09-13 in Paris).
 */
function civilText(days: number): string {
  const [year, month, day] = civilFromDays(days);
  return `${year4(year)}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}`;
}

// Exports mostly hold dates from a few thousand days, so the text of a day is cached in a
// direct-mapped table (slot = day mod 4096) instead of being rebuilt for every cell.
const DAY_SLOTS = 4096;
const slotDay = new Float64Array(DAY_SLOTS).fill(Number.NaN);
const slotText: string[] = new Array<string>(DAY_SLOTS).fill('');

/** `YYYY-MM-DD` of the day number `day` (days since 1970-01-01). */
export function dayText(day: number): string {
  const slot = day & (DAY_SLOTS - 1);
  if (slotDay[slot] === day) return slotText[slot]!;
  const text = civilText(day);
  slotDay[slot] = day;
  slotText[slot] = text;
  return text;
}

/** ISO 8601 offset: `Z`, `+05:45`, `-03:30`. */
export function offsetText(minutes: number): string {
  if (minutes === 0) return 'Z';
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${TWO_DIGITS[Math.floor(abs / 60)]}:${TWO_DIGITS[abs % 60]}`;
}

/** `THH:MM:` of each minute of a day: short strings are cheaper looked up than concatenated. */
const MINUTES = Array.from({ length: 1440 }, (_, m) => `T${TWO_DIGITS[(m / 60) | 0]}:${TWO_DIGITS[m % 60]}:`);

/** `YYYY-MM-DDTHH:MM:SS[.mmm]` of a wall-clock millisecond count, by integer arithmetic. */
function wallText(local: number): string {
  const day = Math.floor(local / DAY_MS);
  const msOfDay = (local - day * DAY_MS) | 0; // < 86,400,000: int32 arithmetic from here on
  const millis = msOfDay % 1000;
  const second = (msOfDay / 1000) | 0;
  const minute = (second / 60) | 0;
  const time = MINUTES[minute]! + TWO_DIGITS[second - minute * 60]!;
  return dayText(day) + (millis === 0 ? time : time + FRACTIONS[millis]!);
}

/**
 * Milliseconds of a UTC date and time (month 1-12). Date.UTC reads years 0-99 as 1900-1999;
 * those are set with setUTCFullYear, which takes them as they are.
 */
export function utcMs(year: number, month: number, day: number, h = 0, mi = 0, sec = 0, ms = 0): number {
  if (year >= 100) return Date.UTC(year, month - 1, day, h, mi, sec, ms);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(h, mi, sec, ms);
  return d.getTime();
}

/**
 * An offset lookup cached per six-hour span (see ZoneClock): `compute` gives the offset at an
 * instant, and a change inside a span is found to the second by bisection.
 */
function spanCached(compute: (ms: number) => number): (ms: number) => number {
  const cache = new Map<number, SpanOffset>();
  const spanOffset = (start: number): SpanOffset => {
    const before = compute(start);
    const after = compute(start + BUCKET_MS);
    if (before === after) return before;
    let lo = start; // offset(lo) === before
    let hi = start + BUCKET_MS; // offset(hi) === after
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (compute(mid) === before) lo = mid;
      else hi = mid;
    }
    return { at: hi, before, after };
  };
  return (ms) => {
    const bucket = Math.floor(ms / BUCKET_MS);
    let span = cache.get(bucket);
    if (span === undefined) {
      span = spanOffset(bucket * BUCKET_MS);
      if (cache.size > 100_000) cache.clear();
      cache.set(bucket, span);
    }
    return typeof span === 'number' ? span : ms < span.at ? span.before : span.after;
  };
}

function createClock(zone: string): ZoneClock {
  let offsetOf: (ms: number) => number;
  let offsetMsOf: (ms: number) => number;
  if (zone === 'UTC') {
    offsetOf = () => 0;
    offsetMsOf = () => 0;
  } else {
    const fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    /** The exact offset in ms (whole seconds: local mean times had seconds, Paris +00:09:21). */
    const exact = (instant: number): number => {
      // Spans at the ends of JavaScript's range reach past it: the last instant's offset.
      const ms = Math.min(Math.max(instant, -MAX_INSTANT_MS), MAX_INSTANT_MS);
      const parts: Record<string, string> = {};
      for (const p of fmt.formatToParts(ms)) parts[p.type] = p.value;
      let year = Number(parts.year);
      if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
      // By arithmetic: the wall clock may be past the range a Date (and Date.UTC) holds.
      const wall =
        daysFromCivil(year, Number(parts.month), Number(parts.day)) * DAY_MS +
        Number(parts.hour) * 3_600_000 +
        Number(parts.minute) * 60_000 +
        Number(parts.second) * 1000;
      const floored = ms - (((ms % 1000) + 1000) % 1000);
      return wall - floored;
    };
    // Two caches, each filled only when used: the texts' rounded minutes stay one lookup.
    offsetOf = spanCached((ms) => Math.round(exact(ms) / 60000));
    offsetMsOf = spanCached(exact);
  }
  // The offset text of the last offset seen: a zone has few offsets, and runs of one.
  let lastOffset = 0;
  let lastOffsetText = 'Z';
  return {
    zone,
    offsetMinutes: offsetOf,
    offsetMs: offsetMsOf,
    isoDateTime(ms) {
      const off = offsetOf(ms);
      if (off !== lastOffset) {
        lastOffset = off;
        lastOffsetText = offsetText(off);
      }
      return wallText(ms + off * 60000) + lastOffsetText;
    },
    isoDate(ms) {
      return dayText(Math.floor((ms + offsetOf(ms) * 60000) / DAY_MS));
    },
  };
}

/** A `date` column value given as a Date is a calendar date: its UTC date parts are used. */
export function calendarDate(d: Date): string {
  const ms = d.getTime();
  return Number.isNaN(ms) ? '' : dayText(Math.floor(ms / DAY_MS));
}
