import pg from 'pg';
import { TakeoutError } from '../errors.js';

/**
 * Parameter values -> PostgreSQL text input, the same for the bound (cursor) path and the
 * quoted-literal (COPY) path, and independent of the Node process's time zone:
 * null/undefined -> NULL; strings as is (a NUL character is refused: PostgreSQL text cannot
 * hold one); numbers, bigints and booleans as their text; Dates as ISO 8601 UTC
 * (`...Z`: a `timestamp` parameter gets the UTC wall time); bytes as `\x` hex; arrays as
 * array literals; other objects as JSON.
 */
export function paramText(value: unknown, name: string): string | null {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
      if (value.includes('\0')) throw invalid(name, 'contains a NUL character');
      return value;
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw invalid(name, 'is an invalid date');
        return value.toISOString();
      }
      if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
      if (Array.isArray(value)) return arrayLiteral(value, name);
      return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    default:
      throw invalid(name, `has an unsupported type (${typeof value})`);
  }
}

function arrayLiteral(values: readonly unknown[], name: string): string {
  const parts = values.map((v) => {
    if (Array.isArray(v)) return arrayLiteral(v, name);
    const text = paramText(v, name);
    return text === null ? 'NULL' : `"${text.replace(/[\\"]/g, '\\$&')}"`;
  });
  return `{${parts.join(',')}}`;
}

/**
 * A parameter as a SQL literal, for the one statement that cannot take bind parameters
 * (`COPY (query) TO STDOUT`). Quoting is pg's `escapeLiteral`: quotes and backslashes are
 * doubled and, when a backslash is present, the `E'...'` form is used, so the text cannot end
 * the literal whatever `standard_conforming_strings` is. `type` is the SQL name of the type
 * PostgreSQL deduced for the bound parameter in the describe step (postgres-session.ts): a
 * bound parameter has one type however often it is used, an untyped literal would get one per
 * use (`:n::numeric ... :n / 2` an integer division). Parenthesized, so what follows the
 * parameter applies to all of it (`:a[1]`, `:r.f`). Without a type the literal is untyped.
 */
export function paramLiteral(value: unknown, name: string, type?: string): string {
  const text = paramText(value, name);
  const literal = text === null ? 'NULL' : pg.escapeLiteral(text);
  return type === undefined ? literal : `(${literal}::${type})`;
}

function invalid(name: string, why: string): TakeoutError {
  return new TakeoutError('invalid_params', `Parameter ${JSON.stringify(name)} ${why}`, {
    details: { param: name },
  });
}
