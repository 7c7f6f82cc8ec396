import { type ErrorCode, TakeoutError } from '../errors.js';
import type { FormatRegistry } from '../formats/registry.js';
import { type JsonSchema, pathText, type SchemaViolation, validate } from '../schema.js';
import { COLUMN_TYPES, type ColumnSpec, type Row } from '../types.js';
import { NOTIFY_SCHEMA, type NotifyRequest, parseNotify } from './notify.js';

/** The version of the request shape this code reads and writes. */
export const EXPORT_REQUEST_VERSION = 1;

/**
 * One export, described completely and closed: what HTTP receives, what the CLI builds from
 * its flags, and what a job stores to run later in another process. JSON-serialisable.
 */
export interface ExportRequest {
  version: typeof EXPORT_REQUEST_VERSION;
  /** A registered format name, lowercase. */
  format: string;
  /** A dataset the principal may export ... */
  dataset?: string;
  /** ... with its request parameters (scoped ones come from the principal, never from here). */
  params?: Record<string, unknown>;
  /**
   * ... or inline rows: objects, or arrays in column order (then `columns` is required).
   * Rows, never batches. Absent when the rows travel apart (`PlanOptions.rows`).
   */
  rows?: Row[];
  /** Columns to write: keys, or `{ key, header, type, format, width }`. */
  columns?: ColumnSpec[];
  /** The format's own options; every one is known (`FormatWriter.options`). */
  options: Record<string, unknown>;
  /** The name of the file; sanitised for headers and given the format's extension. */
  filename?: string;
  /** IANA zone datetimes are written in; default UTC. */
  timezone?: string;
  /** BCP 47 locale (CSV: decimal commas and `;`). */
  locale?: string;
  /** Whom to tell when it finishes (a webhook, an email): makes it a background export. */
  notify?: NotifyRequest;
}

/** A column as a request or a dataset declaration gives it: a key, or a full definition. */
export const COLUMN_SCHEMA: JsonSchema = {
  anyOf: [
    { type: 'string', minLength: 1, maxLength: 256 },
    {
      type: 'object',
      required: ['key'],
      properties: {
        key: { type: 'string', minLength: 1, maxLength: 256 },
        header: { type: 'string' },
        type: { enum: [...COLUMN_TYPES] },
        format: { type: 'string', maxLength: 255 },
        width: { type: 'number', exclusiveMinimum: 0, maximum: 255 },
      },
      additionalProperties: false,
    },
  ],
};

/**
 * The JSON Schema of an export request for these formats: the request parser validates with
 * it, and the OpenAPI document can embed it. Each format's options are closed by its own schema.
 */
export function exportRequestSchema(formats: FormatRegistry): JsonSchema & { allOf: JsonSchema[] } {
  const names = formats.names();
  return {
    type: 'object',
    description: 'An export: a dataset with params, or inline rows; the format and its options.',
    required: ['format'],
    properties: {
      version: { const: EXPORT_REQUEST_VERSION, description: 'The request shape; default 1.' },
      format: { enum: names },
      dataset: { type: 'string', minLength: 1, maxLength: 64 },
      params: { type: 'object', additionalProperties: true },
      rows: { type: 'array', items: { anyOf: [{ type: 'object' }, { type: 'array' }] } },
      columns: { type: 'array', minItems: 1, maxItems: 16_384, items: COLUMN_SCHEMA },
      options: { type: 'object' },
      filename: { type: 'string', minLength: 1, maxLength: 255 },
      timezone: { type: 'string', minLength: 1, maxLength: 64 },
      locale: { type: 'string', minLength: 1, maxLength: 35 },
      notify: NOTIFY_SCHEMA,
    },
    additionalProperties: false,
    allOf: formats.all().map((format) => ({
      if: { properties: { format: { const: format.name } } },
      // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword, never awaited
      then: {
        properties: {
          options: { type: 'object', properties: { ...format.options }, additionalProperties: false },
        },
      },
    })),
  };
}

/** The catalog code of a violation, by the member it is about. */
function codeOf(violation: SchemaViolation): ErrorCode {
  switch (violation.path[0]) {
    case 'options':
      return violation.path.length > 1 ? 'invalid_option' : 'invalid_request';
    case 'rows':
      return 'invalid_rows';
    case 'columns':
      return 'invalid_columns';
    case 'params':
      return 'invalid_params';
    default:
      return 'invalid_request';
  }
}

