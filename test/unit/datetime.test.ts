import { describe, expect, it } from 'vitest';
import { assertTimeZone, calendarDate, zoneClock } from '../../src/formats/datetime.js';

/**
 * The oracle: Intl.DateTimeFormat (ICU's tz database) gives the wall clock and the offset
 * of an instant; we assemble the ISO 8601 text the writer should produce from them.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(zone: string): Intl.DateTimeFormat {
  let fmt = formatters.get(zone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
    formatters.set(zone, fmt);
  }
  return fmt;
}

function intlIso(ms: number, zone: string): string {
  const parts: Record<string, string> = {};
  for (const p of formatterOf(zone).formatToParts(ms)) parts[p.type] = p.value;
  const gmt = parts.timeZoneName!.slice(3);
  const offset = gmt === '' || gmt === '+00:00' ? 'Z' : gmt;
  const frac = ms % 1000 === 0 ? '' : `.${String(((ms % 1000) + 1000) % 1000).padStart(3, '0')}`;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${frac}${offset}`;
}

const ZONES = [
  'UTC',
  'Europe/Paris',
  'America/New_York',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'America/St_Johns',
  'Australia/Lord_Howe', // 30-minute DST
  'Pacific/Chatham', // +12:45 / +13:45
  'America/Sao_Paulo',
  'Pacific/Apia', // skipped a whole day in 2011
];

/**
 * A deterministic spread of instants (xorshift) from 1950 to 2100, with milliseconds. Before
 * about 1940 some zones had offsets with seconds (St. John's -03:30:52), which ISO 8601 cannot
 * write: there the text still denotes the exact instant (tested below) but its wall clock
 * differs from Intl's by those seconds.
 */
function instants(count: number): number[] {
  let x = 88172645;
  const out: number[] = [];
  const from = Date.UTC(1950, 0, 1);
  const to = Date.UTC(2100, 0, 1);
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const r = (x >>> 0) / 2 ** 32;
    out.push(Math.floor(from + r * (to - from)));
  }
  return out;
}

