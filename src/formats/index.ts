import { TakeoutError } from '../errors.js';
import type { FormatWriter } from '../types.js';
import { csvFormat, tsvFormat } from './csv.js';
import { jsonFormat, ndjsonFormat } from './json.js';
import { xlsxFormat } from './xlsx/index.js';

const formats = new Map<string, FormatWriter>(
  [csvFormat, tsvFormat, jsonFormat, ndjsonFormat, xlsxFormat].map((f) => [f.name, f]),
);

/** Adds a format (e.g. xlsx) to the registry. */
export function registerFormat(format: FormatWriter): void {
  formats.set(format.name, format);
}

export function formatNames(): string[] {
  return [...formats.keys()];
}

export function getFormat(name: unknown): FormatWriter {
  const format = typeof name === 'string' ? formats.get(name.toLowerCase()) : undefined;
  if (!format) {
    throw new TakeoutError(
      'unknown_format',
      `Unknown format ${JSON.stringify(name)}; use one of: ${formatNames().join(', ')}`,
      {
        details: { formats: formatNames() },
      },
    );
  }
  return format;
}

export { csvFormat, jsonFormat, ndjsonFormat, tsvFormat, xlsxFormat };
