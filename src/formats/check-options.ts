import { TakeoutError } from '../errors.js';
import type { FormatOptions, FormatWriter } from '../types.js';
import { assertTimeZone } from './datetime.js';

/** Options every format takes: they are request members (`timezone`, `locale`), not per-format options. */
export const COMMON_FORMAT_OPTIONS = ['timezone', 'locale'] as const;

/**
 * Refuses options the format does not know (a misspelled `delimeter` would otherwise be
 * ignored and the file silently differ), and checks the time zone.
 */
export function checkFormatOptions(format: FormatWriter, options: FormatOptions): FormatOptions {
  const out: FormatOptions = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(format.options, key) && !(COMMON_FORMAT_OPTIONS as readonly string[]).includes(key)) {
      const known = [...Object.keys(format.options), ...COMMON_FORMAT_OPTIONS];
      throw new TakeoutError(
        'invalid_option',
        `The ${format.name} format has no option ${JSON.stringify(key).slice(0, 60)}; known: ${known.join(', ')}`,
        { details: { option: key, format: format.name } },
      );
    }
    out[key] = value;
  }
  if (out.timezone !== undefined) {
    if (typeof out.timezone !== 'string')
      throw new TakeoutError('invalid_timezone', 'timezone must be a string');
    out.timezone = assertTimeZone(out.timezone);
  }
  return out;
}
