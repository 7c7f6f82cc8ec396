import pg from 'pg';
import { formulaRuleCodes, looksLikeFormula, NUMBER_TEXT } from '../formats/formula.js';
import type { CsvDialect, ResolvedColumn } from '../types.js';
import { type CopyZone, instantSql } from './postgres-copy-time.js';
import { OID } from './postgres-types.js';

/**
 * The CSV fast path: `COPY (query) TO STDOUT WITH (FORMAT csv)` streamed straight into the
 * file. The export core decides when it applies (the format's bytes are plain CSV in a
 * dialect, see `FormatWriter.plainCsv`); what differs from the row-by-row writer is
 * documented in docs/postgres.md. The source only declines dialects COPY cannot write.
 */
export type CopyDialect = CsvDialect;

/** Whether COPY can write `dialect`: a one-byte ASCII delimiter other than a quote. */
export function copyCanWrite(dialect: CsvDialect): boolean {
  return /^[\t\x20-\x21\x23-\x7e]$/.test(dialect.delimiter);
}

/** Types whose text never starts with a formula character (no escaping needed). */
const NEVER_FORMULA = new Set<number>([OID.uuid, OID.time, OID.timetz, OID.interval]);

export interface CopyColumnInfo {
  /** Type OID after resolving domains; undefined for non-built-in types. */
  baseOid: number | undefined;
  type: ResolvedColumn['type'];
  /** Whether the column is an array (rendered as JSON). */
  isArray: boolean;
}

/**
 * The SELECT that COPY runs: the dataset's query wrapped so that the requested columns come
 * out in order (columns are renamed positionally, so duplicate names are fine) and the value
 * text follows Takeout where that is cheap in SQL: booleans `true`/`false`, bytes in base64,
 * `timestamp` read as UTC like the cursor path, instants in the export's zone, arrays as JSON,
 * formula-looking text prefixed with `'`, each column as its declared type asks (valueExpr).
 * Returns the query unchanged when nothing needs wrapping.
 */
export function copySelect(
  query: string,
  infos: readonly CopyColumnInfo[],
  columns: readonly ResolvedColumn[],
  escapeFormulas: boolean,
  zone: CopyZone,
): string {
  let changed = columns.length !== infos.length;
  const exprs = columns.map((column, i) => {
    const index = column.index ?? i;
    if (index !== i) changed = true;
    const info = infos[index];
    const ref = `c${index + 1}`;
    const expr = info ? valueExpr(ref, info, column.type, escapeFormulas, zone) : ref;
    if (expr !== ref) changed = true;
    return expr;
  });
  if (!changed) return query;
  const names = infos.map((_, i) => `c${i + 1}`).join(', ');
  return `SELECT ${exprs.join(', ')} FROM (\n${query}\n) AS takeout_q(${names})`;
}

/** The writers' NUMBER_TEXT as a PostgreSQL regular expression (`\d` follows the locale there). */
const NUMBER_SQL = pg.escapeLiteral(NUMBER_TEXT.source.replaceAll('\\d', '[0-9]'));

/**
 * One column's text. Its declared type (the dataset's `column.type`, else the database's)
 * decides as in the writers: text in a numeric column is escaped only when it is not a
 * number's text, other text (a `numeric` declared `string` too) by the formula rule; a date
 * or timestamp declared `date` is its calendar date (UTC), declared anything else the instant
 * in the export's zone.
 */
