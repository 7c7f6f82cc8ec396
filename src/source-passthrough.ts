/** When a source writes the file's bytes itself (PostgreSQL COPY as CSV, as XLSX cells). */
import { BUILTIN_FORMATS } from './formats/index.js';
import type { FormatOptions, FormatWriter, ResolvedColumn, Source } from './types.js';

/**
 * The source's own writing of the whole file (types.ts, csvPassthrough and xlsxPassthrough),
 * when the format's bytes allow it and the source offers it; else undefined.
 */
export function passthroughOf(
  source: Source,
  format: FormatWriter,
  formatOptions: FormatOptions,
  columns: readonly ResolvedColumn[],
  onRows: (rows: number) => void,
  signal: AbortSignal,
): AsyncIterable<Uint8Array> | undefined {
  // Only for a built-in writer's bytes: a writer copied from one with its own `write` keeps
  // the hooks but not the bytes they promise.
  if (!BUILTIN_FORMATS.some((builtin) => builtin.write === format.write)) return undefined;
  const dialect = source.csvPassthrough ? format.plainCsv?.(formatOptions) : undefined;
  if (dialect) return source.csvPassthrough?.({ dialect, columns, onRows }, signal);
  if (source.xlsxPassthrough && format.xlsxSettings) {
    return source.xlsxPassthrough({ settings: format.xlsxSettings(formatOptions), columns, onRows }, signal);
  }
  return undefined;
}
