import type pg from 'pg';
import {
  decodeDate,
  decodeInterval,
  decodeTime,
  decodeTimestamp,
  decodeTimestamptz,
  decodeTimetz,
} from './postgres-binary-datetime.js';
import {
  type Decode,
  decodeBool,
  decodeBytea,
  decodeFloat4,
  decodeFloat8,
  decodeInt2,
  decodeInt4,
  decodeInt8,
  decodeJson,
  decodeJsonb,
  decodeNumeric,
  decodeOid,
  decodeText,
  decodeUuid,
  utf8,
} from './postgres-binary-values.js';
import { PARSERS } from './postgres-session.js';
import { BUILTIN_ARRAYS, type CatalogType, OID, typeInfo } from './postgres-types.js';

/**
 * How the binary COPY reads each result column: the SQL expression COPY selects and the
 * decoder of its bytes. Types with a binary decoder (postgres-binary-values.ts,
 * postgres-binary-datetime.ts), enums (their binary form is the label), domains of those and
 * arrays of those are read in binary. Any other type is selected as the text of its own
 * output function (`typoutput(cN)::text`, the very text the cursor path reads; a `::text`
 * cast is not always that text: `inet::text` adds the netmask) and parsed with the cursor
 * path's parser, so both paths give the same values.
 */
export interface BinaryPlan {
  /** The statement to run (the query, wrapped when some column is selected as text). */
  statement: string;
  decoders: Decode[];
}

const SCALARS = new Map<number, Decode>([
  [OID.bool, decodeBool],
  [OID.bytea, decodeBytea],
  [OID.int8, decodeInt8],
  [OID.int2, decodeInt2],
  [OID.int4, decodeInt4],
  [OID.oid, decodeOid],
  [OID.json, decodeJson],
  [OID.jsonb, decodeJsonb],
  [OID.float4, decodeFloat4],
  [OID.float8, decodeFloat8],
  [OID.numeric, decodeNumeric],
  [OID.date, decodeDate],
  [OID.timestamp, decodeTimestamp],
  [OID.timestamptz, decodeTimestamptz],
  [OID.time, decodeTime],
  [OID.timetz, decodeTimetz],
  [OID.interval, decodeInterval],
  [OID.uuid, decodeUuid],
  [OID.text, decodeText],
  [OID.varchar, decodeText],
  [OID.bpchar, decodeText],
  [19 /* name */, decodeText],
]);

/** The binary decoder of a type, or undefined when it is read as text. */
export function binaryDecoder(oid: number, catalog: ReadonlyMap<number, CatalogType>): Decode | undefined {
  for (let depth = 0; depth < 8; depth++) {
    const scalar = SCALARS.get(oid);
    if (scalar) return scalar;
    const row = catalog.get(oid);
    const element = BUILTIN_ARRAYS.get(oid) ?? (row?.typcategory === 'A' ? row.typelem : undefined);
    if (element !== undefined) {
      const decode = element ? binaryDecoder(element, catalog) : undefined;
      return decode && arrayDecoder(decode);
    }
    if (row?.typtype === 'e') return decodeText;
    if (row?.typtype !== 'd' || !row.typbasetype) return undefined;
    oid = row.typbasetype;
  }
  return undefined;
}

/**
 * An array: int32 dimensions, int32 flags, element OID, (int32 size, int32 lower bound) per
 * dimension, then each element as int32 length (-1: NULL) and bytes. Nested JavaScript
 * arrays, bounds dropped, as the cursor path's array parser makes them.
 */
export function arrayDecoder(element: Decode): Decode {
  return (buf, pos) => {
    const ndim = buf.readInt32BE(pos);
    const dims: number[] = [];
    for (let d = 0; d < ndim; d++) dims.push(buf.readInt32BE(pos + 12 + 8 * d));
    let p = pos + 12 + 8 * ndim;
    const level = (d: number): unknown[] => {
      const out: unknown[] = [];
      const n = dims[d] as number;
      for (let i = 0; i < n; i++) {
        if (d + 1 < ndim) {
          out.push(level(d + 1));
          continue;
        }
        const len = buf.readInt32BE(p);
        p += 4;
        if (len < 0) out.push(null);
        else {
          out.push(element(buf, p, len));
          p += len;
        }
      }
      return out;
    };
    return ndim === 0 ? [] : level(0);
  };
}

const OUTPUT_FUNCTIONS_SQL =
  'SELECT t.oid::int8 AS oid, quote_ident(n.nspname) || $2 || quote_ident(p.proname) AS fn ' +
  'FROM pg_catalog.pg_type t JOIN pg_catalog.pg_proc p ON p.oid = t.typoutput ' +
  'JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE t.oid = ANY($1::oid[])';

/**
 * Plans the COPY of `query` (parameters already inlined) whose result columns have type
 * `oids`. Looks up the output functions of the columns read as text (one catalog query, only
 * when there are such columns).
 */
export async function planBinaryCopy(
  client: pg.ClientBase,
  query: string,
  oids: readonly number[],
  catalog: ReadonlyMap<number, CatalogType>,
): Promise<BinaryPlan> {
  const decoders: (Decode | undefined)[] = oids.map((oid) => binaryDecoder(oid, catalog));
  const textOids = [...new Set(oids.filter((_, i) => decoders[i] === undefined))];
  if (textOids.length === 0) {
    return { statement: copyBinary(query), decoders: decoders as Decode[] };
  }
  const found = await client.query<{ oid: number; fn: string }>({
    text: OUTPUT_FUNCTIONS_SQL,
    values: [textOids, '.'],
    types: PARSERS,
  });
  const functions = new Map(found.rows.map((r) => [r.oid, r.fn]));
  const exprs = oids.map((oid, i) => {
    const ref = `c${i + 1}`;
    if (decoders[i]) return ref;
    const parse = typeInfo(oid, catalog).parse;
    decoders[i] = (buf, pos, len) => parse(utf8(buf, pos, pos + len));
    const fn = functions.get(oid);
    return fn ? `${fn}(${ref})::text` : `${ref}::text`;
  });
  const names = oids.map((_, i) => `c${i + 1}`).join(', ');
  const select = `SELECT ${exprs.join(', ')} FROM (\n${query}\n) AS takeout_q(${names})`;
  return { statement: copyBinary(select), decoders: decoders as Decode[] };
}

function copyBinary(select: string): string {
  return `COPY (\n${select}\n) TO STDOUT (FORMAT binary)`;
}
