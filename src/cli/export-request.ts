/** The export request `takeout export`'s flags describe, as `POST /v1/exports` takes it. */
import { isTakeoutError } from '../errors.js';
import { type ExportRequest, parseExportRequest } from '../exports/request.js';
import { checkFormatOptions } from '../formats/check-options.js';
import { isDelimiter } from '../formats/csv.js';
import type { FormatRegistry } from '../formats/registry.js';
import type { Origin, Values } from './export-origin.js';
import { invalidFlag, RequestError, UsageError } from './usage.js';

/** The flags that are format options, and the option each sets (as `--options` would). */
const OPTION_FLAGS: Record<string, string> = {
  delimiter: 'delimiter',
  'line-ending': 'lineEnding',
  bom: 'bom',
  'no-header': 'header',
  excel: 'preset',
  'no-escape-formulas': 'escapeFormulas',
  'sheet-name': 'sheetName',
};

/** `--delimiter '\t'` or `tab` as the shell passes them (backslash-t, a word) mean a TAB. */
function delimiterOf(text: string | undefined, format: unknown): string | undefined {
  if (text === undefined) return undefined;
  const delimiter = text === '\\t' || text.toLowerCase() === 'tab' ? '\t' : text;
  if (typeof format === 'string' && format.toLowerCase() === 'tsv' && delimiter !== '\t')
    throw invalidFlag(
      'delimiter',
      '--delimiter with tsv can only be a TAB: for another delimiter, use -f csv',
    );
  if (!isDelimiter(delimiter))
    throw invalidFlag(
      'delimiter',
      `--delimiter must be one character other than a quote or line break (for a TAB: '\\t' or tab), got ${JSON.stringify(text).slice(0, 40)}`,
    );
  return delimiter;
}

/**
 * A format-option flag the format has no option for, said as the flag typed
 * (`--sheet-name applies to xlsx only`), not as the option it sets (`no option "sheetName"`).
 */
export function refuseFlagsOfOtherFormats(values: Values, formats: FormatRegistry): void {
  let format: ReturnType<FormatRegistry['get']>;
  try {
    format = formats.get(values.format);
  } catch {
    return; // unknown_format, from the request's parser
  }
  for (const [flag, option] of Object.entries(OPTION_FLAGS)) {
    if (values[flag] === undefined || values[flag] === false || Object.hasOwn(format.options, option))
      continue;
    const takers = formats
      .all()
      .filter((f) => Object.hasOwn(f.options, option))
      .map((f) => f.name);
    const list = takers.length > 1 ? `${takers.slice(0, -1).join(', ')} and ${takers.at(-1)}` : takers[0];
    throw invalidFlag(flag, `--${flag} applies to ${list ?? 'no format'} only, not ${format.name}`);
  }
}

function optionsJson(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('--options takes a JSON object, e.g. {"delimiter":";"}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError('--options takes a JSON object, e.g. {"delimiter":";"}');
  return parsed as Record<string, unknown>;
}

/** The export request the flags describe (not checked yet: `--async` leaves that to the service). */
export function rawRequestOf(
  values: Values,
  origin: Omit<Origin, 'datasets' | 'files'>,
): Record<string, unknown> {
  const lineEnding = values['line-ending'];
  if (lineEnding !== undefined && lineEnding !== 'lf' && lineEnding !== 'crlf') {
    throw new UsageError('--line-ending is lf or crlf');
  }
  const options: Record<string, unknown> = {
    ...optionsJson(values.options as string | undefined),
    ...(values.delimiter !== undefined
      ? { delimiter: delimiterOf(values.delimiter as string, values.format) }
      : {}),
    ...(lineEnding ? { lineEnding: lineEnding === 'lf' ? '\n' : '\r\n' } : {}),
    ...(values.bom ? { bom: true } : {}),
    ...(values['no-header'] ? { header: false } : {}),
    ...(values.excel ? { preset: 'excel' } : {}),
    ...(values['no-escape-formulas'] ? { escapeFormulas: false } : {}),
    ...(values['sheet-name'] !== undefined ? { sheetName: values['sheet-name'] } : {}),
  };
  return {
    format: values.format,
    ...(origin.dataset ? { dataset: origin.dataset } : {}),
    ...(origin.params && Object.keys(origin.params).length > 0 ? { params: origin.params } : {}),
    ...(values.columns !== undefined
      ? { columns: (values.columns as string).split(',').map((s) => s.trim()) }
      : {}),
    ...(values.timezone !== undefined ? { timezone: values.timezone } : {}),
    ...(values.locale !== undefined ? { locale: values.locale } : {}),
    ...(Object.keys(options).length > 0 ? { options } : {}),
  };
}

/**
 * The export request the flags describe, checked by the same parser as HTTP requests, and
 * its format options (time zone and locale included) by the format, before anything runs.
 * Every refusal is about a flag: a wrong command line (exit 2), with the message HTTP gives.
 */
export function requestOf(values: Values, origin: Origin, formats: FormatRegistry): ExportRequest {
  refuseFlagsOfOtherFormats(values, formats);
  const raw = rawRequestOf(values, origin);
  try {
    const request = parseExportRequest(raw, formats, { rowsApart: origin.rows !== undefined });
    checkFormatOptions(formats.get(request.format), {
      ...request.options,
      ...(request.timezone !== undefined ? { timezone: request.timezone } : {}),
      ...(request.locale !== undefined ? { locale: request.locale } : {}),
    });
    return request;
  } catch (error) {
    if (isTakeoutError(error)) throw new RequestError(error);
    throw error;
  }
}