function valueExpr(
  ref: string,
  info: CopyColumnInfo,
  declared: ResolvedColumn['type'],
  escapeFormulas: boolean,
  zone: CopyZone,
): string {
  if (info.isArray) return `to_json(${ref})`;
  const asDate = declared === 'date';
  switch (info.baseOid) {
    case OID.bool:
      return `CASE WHEN ${ref} THEN 'true' WHEN NOT ${ref} THEN 'false' END`;
    case OID.bytea: {
      const base64 = `translate(encode(${ref}, 'base64'), E'\\n', '')`;
      // Base64 starts with `+` when the first byte is 0xF8-0xFB: the writers escape it.
      if (!escapeFormulas) return base64;
      return `CASE WHEN substring(${ref} FROM 1 FOR 1) BETWEEN '\\xf8'::bytea AND '\\xfb'::bytea THEN '''' ELSE '' END || ${base64}`;
    }
    case OID.timestamp:
      if (asDate) return minusInfinity(`${ref}::date`, escapeFormulas);
      return instantSql(`(${ref} AT TIME ZONE 'UTC')`, zone, escapeFormulas);
    case OID.timestamptz:
      if (asDate) return minusInfinity(`(${ref} AT TIME ZONE 'UTC')::date`, escapeFormulas);
      return instantSql(ref, zone, escapeFormulas);
    case OID.date:
      if (asDate) return minusInfinity(ref, escapeFormulas);
      return instantSql(`(${ref}::timestamp AT TIME ZONE 'UTC')`, zone, escapeFormulas);
  }
  const numeric = declared === 'integer' || declared === 'number' || declared === 'decimal';
  if (info.type === 'decimal') {
    // A number's own text (`-Infinity` too, see docs/postgres.md), unless declared as text.
    return escapeFormulas && !numeric ? escapedText(ref, true, false) : ref;
  }
  if (escapeFormulas && info.type === 'string' && !NEVER_FORMULA.has(info.baseOid ?? 0)) {
    return escapedText(ref, info.baseOid === OID.text || info.baseOid === OID.varchar, numeric);
  }
  return ref;
}

/**
 * Text with the formula rule's `'`, except a number's text (`-5.00`) in a numeric column.
 * The value as its type writes it: a cast to text is not always that (inet keeps its /32,
 * char(n) loses its padding); format('%s') is, but turns NULL into '', so NULL stays apart
 * (num_nulls: `IS NULL` is also true of a composite whose fields are all NULL, `(,)`).
 * `plain`: a type whose cast to text is its output (text, varchar, numeric).
 */
function escapedText(ref: string, plain: boolean, numeric: boolean): string {
  const text = plain ? `${ref}::text` : `format('%s', ${ref})`;
  const whenNull = plain ? '' : `WHEN num_nulls(${ref}) = 1 THEN NULL `;
  const formula = numeric ? `${formulaSql(text)} AND ${text} !~ ${NUMBER_SQL}` : formulaSql(text);
  return `CASE ${whenNull}WHEN ${formula} THEN '''' || ${text} ELSE ${text} END`;
}

/**
 * A date as COPY writes it, but `-infinity` as the writers write that text under the formula
 * rule (`'-infinity`); a cast to text is the type's output, as COPY's.
 */
function minusInfinity(value: string, escapeFormulas: boolean): string {
  if (!escapeFormulas) return value;
  return `CASE WHEN ${value} = '-infinity' THEN '''-infinity' ELSE ${value}::text END`;
}

/**
 * The writers' formula rule (src/formats/formula.ts) in SQL, for a UTF-8 database. ascii()
 * reads the first character without making a new text value: the cheap test that settles
 * almost every value; only text starting with white space or an invisible mark meets the regex.
 */
const formulaSql = (() => {
  const { formula, control, hides } = formulaRuleCodes();
  const u = (c: number) => `\\u${c.toString(16).padStart(4, '0')}`;
  // ascii('') is 0, and PostgreSQL text holds no NUL: 0 is left out of the lists.
  const first = [...formula, ...control].filter((c) => c !== 0).join(', ');
  const hiding = hides.join(', ');
  const skipped = [...hides, ...control]
    .filter((c) => c !== 0)
    .map(u)
    .join('');
  const pattern = pg.escapeLiteral(`^[${skipped}]*[${formula.map(u).join('')}]`);
  return (text: string) =>
    `(ascii(${text}) IN (${first}) OR (ascii(${text}) IN (${hiding}) AND ${text} ~ ${pattern}))`;
})();

export function copyStatement(select: string, dialect: CopyDialect): string {
  return `COPY (${select}\n) TO STDOUT WITH (FORMAT csv, DELIMITER ${pg.escapeLiteral(dialect.delimiter)})`;
}

/** BOM and header line as Takeout's CSV writer writes them (COPY's HEADER is not used). */
export function copyPrefix(columns: readonly ResolvedColumn[], dialect: CopyDialect): string {
  let prefix = dialect.bom ? '\uFEFF' : '';
  if (!dialect.header) return prefix;
  const special = /["\r\n]/;
  const cells = columns.map((c) => {
    const text = dialect.escapeFormulas && looksLikeFormula(c.header) ? `'${c.header}` : c.header;
    return special.test(text) || text.includes(dialect.delimiter) ? `"${text.replace(/"/g, '""')}"` : text;
  });
  prefix += cells.join(dialect.delimiter) + dialect.lineEnding;
  return prefix;
}