function violationError(violation: SchemaViolation, format: string): TakeoutError {
  const code = codeOf(violation);
  const where = pathText(violation.path);
  if (code === 'invalid_option') {
    const option = String(violation.path[1]);
    const message = violation.unknownMember
      ? `The ${format} format has no option ${JSON.stringify(option).slice(0, 60)}`
      : `${where} ${violation.message}`;
    return new TakeoutError('invalid_option', message, { details: { option, format } });
  }
  if (violation.unknownMember) {
    return new TakeoutError(code, `Unknown member ${JSON.stringify(where).slice(0, 80)}`, {
      details: { member: where },
    });
  }
  const message =
    violation.path[0] === 'rows' && violation.path.length === 2
      ? `${where} must be an object or an array`
      : `${where} ${violation.message}`;
  const details: Record<string, unknown> =
    code === 'invalid_rows' && typeof violation.path[1] === 'number' ? { row: violation.path[1] } : {};
  return new TakeoutError(code, message, { details });
}

/** The request schema of each registry, built again only when a format has been added. */
const schemas = new WeakMap<FormatRegistry, { size: number; schema: JsonSchema }>();

function requestSchemaOf(formats: FormatRegistry): JsonSchema {
  let known = schemas.get(formats);
  if (known?.size !== formats.size) {
    known = { size: formats.size, schema: exportRequestSchema(formats) };
    schemas.set(formats, known);
  }
  return known.schema;
}

export interface ParseRequestOptions {
  /**
   * The inline rows travel apart from the request (a job's staged rows, the CLI's stdin):
   * the request then has neither `rows` nor `dataset`. Default false.
   */
  rowsApart?: boolean;
}

/**
 * Checks an export request (a parsed JSON body, a stored job's request, the CLI's flags) and
 * returns it closed and normalised. Unknown members and options are refused: a misspelt
 * option is `invalid_option` naming it in `details.option`, never silently ignored.
 */
export function parseExportRequest(
  input: unknown,
  formats: FormatRegistry,
  options: ParseRequestOptions = {},
): ExportRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TakeoutError('invalid_request', 'The export request must be a JSON object');
  }
  const body = input as Record<string, unknown>;
  if (typeof body.format !== 'string') {
    throw new TakeoutError('invalid_request', `format is required (${formats.names().join(', ')})`);
  }
  // Looked up first so that an unknown format gets its own code, case-insensitively.
  const format = formats.get(body.format).name;
  const normalised = { ...body, format };
  const violation = validate(requestSchemaOf(formats), normalised);
  if (violation) throw violationError(violation, format);

  const hasRows = body.rows !== undefined;
  const hasDataset = body.dataset !== undefined;
  if (options.rowsApart ? hasRows || hasDataset : hasRows === hasDataset) {
    throw new TakeoutError(
      'invalid_request',
      options.rowsApart ? 'The rows of this request are given apart' : 'Give exactly one of rows or dataset',
    );
  }
  if (!hasDataset && body.params !== undefined) {
    throw new TakeoutError('invalid_request', 'params go with dataset, not rows');
  }
  const request: ExportRequest = { version: EXPORT_REQUEST_VERSION, format, options: {} };
  if (hasRows) request.rows = checkRowShapes(body.rows as unknown[]);
  if (hasDataset) request.dataset = body.dataset as string;
  if (body.params !== undefined) request.params = withoutBigints(body.params as Record<string, unknown>);
  if (body.columns !== undefined) request.columns = body.columns as ColumnSpec[];
  if (body.options !== undefined) request.options = { ...(body.options as Record<string, unknown>) };
  for (const name of ['filename', 'timezone', 'locale'] as const) {
    if (typeof body[name] === 'string') request[name] = body[name];
  }
  if (body.notify !== undefined) request.notify = parseNotify(body.notify as Record<string, unknown>);
  return request;
}

/**
 * Params with bigints (a JSON body's integers beyond 2^53, http/json-body.ts) as numbers: a
 * request stays JSON-serialisable (a job stores it), and params are bound as numbers anyway
 * (an integer param that a number does not hold exactly is refused when params are checked).
 */
function withoutBigints(params: Record<string, unknown>): Record<string, unknown> {
  try {
    JSON.stringify(params);
    return params;
  } catch {
    // Nested ones too (a param that is an array is refused later, with a 400, not a 500 here).
    try {
      return JSON.parse(JSON.stringify(params, (_key, v) => (typeof v === 'bigint' ? Number(v) : v)));
    } catch (cause) {
      // Nested past the call stack (legal JSON; no param holds such a value).
      throw new TakeoutError('invalid_params', 'params are nested too deeply to be read', { cause });
    }
  }
}

/** Inline rows are all objects or all arrays, like the first. */
function checkRowShapes(rows: unknown[]): Row[] {
  const arrays = Array.isArray(rows[0]);
  rows.forEach((row, i) => {
    if (Array.isArray(row) !== arrays) {
      throw new TakeoutError(
        'invalid_rows',
        `rows[${i}] must be ${arrays ? 'an array' : 'an object'} like rows[0]`,
        {
          details: { row: i },
        },
      );
    }
  });
  return rows as Row[];
}
