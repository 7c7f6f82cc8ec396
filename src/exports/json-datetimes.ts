import type { ColumnSpec, Row } from '../types.js';

/**
 * Inline rows come as JSON, which has no date type. In a column the request declares
 * `datetime`, text in ISO 8601 with its offset (`2024-03-31T00:59:59Z`, `...T01:59:59+01:00`)
 * is the instant it names: written in the export's `timezone`, and as a date cell in XLSX, as
 * a Date handed to the library is. Other text (no offset, a day that does not exist, more than
 * millisecond precision, which a Date would cut) stays text.
 */
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** The instant `text` names, or undefined. JavaScript's parser would roll February 30 into March. */
export function jsonInstant(text: string): Date | undefined {
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return undefined;
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return undefined;
  return date;
}

/** The declared `datetime` columns: by key for object rows, by position for array rows. */
function datetimeColumns(columns: readonly ColumnSpec[]): { keys: string[]; indexes: number[] } {
  const keys: string[] = [];
  const indexes: number[] = [];
  columns.forEach((column, i) => {
    if (typeof column === 'object' && column.type === 'datetime') {
      keys.push(column.key);
      indexes.push(i);
    }
  });
  return { keys, indexes };
}

/** A row with its instants as Dates: a copy when one changed (the request's rows stay as sent). */
function converter(columns: readonly ColumnSpec[]): ((row: Row) => Row) | undefined {
  const { keys, indexes } = datetimeColumns(columns);
  if (keys.length === 0) return undefined;
  return (row) => {
    if (Array.isArray(row)) {
      let copy: unknown[] | undefined;
      for (const i of indexes) {
        const date = typeof row[i] === 'string' ? jsonInstant(row[i]) : undefined;
        if (!date) continue;
        copy ??= [...row];
        copy[i] = date;
      }
      return copy ?? row;
    }
    let copy: Record<string, unknown> | undefined;
    const record = row as Record<string, unknown>;
    for (const key of keys) {
      const value = Object.hasOwn(record, key) ? record[key] : undefined;
      const date = typeof value === 'string' ? jsonInstant(value) : undefined;
      if (!date) continue;
      copy ??= { ...record };
      copy[key] = date;
    }
    return copy ?? row;
  };
}

function* mapSync(rows: Iterable<Row>, convert: (row: Row) => Row): Generator<Row> {
  for (const row of rows) yield convert(row);
}

async function* mapAsync(rows: AsyncIterable<Row>, convert: (row: Row) => Row): AsyncGenerator<Row> {
  for await (const row of rows) yield convert(row);
}

/** Inline JSON rows with the instants of their declared `datetime` columns read (see above). */
export function withJsonDatetimes(
  rows: Iterable<Row> | AsyncIterable<Row>,
  columns: readonly ColumnSpec[] | undefined,
): Iterable<Row> | AsyncIterable<Row> {
  const convert = columns && converter(columns);
  if (!convert) return rows;
  return Symbol.asyncIterator in rows ? mapAsync(rows, convert) : mapSync(rows, convert);
}
