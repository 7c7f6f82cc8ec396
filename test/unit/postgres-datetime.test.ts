/**
 * PostgreSQL date/time text parsers against an independent oracle (Date.UTC / Date.parse of
 * the equivalent ISO 8601 text) over many random values, plus the shapes the fast path
 * leaves to the regular expression.
 */
import { describe, expect, it } from 'vitest';
import { parseDate, parseTimestamp } from '../../src/sources/postgres-datetime.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('PostgreSQL date/time parsers', () => {
  it('read 20,000 random timestamps like Date.parse reads their ISO 8601 form', () => {
    const rnd = random(12345);
    for (let k = 0; k < 20_000; k++) {
      const y = 1000 + Math.floor(rnd() * 9000);
      const mo = 1 + Math.floor(rnd() * 12);
      const d = 1 + Math.floor(rnd() * 28);
      const h = Math.floor(rnd() * 24);
      const mi = Math.floor(rnd() * 60);
      const s = Math.floor(rnd() * 60);
      const digits = Math.floor(rnd() * 7); // 0..6 fraction digits
      const frac = digits ? String(Math.floor(rnd() * 10 ** digits)).padStart(digits, '0') : '';
      const offH = Math.floor(rnd() * 15);
      const offM = [0, 30, 45][Math.floor(rnd() * 3)] as number;
      const sign = rnd() < 0.5 ? '-' : '+';
      const base = `${y}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}${frac ? `.${frac}` : ''}`;
      const ms = frac ? `.${frac.padEnd(3, '0').slice(0, 3)}` : '';
      const iso = `${y}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}${ms}`;
      // timestamp (no zone): UTC wall time
      expect((parseTimestamp(base) as Date).getTime()).toBe(Date.parse(`${iso}Z`));
      // timestamptz as PostgreSQL writes it: +HH, or +HH:MM
      const pgOffset = offM ? `${sign}${pad(offH)}:${pad(offM)}` : `${sign}${pad(offH)}`;
      expect((parseTimestamp(base + pgOffset) as Date).getTime()).toBe(
        Date.parse(`${iso}${sign}${pad(offH)}:${pad(offM)}`),
      );
      expect((parseDate(`${y}-${pad(mo)}-${pad(d)}`) as Date).getTime()).toBe(Date.UTC(y, mo - 1, d));
    }
  });

  it('handles offsets with seconds, early and BC years, and keeps infinities as text', () => {
    expect((parseTimestamp('1890-01-01 00:00:00+05:53:28') as Date).toISOString()).toBe(
      '1889-12-31T18:06:32.000Z',
    );
    expect((parseTimestamp('0099-12-31 23:59:59.5') as Date).toISOString()).toBe('0099-12-31T23:59:59.500Z');
    expect((parseTimestamp('0044-03-15 12:00:00+00 BC') as Date).getUTCFullYear()).toBe(-43);
    expect((parseTimestamp('10000-01-01 00:00:00') as Date).toISOString()).toBe(
      '+010000-01-01T00:00:00.000Z',
    );
    expect((parseDate('0001-01-01') as Date).toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect((parseDate('0001-12-31 BC') as Date).getUTCFullYear()).toBe(0);
    expect(parseTimestamp('infinity')).toBe('infinity');
    expect(parseDate('-infinity')).toBe('-infinity');
    expect(parseDate('5874897-12-31')).toBe('5874897-12-31'); // beyond JavaScript's Date range
  });
});
