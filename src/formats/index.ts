import type { FormatWriter } from '../types.js';
import { csvFormat, tsvFormat } from './csv.js';
import { jsonFormat, ndjsonFormat } from './json.js';
import { FormatRegistry } from './registry.js';
import { xlsxFormat } from './xlsx/index.js';

/** The formats Takeout ships, in the order they are listed. */
export const BUILTIN_FORMATS: readonly FormatWriter[] = Object.freeze([
  csvFormat,
  tsvFormat,
  jsonFormat,
  ndjsonFormat,
  xlsxFormat,
]);

/** A new registry holding the built-in formats (add your own to it). */
export function builtinFormats(): FormatRegistry {
  return new FormatRegistry(BUILTIN_FORMATS);
}

const builtins = builtinFormats();

/** Names of the built-in formats. */
export function formatNames(): string[] {
  return builtins.names();
}

/** A built-in format by name, else `unknown_format`. */
export function getFormat(name: unknown): FormatWriter {
  return builtins.get(name);
}

export { FormatRegistry } from './registry.js';
export { csvFormat, jsonFormat, ndjsonFormat, tsvFormat, xlsxFormat };
