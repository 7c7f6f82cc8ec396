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

function invalid(param: string, message: string): TakeoutError {
  return new TakeoutError('invalid_params', `Parameter ${JSON.stringify(param)} ${message}`, {
    details: { param },
  });
}

/** Coerces one value to its declared type; query-string text is accepted for numbers and booleans. */
function coerce(name: string, spec: ParamSpec, value: unknown): ParamValue {
  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string') throw invalid(name, 'must be a string');
      if (value.length > (spec.maxLength ?? 1000))
        throw invalid(name, `must be at most ${spec.maxLength ?? 1000} characters`);
      return value;
    }
    case 'integer':
    case 'number': {
      // A JSON body's integers beyond 2^53 arrive here as numbers already (parseExportRequest).
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n))
        throw invalid(name, `must be ${spec.type === 'integer' ? 'an integer' : 'a number'}`);
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
      if (spec.type === 'date' && new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) {
        throw invalid(name, 'is not a calendar date');
      }
      // Datetimes are bound as UTC text, the form SQLite and PostgreSQL both compare correctly.
      const bound = spec.type === 'date' ? value : new Date(value).toISOString();
      if (typeof spec.min === 'string' && bound < normalizeBound(spec, spec.min))
        throw invalid(name, `must be on or after ${spec.min}`);
      if (typeof spec.max === 'string' && bound > normalizeBound(spec, spec.max))
        throw invalid(name, `must be on or before ${spec.max}`);
      return bound;
    }
  }
}

function normalizeBound(spec: ParamSpec, bound: string): string {
  return spec.type === 'datetime' ? new Date(bound).toISOString() : bound;
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
      throw new TakeoutError('invalid_params', `Unknown parameter ${JSON.stringify(name).slice(0, 80)}`, {
        details: { param: name.slice(0, 80), params: Object.keys(specs) },
      });
    }
  }
  const out: Record<string, ParamValue> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = Object.hasOwn(given, name) && given[name] !== null ? given[name] : spec.default;
    if (value === undefined || value === null) {
      if (spec.required) throw invalid(name, 'is required');
      out[name] = null;
      continue;
    }
    const coerced = coerce(name, spec, value);
    if (spec.enum && !spec.enum.includes(coerced as string | number)) {
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
