import type { FormatContext, FormatWriter, Row } from '../types.js';
import { ByteSink } from './byte-sink.js';
import { zoneClock } from './datetime.js';
import { compileJsonRow } from './json-fields.js';
import { sinkRows } from './sink-rows.js';

/**
 * JSON value rules (docs/formats.md): numbers as numbers (NaN and infinities as null);
 * integers beyond 2^53 (bigint) as strings so no JavaScript reader rounds them; decimal
 * text stays text; dates as ISO 8601 strings; bytes as base64 strings. Formula escaping
 * does not apply: JSON is not opened by spreadsheets. Values are written as bytes in place
 * (json-fields.ts).
 */
function rowWriter(ctx: FormatContext, sink: ByteSink, after: string): (row: unknown) => void {
  const clock = zoneClock((ctx.options.timezone as string | undefined) ?? 'UTC');
  return compileJsonRow(ctx, clock, sink, after);
}

const OPEN = Buffer.from('[');
const SEPARATOR = Buffer.from(',\n');
const CLOSE = Buffer.from(']\n');

export const jsonFormat: FormatWriter = {
  name: 'json',
  contentType: 'application/json; charset=utf-8',
  extension: 'json',
  options: {},
  write(batches: AsyncIterable<readonly Row[]>, ctx: FormatContext) {
    const sink = new ByteSink();
    const object = rowWriter(ctx, sink, '');
    let first = true;
    const row = (r: unknown) => {
      if (first) first = false;
      else sink.bytes(SEPARATOR);
      object(r);
    };
    sink.bytes(OPEN);
    return sinkRows(batches, row, sink, ctx, () => sink.bytes(CLOSE));
  },
};

export const ndjsonFormat: FormatWriter = {
  name: 'ndjson',
  contentType: 'application/x-ndjson',
  extension: 'ndjson',
  options: {},
  write(batches: AsyncIterable<readonly Row[]>, ctx: FormatContext) {
    const sink = new ByteSink();
    return sinkRows(batches, rowWriter(ctx, sink, '\n'), sink, ctx);
  },
};
