import { didYouMean } from '../did-you-mean.js';
import { TakeoutError } from '../errors.js';

export type ParamValue = string | number | boolean | null;

export type ParamType = 'string' | 'integer' | 'number' | 'boolean' | 'date' | 'datetime';

/** One parameter a dataset accepts from requests. */
export interface ParamSpec {
  type: ParamType;
  description?: string;
  required?: boolean;
  default?: unknown;
  enum?: readonly (string | number)[];
  /** Inclusive bounds: numbers for numeric types, ISO text for dates. */
  min?: number | string;
  max?: number | string;
  /** For strings. Default 1000. */
  maxLength?: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
/** Query-string numbers in decimal only: `Number` would also read "0x10", "0b11" and " 7 ". */
const INTEGER_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Years 0001 to 9999 (as `toISOString` writes them: "+010000" and "-000001" beyond). */
const YEAR_IN_RANGE = /^(?!0000)\d{4}-/;

function invalid(param: string, message: string): TakeoutError {
  return new TakeoutError('invalid_params', `Parameter ${JSON.stringify(param)} ${message}`, {
    details: { param },
  });
}

/** Whether `text` has more than `max` characters, counted as code points (an emoji is one). */
function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let count = 0;
  for (const _ of text) if (++count > max) return true;
  return false;
}

/** A real day: `Date` rolls 2021-02-31 over to March 3 rather than refusing it. */
function isCalendarDate(day: string): boolean {
  const time = Date.parse(`${day}T00:00:00Z`);
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) === day;
}

/**
 * ISO date-time text as the UTC text datetimes are bound as; undefined when it is not one.
 * Digits past the millisecond are kept (a Date holds none): `.123456` must not become `.123`
 * against microsecond columns. Zone offsets are whole minutes, so they leave those digits be.
 */
function utcText(text: string): string | undefined {
  const time = DATETIME.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(time)) return undefined;
  const iso = new Date(time).toISOString();
  const finer = /\.\d{3}(\d+)/.exec(text)?.[1];
  return finer ? `${iso.slice(0, -1)}${finer}Z` : iso;
}

/** Coerces one value to its declared type; query-string text is accepted for numbers and booleans. */
function coerce(name: string, spec: ParamSpec, value: unknown): ParamValue {
  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string') throw invalid(name, 'must be a string');
      // PostgreSQL text cannot hold NUL; refused on SQLite too, so both engines take the same.
      if (value.includes('\0')) throw invalid(name, 'contains a NUL character');
      if (longerThan(value, spec.maxLength ?? 1000))
        throw invalid(name, `must be at most ${spec.maxLength ?? 1000} characters`);
      return value;
    }
    case 'integer':
    case 'number': {
      const what = spec.type === 'integer' ? 'an integer' : 'a number';
      const text = spec.type === 'integer' ? INTEGER_TEXT : NUMBER_TEXT;
      // A JSON body's integers beyond 2^53 arrive here as numbers already (parseExportRequest).
      const n = typeof value === 'string' && text.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw invalid(name, `must be ${what}`);
      if (spec.type === 'integer' && !Number.isInteger(n)) throw invalid(name, 'must be an integer');
      if (spec.type === 'integer' && !Number.isSafeInteger(n))
        throw invalid(name, 'must be an integer within ±9007199254740991 (2^53 - 1)');
      if (typeof spec.min === 'number' && n < spec.min) throw invalid(name, `must be at least ${spec.min}`);
      if (typeof spec.max === 'number' && n > spec.max) throw invalid(name, `must be at most ${spec.max}`);
      return n;
    }
    case 'boolean': {
      if (value === true || value === 'true') return true;
      if (value === false || value === 'false') return false;
      throw invalid(name, 'must be true or false');
    }
    case 'date':
    case 'datetime': {
      const pattern = spec.type === 'date' ? DATE : DATETIME;
      if (typeof value !== 'string' || !pattern.test(value) || Number.isNaN(Date.parse(value))) {
        throw invalid(
          name,
          spec.type === 'date' ? 'must be a date YYYY-MM-DD' : 'must be an ISO 8601 date-time with a zone',
        );
      }
      // Datetimes are bound as UTC text, the form SQLite and PostgreSQL both compare correctly.
      const bound = spec.type === 'date' ? value : (utcText(value) as string);
      // PostgreSQL has no year 0 (nor any beyond 9999 in ISO text): refused before it errs.
      if (!YEAR_IN_RANGE.test(value) || !YEAR_IN_RANGE.test(bound)) {
        throw invalid(
          name,
          `must be within the years 0001 to 9999${spec.type === 'date' ? '' : ', in UTC too'}`,
        );
      }
      if (!isCalendarDate(value.slice(0, 10))) throw invalid(name, 'is not a calendar date');
      if (typeof spec.min === 'string' && bound < normalizeBound(spec, spec.min))
        throw invalid(name, `must be on or after ${spec.min}`);
      if (typeof spec.max === 'string' && bound > normalizeBound(spec, spec.max))
        throw invalid(name, `must be on or before ${spec.max}`);
      return bound;
    }
  }
}

/** Enum entries as written; a datetime's are compared as the UTC text its values become. */
function isAllowed(spec: ParamSpec, value: ParamValue): boolean {
  return spec.enum!.some(
    (entry) =>
      entry === value || (spec.type === 'datetime' && typeof entry === 'string' && utcText(entry) === value),
  );
}

function normalizeBound(spec: ParamSpec, bound: string): string {
  return spec.type === 'datetime' ? (utcText(bound) ?? bound) : bound;
}

/**
 * Validates request parameters against a dataset's schema: no unknown names, required ones
 * present, types and ranges right, defaults filled. Scoped names may not come from requests.
 */
export function validateParams(
  specs: Readonly<Record<string, ParamSpec>>,
  input: unknown,
  scoped: ReadonlySet<string> = new Set(),
): Record<string, ParamValue> {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw new TakeoutError('invalid_params', 'params must be an object');
  }
  const given = (input ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (scoped.has(name)) throw invalid(name, 'is set by the server and cannot be given');
    if (!Object.hasOwn(specs, name)) {
      const hint = didYouMean(
        name,
        Object.keys(specs).filter((known) => !scoped.has(known)),
      );
      throw new TakeoutError(
        'invalid_params',
        `Unknown parameter ${JSON.stringify(name).slice(0, 80)}${hint}`,
        {
          details: { param: name.slice(0, 80), params: Object.keys(specs) },
        },
      );
    }
  }
  const out: Record<string, ParamValue> = {};
  for (const [name, spec] of Object.entries(specs)) {
    // An explicit null counts as not given: the default applies (docs/datasets.md).
    const value = Object.hasOwn(given, name) && given[name] !== null ? given[name] : spec.default;
    if (value === undefined || value === null) {
      if (spec.required) throw invalid(name, 'is required');
      out[name] = null;
      continue;
    }
    const coerced = coerce(name, spec, value);
    if (spec.enum && !isAllowed(spec, coerced)) {
      throw new TakeoutError(
        'invalid_params',
        `Parameter ${JSON.stringify(name)} must be one of ${spec.enum.join(', ')}`,
        {
          details: { param: name, allowed: spec.enum },
        },
      );
    }
    out[name] = coerced;
  }
  return out;
}