describe('zoneClock', () => {
  it.each([
    // Europe/Paris spring forward (2024-03-31 02:00 -> 03:00) and fall back (03:00 -> 02:00)
    ['Europe/Paris', '2024-03-31T00:59:59Z', '2024-03-31T01:59:59+01:00'],
    ['Europe/Paris', '2024-03-31T01:00:00Z', '2024-03-31T03:00:00+02:00'],
    ['Europe/Paris', '2024-10-27T00:59:59.999Z', '2024-10-27T02:59:59.999+02:00'],
    ['Europe/Paris', '2024-10-27T01:00:00Z', '2024-10-27T02:00:00+01:00'],
    // America/New_York: 2024-03-10 02:00 -> 03:00 and 2024-11-03 02:00 -> 01:00
    ['America/New_York', '2024-03-10T06:59:59Z', '2024-03-10T01:59:59-05:00'],
    ['America/New_York', '2024-03-10T07:00:00Z', '2024-03-10T03:00:00-04:00'],
    ['America/New_York', '2024-11-03T05:59:59Z', '2024-11-03T01:59:59-04:00'],
    ['America/New_York', '2024-11-03T06:00:00Z', '2024-11-03T01:00:00-05:00'],
    ['Asia/Kolkata', '2024-01-01T00:00:00Z', '2024-01-01T05:30:00+05:30'],
    ['Asia/Kolkata', '2023-12-31T18:29:59Z', '2023-12-31T23:59:59+05:30'],
    ['Asia/Kathmandu', '2024-06-30T18:15:00Z', '2024-07-01T00:00:00+05:45'],
    // Kathmandu moved from +05:30 to +05:45 at 1986-01-01 00:00 local
    ['Asia/Kathmandu', '1985-12-31T18:29:59Z', '1985-12-31T23:59:59+05:30'],
    ['Asia/Kathmandu', '1985-12-31T18:30:00Z', '1986-01-01T00:15:00+05:45'],
    ['UTC', '2024-02-29T12:00:00.007Z', '2024-02-29T12:00:00.007Z'],
    ['UTC', '1969-12-31T23:59:59.999Z', '1969-12-31T23:59:59.999Z'],
  ])('renders %s at %s as %s', (zone, instant, expected) => {
    const ms = Date.parse(instant);
    expect(zoneClock(zone).isoDateTime(ms)).toBe(expected);
    expect(Date.parse(expected)).toBe(ms);
  });

  it.each(ZONES)('agrees with Intl on 3000 instants from 1950 to 2100 in %s', (zone) => {
    const clock = zoneClock(zone);
    for (const ms of instants(3000)) expect(clock.isoDateTime(ms)).toBe(intlIso(ms, zone));
  });

  // 2005-2015 holds St. John's changes at 00:01 local, Samoa's skipped day (2011-12-30),
  // the US rule change of 2007 and Lord Howe's 30-minute shifts.
  const CHANGING = [
    'Europe/Paris',
    'America/New_York',
    'America/St_Johns',
    'Australia/Lord_Howe',
    'Pacific/Chatham',
    'Pacific/Apia',
  ];
  it.each(CHANGING)('agrees with Intl around every offset change of 2005-2015 in %s', (zone) => {
    const clock = zoneClock(zone);
    const step = 3600_000;
    let previous = clock.offsetMinutes(Date.UTC(2005, 0, 1));
    let changes = 0;
    for (let ms = Date.UTC(2005, 0, 1); ms < Date.UTC(2015, 0, 1); ms += step) {
      const offset = clock.offsetMinutes(ms);
      if (offset === previous) continue;
      previous = offset;
      changes++;
      // A change happened within the last hour: check every minute around it.
      for (let t = ms - step - 60_000; t <= ms + 60_000; t += 60_000) {
        expect(clock.isoDateTime(t)).toBe(intlIso(t, zone));
        expect(clock.isoDateTime(t - 1)).toBe(intlIso(t - 1, zone));
      }
    }
    expect(changes).toBeGreaterThanOrEqual(10);
  });

  it('always denotes the exact instant, even with local mean time and far years', () => {
    const cases = [
      Date.UTC(1850, 5, 1, 12, 0, 0),
      Date.UTC(1931, 10, 5, 6, 45, 26, 394),
      Date.UTC(1900, 0, 1, 0, 0, 0, 1),
      Date.UTC(1, 0, 1),
      Date.UTC(999, 11, 31, 23, 59, 59),
      Date.UTC(-50, 0, 1),
      Date.UTC(12345, 6, 1),
      // Years 0-99 (Date.UTC would read them as 1900-1999).
      Date.parse('0050-06-01T12:00:00Z'),
      Date.parse('0001-01-01T00:00:00Z'),
      Date.parse('0000-03-01T00:00:00Z'),
      Date.parse('0099-12-31T23:59:59.999Z'),
    ];
    for (const zone of ZONES) {
      for (const ms of cases) expect(Date.parse(zoneClock(zone).isoDateTime(ms)), `${zone} ${ms}`).toBe(ms);
    }
  });

  it('renders the first and last instants a Date holds, in every zone', () => {
    const ends = [8.64e15, 8.64e15 - 1, -8.64e15, -8.64e15 + 1];
    for (const zone of ZONES) {
      const clock = zoneClock(zone);
      for (const ms of ends) {
        // The wall clock may lie past the range (Paris is ahead of UTC at the last instant).
        const text = clock.isoDateTime(ms);
        expect(Date.parse(text), `${zone} ${text}`).toBe(ms);
        expect(text.startsWith(`${clock.isoDate(ms)}T`), `${zone} ${text}`).toBe(true);
      }
      // At the top end offsets have whole minutes: the wall clock is Intl's, field by field.
      const intl = intlIso(8.64e15, zone);
      const year = intl.slice(0, intl.indexOf('-'));
      expect(clock.isoDateTime(8.64e15)).toBe(`+${year.padStart(6, '0')}${intl.slice(year.length)}`);
    }
  });

  it('writes four-digit years below 1000 and expanded years outside 0-9999', () => {
    const utc = zoneClock('UTC');
    expect(utc.isoDateTime(Date.UTC(999, 0, 2))).toBe('0999-01-02T00:00:00Z');
    expect(utc.isoDateTime(Date.UTC(12345, 0, 2))).toBe('+012345-01-02T00:00:00Z');
    expect(utc.isoDateTime(Date.UTC(-1, 0, 2))).toBe('-000001-01-02T00:00:00Z');
    // Paris kept local mean time (+00:09:21) until 1891: in year 50 its offset rounds to +00:09.
    expect(zoneClock('Europe/Paris').isoDateTime(Date.parse('0050-06-01T12:00:00Z'))).toBe(
      '0050-06-01T12:09:00+00:09',
    );
  });

  it('gives offsets in minutes and the calendar date in the zone', () => {
    const ms = Date.parse('2024-07-14T22:30:00Z');
    expect(zoneClock('Europe/Paris').offsetMinutes(ms)).toBe(120);
    expect(zoneClock('America/St_Johns').offsetMinutes(ms)).toBe(-150);
    expect(zoneClock('Europe/Paris').isoDate(ms)).toBe('2024-07-15');
    expect(zoneClock('America/New_York').isoDate(ms)).toBe('2024-07-14');
  });

  it('gives the exact offset in milliseconds, seconds included (for XLSX wall times)', () => {
    const monrovia = zoneClock('Africa/Monrovia');
    const at = Date.parse('1970-06-01T12:00:00Z');
    expect(monrovia.offsetMs(at)).toBe(-(44 * 60 + 30) * 1000);
    expect(monrovia.offsetMinutes(at)).toBe(-44); // the ISO texts' offset, rounded
    // The change of 1972-01-07 (-00:44:30 -> +00:00) is found to the second.
    const change = Date.parse('1972-01-07T00:44:30Z');
    expect(monrovia.offsetMs(change - 1000)).toBe(-2_670_000);
    expect(monrovia.offsetMs(change)).toBe(0);
    expect(zoneClock('Europe/Paris').offsetMs(Date.parse('1900-01-01T00:00:00Z'))).toBe(561_000);
    expect(zoneClock('Asia/Kathmandu').offsetMs(Date.parse('1911-06-01T00:00:00Z'))).toBe(20_476_000);
    expect(zoneClock('Asia/Kolkata').offsetMs(Date.parse('2024-01-01T00:00:00Z'))).toBe(19_800_000);
    expect(zoneClock('UTC').offsetMs(at)).toBe(0);
  });

  it('shares one clock per zone whatever the spelling', () => {
    expect(zoneClock('europe/paris')).toBe(zoneClock('Europe/Paris'));
    expect(zoneClock('europe/paris').zone).toBe('Europe/Paris');
    expect(zoneClock('Etc/UTC').zone).toBe('UTC');
  });
});

describe('assertTimeZone', () => {
  it('returns the canonical name of a known zone', () => {
    expect(assertTimeZone('europe/paris')).toBe('Europe/Paris');
    // ICU's canonical name may be the older one (Asia/Calcutta); either names the same zone.
    expect(['Asia/Kolkata', 'Asia/Calcutta']).toContain(assertTimeZone('asia/kolkata'));
  });

  it.each(['Mars/Olympus_Mons', '', '../../etc/passwd', 'Europe/Paris\n'])(
    'rejects %j with invalid_timezone',
    (zone) => {
      expect(() => assertTimeZone(zone)).toThrow(expect.objectContaining({ code: 'invalid_timezone' }));
      expect(() => zoneClock(zone)).toThrow(expect.objectContaining({ code: 'invalid_timezone' }));
    },
  );
});

describe('calendarDate', () => {
  it('takes the UTC date of a Date', () => {
    expect(calendarDate(new Date('2024-02-29T00:00:00Z'))).toBe('2024-02-29');
    expect(calendarDate(new Date('2024-02-29T23:59:59.999Z'))).toBe('2024-02-29');
  });
});
