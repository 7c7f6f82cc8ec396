import pg from 'pg';
import { TakeoutError } from '../errors.js';
import { zoneClock } from '../formats/datetime.js';
import { mapPostgresError, sqlstateOf } from './postgres-errors.js';

/**
 * Instants on the CSV text passthrough (`copy: true`). The query runs with the session's
 * `TimeZone = 'UTC'`, as on every other path, so the user's casts and date filters mean the
 * same thing; only the output text is in the export's zone, made in SQL as PostgreSQL's own
 * timestamptz output would make it there (`2024-03-01 13:05:09.123456+01`, `-00:44:30` when
 * the offset has seconds, ` BC` last).
 */
export interface CopyZone {
  /** The zone as the request names it (PostgreSQL resolves it itself). */
  name: string;
  /** UTC: the session's own output is already the text. */
  utc: boolean;
  /** Offsets (seconds) the zone has this year: tested first, the text written out in SQL. */
  common: number[];
}

export function copyZone(timezone: string): CopyZone {
  const clock = zoneClock(timezone);
  if (clock.zone === 'UTC') return { name: 'UTC', utc: true, common: [] };
  const year = new Date().getUTCFullYear();
  const offsets = [Date.UTC(year, 0, 1), Date.UTC(year, 6, 1)].map((ms) => clock.offsetMs(ms) / 1000);
  return { name: timezone, utc: false, common: [...new Set(offsets)] };
}

/** PostgreSQL's text of an offset in seconds: `+01`, `+05:30`, `-00:44:30`. */
export function offsetText(seconds: number): string {
  const abs = Math.abs(seconds);
  const two = (n: number) => String(n).padStart(2, '0');
  let text = (seconds < 0 ? '-' : '+') + two(Math.floor(abs / 3600));
  if (abs % 3600 !== 0) text += `:${two(Math.floor(abs / 60) % 60)}`;
  if (abs % 60 !== 0) text += `:${two(abs % 60)}`;
  return text;
}

/** offsetText in SQL, for an integer expression `o` (seconds). */
function offsetSql(o: string): string {
  const a = `abs(${o})`;
  const two = (n: string) => `lpad((${n})::text, 2, '0')`;
  return (
    `CASE WHEN ${o} < 0 THEN '-' ELSE '+' END || ${two(`${a} / 3600`)}` +
    ` || CASE WHEN ${a} % 3600 = 0 THEN '' ELSE ':' || ${two(`${a} / 60 % 60`)} END` +
    ` || CASE WHEN ${a} % 60 = 0 THEN '' ELSE ':' || ${two(`${a} % 60`)} END`
  );
}

/**
 * The text of the timestamptz expression `v` in `zone`, as PostgreSQL writes it with that
 * `TimeZone`; `-infinity` as `'-infinity` when formulas are escaped (the writers' rule).
 * The wall time is `v AT TIME ZONE zone`; the offset the difference from the UTC wall time.
 * A simple CASE computes the offset once and settles the usual ones by a comparison; the
 * general formatting costs more but is rare.
 */
export function instantSql(v: string, zone: CopyZone, escapeFormulas: boolean): string {
  const infinite = escapeFormulas
    ? `CASE WHEN ${v} = '-infinity' THEN '''-infinity' ELSE ${v}::text END`
    : `${v}::text`;
  if (zone.utc) return escapeFormulas ? infinite : v;
  const z = pg.escapeLiteral(zone.name);
  const wall = `(${v} AT TIME ZONE ${z})`;
  const o = `date_part('epoch', ${wall} - ${v}::timestamp)::int`;
  const usual = zone.common.map((s) => `WHEN ${s} THEN '${offsetText(s)}' `).join('');
  const offset = `CASE ${o} ${usual}ELSE ${offsetSql(o)} END`;
  // Near the ends of the range the wall time would overflow a timestamp, and BC puts ` BC`
  // after the offset: there the instant is shifted a day inwards, its date shifted back
  // (a date's range is wider) and the text put together.
  const shift = `CASE WHEN ${v} < '0001-01-02 00:00:00+00' THEN 1 ELSE -1 END`;
  const moved = `(${v} + ${shift} * interval '1 day')`;
  const movedWall = `(${moved} AT TIME ZONE ${z})`;
  const movedOffset = offsetSql(`date_part('epoch', ${movedWall} - (${moved} AT TIME ZONE 'UTC'))::int`);
  // West of UTC the first day of the range has a wall date before any date: written out.
  const date = `CASE WHEN ${movedWall} < '4714-11-25 00:00:00 BC' THEN '4714-11-23 BC' ELSE (${movedWall}::date - ${shift})::text END`;
  const edge = `regexp_replace(${date}, '( BC)?$', ' ' || ${movedWall}::time::text || ${movedOffset} || E'\\\\1')`;
  return (
    `CASE WHEN ${v} >= '0001-01-02 00:00:00+00' AND ${v} < '294276-12-30 00:00:00+00' THEN ${wall}::text || ${offset} ` +
    `WHEN ${v} IS NULL THEN NULL WHEN NOT isfinite(${v}) THEN ${infinite} ELSE ${edge} END`
  );
}

/**
 * Checks, before the COPY, that PostgreSQL knows the zone (`invalid_timezone` if not) and that
 * `AT TIME ZONE` reads it as the zone: it reads a name that is also an abbreviation (`CET`,
 * `EET`, `MET`, `WET`...) as that abbreviation's fixed offset, and a zone whose offsets ever
 * differ from it is refused rather than written with the wrong ones.
 */
export async function checkCopyZone(client: pg.ClientBase, zone: CopyZone): Promise<void> {
  if (zone.utc) return;
  let abbreviation: boolean;
  try {
    const known = await client.query<{ abbrev: boolean }>({
      text:
        'SELECT now() AT TIME ZONE $1 AS probe, ' +
        'EXISTS (SELECT FROM pg_timezone_abbrevs WHERE lower(abbrev) = lower($1)) AS abbrev',
      values: [zone.name],
    });
    abbreviation = known.rows[0]?.abbrev === true;
  } catch (error) {
    if (sqlstateOf(error) === '22023') {
      throw new TakeoutError(
        'invalid_timezone',
        `PostgreSQL does not know the time zone ${JSON.stringify(zone.name)}`,
        {
          cause: error,
        },
      );
    }
    throw mapPostgresError(error);
  }
  if (!abbreviation) return;
  const z = pg.escapeLiteral(zone.name);
  let same: boolean;
  try {
    // The zone's own offsets (TimeZone set to it) against AT TIME ZONE's, weekly over 250 years.
    const results = (await client.query(
      `SET LOCAL TimeZone = ${z}; ` +
        `SELECT bool_and(extract(timezone FROM t) = date_part('epoch', (t AT TIME ZONE ${z}) - (t AT TIME ZONE 'UTC'))) AS same ` +
        "FROM generate_series(timestamptz '1850-01-01 00:00+00', timestamptz '2100-01-01 00:00+00', interval '7 days') AS t; " +
        "SET LOCAL TimeZone = 'UTC'",
    )) as unknown as pg.QueryResult<{ same: boolean }>[];
    same = results[1]?.rows[0]?.same === true;
  } catch (error) {
    throw mapPostgresError(error);
  }
  if (!same) {
    throw new TakeoutError(
      'invalid_timezone',
      `With copy: true, PostgreSQL reads ${JSON.stringify(zone.name)} as a fixed-offset abbreviation, not as the zone: name the zone by its region (e.g. Europe/Paris), or export without copy`,
    );
  }
}
