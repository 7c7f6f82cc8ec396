/** The export request `takeout export`'s flags describe, as `POST /v1/exports` takes it. */
import { isTakeoutError } from '../errors.js';
import { type ExportRequest, parseExportRequest } from '../exports/request.js';
import { checkFormatOptions } from '../formats/check-options.js';
import type { FormatRegistry } from '../formats/registry.js';
import type { Origin, Values } from './export-origin.js';
import { RequestError, UsageError } from './usage.js';

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
export function rawRequestOf(values: Values, origin: Omit<Origin, 'datasets'>): Record<string, unknown> {
  const lineEnding = values['line-ending'];
  if (lineEnding !== undefined && lineEnding !== 'lf' && lineEnding !== 'crlf') {
    throw new UsageError('--line-ending is lf or crlf');
  }
  const options: Record<string, unknown> = {
    ...optionsJson(values.options as string | undefined),
    ...(values.delimiter !== undefined ? { delimiter: values.delimiter } : {}),
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
