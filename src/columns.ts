import { TakeoutError } from './errors.js';
import { readCell } from './formats/compile.js';
import { unreadableRow } from './formats/row-errors.js';
import {
  COLUMN_TYPES,
  type Column,
  type ColumnSpec,
  type ColumnType,
  type ResolvedColumn,
  type Row,
} from './types.js';

/** How many rows are looked at to infer columns and types. */
export const INFER_SAMPLE_ROWS = 100;

const MAX_COLUMNS = 16_384; // Excel's limit; more is never useful in an export

/** Validates caller-given columns (strings or Column objects). */
export function normalizeColumns(specs: unknown): Column[] {
  if (!Array.isArray(specs)) throw new TakeoutError('invalid_columns', 'columns must be an array');
  if (specs.length === 0) throw new TakeoutError('invalid_columns', 'columns must not be empty');
  if (specs.length > MAX_COLUMNS) throw new TakeoutError('invalid_columns', `at most ${MAX_COLUMNS} columns`);
  const seen = new Set<string>();
  return specs.map((spec: unknown, i) => {
    const column = typeof spec === 'string' ? { key: spec } : spec;
    if (typeof column !== 'object' || column === null || Array.isArray(column)) {
      throw new TakeoutError('invalid_columns', `columns[${i}] must be a string or an object with a key`);
    }
    const { key, header, type, format, width } = column as Record<string, unknown>;
    if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
      throw new TakeoutError(
        'invalid_columns',
        `columns[${i}].key must be a non-empty string of at most 256 characters`,
      );
    }
    if (seen.has(key))
      throw new TakeoutError('invalid_columns', `columns[${i}].key ${JSON.stringify(key)} repeats`);
    seen.add(key);
    if (header !== undefined && typeof header !== 'string') {
      throw new TakeoutError('invalid_columns', `columns[${i}].header must be a string`);
    }
    if (type !== undefined && !COLUMN_TYPES.includes(type as ColumnType)) {
      throw new TakeoutError(
        'invalid_columns',
        `columns[${i}].type must be one of ${COLUMN_TYPES.join(', ')}`,
      );
    }
    if (format !== undefined && (typeof format !== 'string' || format.length > 255)) {
      throw new TakeoutError(
        'invalid_columns',
        `columns[${i}].format must be a string of at most 255 characters`,
      );
    }
    if (width !== undefined && (typeof width !== 'number' || !(width > 0 && width <= 255))) {
      throw new TakeoutError('invalid_columns', `columns[${i}].width must be a number from 1 to 255`);
    }
    const out: Column = { key };
    if (header !== undefined) out.header = header as string;
    if (type !== undefined) out.type = type as ColumnType;
    if (format !== undefined) out.format = format as string;
    if (width !== undefined) out.width = width as number;
    return out;
  });
}

/** The type of a value as a column would declare it, or undefined for null/undefined. */
export function typeOfValue(v: unknown): ColumnType | undefined {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return Number.isInteger(v) ? 'integer' : 'number';
    case 'bigint':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'object':
      if (v === null) return undefined;
      if (v instanceof Date) return 'datetime';
      if (v instanceof Uint8Array) return 'string';
      return 'json';
    default:
      return undefined;
  }
}

/** The narrowest type that fits every sampled value (mixed types fall back to string). */
export function inferType(values: Iterable<unknown>): ColumnType {
  let type: ColumnType | undefined;
  for (const v of values) {
    const t = typeOfValue(v);
    if (t === undefined || t === type) continue;
    if (type === undefined) type = t;
    else if ((type === 'integer' && t === 'number') || (type === 'number' && t === 'integer'))
      type = 'number';
    else return 'string';
  }
  return type ?? 'string';
}

function isObjectRow(row: unknown): row is Record<string, unknown> {
  return typeof row === 'object' && row !== null && !Array.isArray(row);
}

/** A sampled row's cell, read as the writers read it (readCell): `__proto__` is not a value. */
function cellOf(row: Row, shape: 'array' | 'object', key: string, index: number): unknown {
  if (shape === 'array') return Array.isArray(row) ? (row as readonly unknown[])[index] : undefined;
  return isObjectRow(row) ? readCell(row, { key }, index, 'object') : undefined;
}

/**
 * `read(row)` for sampled row `i`: a row that throws when read (a getter, a Proxy) is the
 * caller's data, reported as `invalid_rows` with its number, not as an internal error.
 */
function readSampled<T>(row: Row, i: number, read: (row: Row) => T): T {
  try {
    return read(row);
  } catch (cause) {
    throw unreadableRow(i + 1, cause);
  }
}

/**
 * Resolves the columns of an export: the caller's columns win; missing types come from the
 * source's declared columns, else from the sampled rows. Without caller columns, declared
 * columns are used, else object keys in order of first appearance in the sample.
 */
export function resolveColumns(
  specs: readonly ColumnSpec[] | undefined,
  sample: readonly Row[],
  shape: 'array' | 'object',
  declared: readonly ResolvedColumn[] = [],
): ResolvedColumn[] {
  let columns: Column[];
  if (specs !== undefined) columns = normalizeColumns(specs);
  else if (declared.length > 0) columns = declared.map((c) => ({ ...c }));
  else if (shape === 'array' && sample.length > 0) {
    throw new TakeoutError('invalid_columns', 'rows given as arrays need columns');
  } else {
    const keys = new Set<string>();
    // Rows that are not objects are reported (with their number) by the pipeline, not here.
    sample.forEach((row, i) => {
      if (isObjectRow(row)) for (const key of readSampled(row, i, Object.keys)) keys.add(key);
    });
    if (keys.size > MAX_COLUMNS) {
      throw new TakeoutError(
        'invalid_columns',
        `The rows have ${keys.size} keys; an export has at most ${MAX_COLUMNS} columns: give columns`,
      );
    }
    columns = [...keys].map((key) => ({ key }));
  }
  const byKey = new Map(declared.map((c, i) => [c.key, { column: c, index: i }]));
  return columns.map((column, i) => {
    const known = byKey.get(column.key);
    if (declared.length > 0 && !known) {
      throw new TakeoutError('invalid_columns', `Unknown column ${JSON.stringify(column.key)}`, {
        details: { columns: declared.map((c) => c.key) },
      });
    }
    // Array rows are read by position: the source's position when it declares its columns.
    const index = known?.index ?? i;
    const type =
      column.type ??
      known?.column.type ??
      inferType(sample.map((row, r) => readSampled(row, r, () => cellOf(row, shape, column.key, index))));
    const header = column.header ?? known?.column.header ?? column.key;
    const resolved: ResolvedColumn = { ...known?.column, ...column, header, type };
    if (shape === 'array') resolved.index = index;
    return resolved;
  });
}

/** Result column names made unique (`id`, `id_2`): SQL results may repeat a name. */
export function uniqueKeys(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.map((name) => {
    let key = name;
    for (let n = 2; seen.has(key); n++) key = `${name}_${n}`;
    seen.add(key);
    return key;
  });
}
