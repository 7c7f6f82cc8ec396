import { TakeoutError } from '../errors.js';
import type { FormatOptions, FormatWriter } from '../types.js';
import { assertTimeZone } from './datetime.js';

/** Options every format takes: they are request members (`timezone`, `locale`), not per-format options. */
export const COMMON_FORMAT_OPTIONS = ['timezone', 'locale'] as const;

/**
 * Refuses options the format does not know (a misspelled `delimeter` would otherwise be
 * ignored and the file silently differ), and checks the time zone and the locale.
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
  if (out.locale !== undefined) assertLocale(out.locale);
  return out;
}

/**
 * A locale must be one string that Intl knows, for every format (JSON ignores it today, but a
 * request that says `zz-ZZ` is wrong whatever the format): Intl itself takes an array, and
 * falls back to its default locale for an unknown one without a word.
 */
function assertLocale(locale: unknown): void {
  const details = { details: { option: 'locale' } };
  if (typeof locale !== 'string')
    throw new TakeoutError('invalid_option', 'locale must be a string', details);
  let known = false;
  try {
    known = Intl.NumberFormat.supportedLocalesOf(locale).length > 0;
  } catch {
    // RangeError: not a well-formed BCP 47 tag
  }
  if (!known) {
    const shown = JSON.stringify(locale).slice(0, 40);
    throw new TakeoutError(
      'invalid_option',
      `Unknown locale ${shown}: give a BCP 47 tag such as "de-DE"`,
      details,
    );
  }
}
