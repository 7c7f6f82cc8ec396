import { jsonDocument } from '../raw-json.js';
import type { ColumnType } from '../types.js';
import { parseDate, parseTimestamp } from './postgres-datetime.js';

/**
 * PostgreSQL type OIDs -> Takeout column types and text-format value parsers. The source pins
 * the session settings these parsers rely on (postgres.ts): DateStyle ISO, TimeZone UTC,
 * IntervalStyle iso_8601, bytea_output hex, extra_float_digits 1. Parsers are given to pg per
 * query; pg's global defaults are never touched.
 */
export type ValueParser = (text: string) => unknown;

export interface PgTypeInfo {
  type: ColumnType;
  parse: ValueParser;
}

export const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

const identity: ValueParser = (s) => s;
const toNumber: ValueParser = (s) => +s;

/** int8: a number when it is exactly representable, else a bigint. Never rounded. */
export const parseInt8: ValueParser = (s) => {
  if (s.length < 16) return +s; // at most 15 digits: always a safe integer
  const n = +s;
  return Number.isSafeInteger(n) ? n : BigInt(s);
};

const parseBool: ValueParser = (s) => s === 't';
const parseBytea: ValueParser = (s) =>
  s.startsWith('\\x') ? Buffer.from(s.slice(2), 'hex') : Buffer.from(s, 'latin1');
const parseJson: ValueParser = (s) => jsonDocument(s, true);

const SCALARS = new Map<number, PgTypeInfo>([
  [OID.bool, { type: 'boolean', parse: parseBool }],
  [OID.bytea, { type: 'string', parse: parseBytea }],
  [OID.int8, { type: 'integer', parse: parseInt8 }],
  [OID.int2, { type: 'integer', parse: toNumber }],
  [OID.int4, { type: 'integer', parse: toNumber }],
  [OID.oid, { type: 'integer', parse: toNumber }],
  [OID.json, { type: 'json', parse: parseJson }],
  [OID.jsonb, { type: 'json', parse: parseJson }],
  [OID.float4, { type: 'number', parse: toNumber }],
  [OID.float8, { type: 'number', parse: toNumber }],
  [OID.numeric, { type: 'decimal', parse: identity }],
  [OID.date, { type: 'date', parse: parseDate }],
  [OID.timestamp, { type: 'datetime', parse: parseTimestamp }],
  [OID.timestamptz, { type: 'datetime', parse: parseTimestamp }],
]);

const STRING: PgTypeInfo = { type: 'string', parse: identity };

/** Built-in array type OID -> element type OID (text, char, name, time, uuid ... elements stay text). */
export const BUILTIN_ARRAYS = new Map<number, number>([
  [1000, OID.bool],
  [1001, OID.bytea],
  [1002, 18],
  [1003, 19],
  [1005, OID.int2],
  [1007, OID.int4],
  [1009, OID.text],
  [1014, OID.bpchar],
  [1015, OID.varchar],
  [1016, OID.int8],
  [1021, OID.float4],
  [1022, OID.float8],
  [1028, OID.oid],
  [1115, OID.timestamp],
  [1182, OID.date],
  [1183, OID.time],
  [1185, OID.timestamptz],
  [1187, OID.interval],
  [1231, OID.numeric],
  [1270, OID.timetz],
  [2951, OID.uuid],
  [199, OID.json],
  [3807, OID.jsonb],
]);

/** Built-in types whose text is kept as is (listed so that they need no catalog lookup). */
const BUILTIN_TEXT = new Set<number>([
  18,
  19,
  OID.text,
  OID.bpchar,
  OID.varchar,
  OID.time,
  OID.timetz,
  OID.interval,
  OID.uuid,
  142,
  650,
  869,
  829,
  774,
  790,
  1560,
  1562,
  705,
  2278,
]);

/**
 * `int2vector` and `oidvector` -> element type. The catalog calls them arrays (category `A`),
 * and their binary form is an array's, but their text is space-separated (`1 2 3`), not `{...}`.
 */
const VECTORS = new Map<number, number>([
  [22, OID.int2],
  [30, OID.oid],
]);

