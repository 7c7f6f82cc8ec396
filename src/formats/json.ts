import type { FormatContext, FormatWriter, ResolvedColumn, Row } from '../types.js';
import { dateText, jsonText, numberText } from './cells.js';
import { type CellEncoder, compileRow, encodeRows } from './compile.js';
import { type ZoneClock, zoneClock } from './datetime.js';

/**
 * JSON value rules (docs/formats.md): numbers as numbers (NaN and infinities as null);
 * integers beyond 2^53 (bigint) as strings so no JavaScript reader rounds them; decimal
 * text stays text; dates as ISO 8601 strings; bytes as base64 strings. Formula escaping
 * does not apply: JSON is not opened by spreadsheets.
 */
function jsonCell(column: ResolvedColumn, clock: ZoneClock): CellEncoder {
  return (v) => {
    switch (typeof v) {
      case 'string':
        return JSON.stringify(v);
      case 'number':
        return Number.isFinite(v) ? numberText(v) : 'null';
      case 'boolean':
        return v ? 'true' : 'false';
      case 'bigint':
        return v >= -9007199254740991n && v <= 9007199254740991n ? v.toString() : `"${v}"`;
      case 'undefined':
        return 'null';
      case 'object':
        if (v === null) return 'null';
        if (v instanceof Date) {
          const text = dateText(v, column, clock);
          return text ? JSON.stringify(text) : 'null';
        }
        if (v instanceof Uint8Array) {
          return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`;
        }
        return jsonText(v);
      default:
        return JSON.stringify(String(v));
    }
  };
}

function objectRow(ctx: FormatContext, after: string): (r: unknown) => string {
  const clock = zoneClock((ctx.options.timezone as string | undefined) ?? 'UTC');
  const keys = ctx.columns.map((c) => JSON.stringify(c.key));
  return compileRow(
    ctx,
    ctx.columns.map((c) => jsonCell(c, clock)),
    {
      before: `{${keys[0] ?? ''}:`,
      between: keys.slice(1).map((k) => `,${k}:`),
      after: `}${after}`,
    },
  );
}

function emptyObjectRow(): string {
  return '{}';
}

export const jsonFormat: FormatWriter = {
  name: 'json',
  contentType: 'application/json; charset=utf-8',
  extension: 'json',
  options: {},
  write(batches: AsyncIterable<readonly Row[]>, ctx: FormatContext) {
    const row = ctx.columns.length > 0 ? objectRow(ctx, '') : emptyObjectRow;
    return encodeRows(batches, row, { prefix: '[', separator: ',\n', suffix: ']\n', signal: ctx.signal });
  },
};

export const ndjsonFormat: FormatWriter = {
  name: 'ndjson',
  contentType: 'application/x-ndjson',
  extension: 'ndjson',
  options: {},
  write(batches: AsyncIterable<readonly Row[]>, ctx: FormatContext) {
    const row = ctx.columns.length > 0 ? objectRow(ctx, '\n') : () => '{}\n';
    return encodeRows(batches, row, { signal: ctx.signal });
  },
};