/** Parser of a vector's text: `1 2 3`, empty for none. */
function vectorParser(element: ValueParser): ValueParser {
  return (s) => (s === '' ? [] : s.split(' ').map(element));
}

/** What the catalog says about a type the tables above do not know (enums, domains, arrays ...). */
export interface CatalogType {
  oid: number;
  /** `b` base, `d` domain, `e` enum, `c` composite, `r` range, `m` multirange, `p` pseudo. */
  typtype: string;
  /** `A` for array types. */
  typcategory: string;
  /** Element type of an array type, else 0. */
  typelem: number;
  /** Base type of a domain, else 0. */
  typbasetype: number;
  /** What separates this type's values in an array literal: `,`, or `;` for `box`. */
  typdelim: string;
}

export function isKnownOid(oid: number): boolean {
  return SCALARS.has(oid) || BUILTIN_ARRAYS.has(oid) || BUILTIN_TEXT.has(oid);
}

/**
 * Parser of a PostgreSQL array literal whose elements are parsed with `element` and separated
 * by `delimiter` (the element type's `typdelim`).
 */
export function arrayParser(element: ValueParser, delimiter = ','): ValueParser {
  return (s) => parseArrayLiteral(s, element, delimiter);
}

/**
 * Resolves the column type and parser of a type OID; `catalog` holds the looked-up rows of
 * non-built-in types. Domains resolve to their base type, enums are text, arrays of anything
 * become JS arrays (column type json); anything else stays text (a string column).
 */
export function typeInfo(oid: number, catalog: ReadonlyMap<number, CatalogType> = new Map()): PgTypeInfo {
  for (let depth = 0; depth < 8; depth++) {
    const scalar = SCALARS.get(oid);
    if (scalar) return scalar;
    const builtinElement = BUILTIN_ARRAYS.get(oid);
    if (builtinElement !== undefined) {
      return { type: 'json', parse: arrayParser(typeInfo(builtinElement, catalog).parse) };
    }
    const vectorElement = VECTORS.get(oid);
    if (vectorElement !== undefined) {
      return { type: 'json', parse: vectorParser(typeInfo(vectorElement).parse) };
    }
    const row = catalog.get(oid);
    if (!row) return STRING;
    if (row.typtype === 'd' && row.typbasetype) {
      oid = row.typbasetype;
      continue;
    }
    if (row.typcategory === 'A' && row.typelem) {
      const delimiter = catalog.get(row.typelem)?.typdelim ?? ',';
      return { type: 'json', parse: arrayParser(typeInfo(row.typelem, catalog).parse, delimiter) };
    }
    return STRING;
  }
  return STRING;
}

/**
 * Parses `{1,2,NULL}`, `{"a b","c\"d"}`, `{{1,2},{3,4}}` and `[0:1]={1,2}` (bounds dropped).
 * Unquoted NULL is null; a quoted "NULL" is the text NULL. Elements are separated by
 * `delimiter`: `,` for every built-in type but `box` (`{(1,1),(0,0);(2,2),(1,1)}`).
 */
export function parseArrayLiteral(s: string, element: ValueParser, delimiter = ','): unknown[] {
  let i = 0;
  if (s[0] === '[') i = s.indexOf('=') + 1;
  const parseLevel = (): unknown[] => {
    const out: unknown[] = [];
    i++; // '{'
    while (i < s.length) {
      const c = s[i];
      if (c === '}') {
        i++;
        return out;
      }
      if (c === delimiter) {
        i++;
        continue;
      }
      if (c === '{') {
        out.push(parseLevel());
        continue;
      }
      if (c === '"') {
        let text = '';
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\') i++;
          text += s[i];
          i++;
        }
        i++; // closing quote
        out.push(element(text));
        continue;
      }
      let end = i;
      while (end < s.length && s[end] !== delimiter && s[end] !== '}') end++;
      const text = s.slice(i, end);
      out.push(text === 'NULL' ? null : element(text));
      i = end;
    }
    return out;
  };
  return parseLevel();
}
