import { TakeoutError } from '../errors.js';

export interface CompiledQuery {
  /** The SQL with each `:name` replaced by its placeholder (`$1`, `$2`, ... by default). */
  text: string;
  /** Values in placeholder order: `values[0]` is `$1`. */
  values: unknown[];
  /** Parameter names in placeholder order: `names[0]` is the name behind `$1`. */
  names: string[];
}

export interface CompileOptions {
  /**
   * What replaces a parameter reference; default `$<index + 1>`. Called once per reference
   * (a name used twice is replaced twice with the same index).
   */
  placeholder?: (index: number, name: string) => string;
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
// Characters that may continue an identifier: a `$` or `:` right after one is not a token start.
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uFFFF]/;

/** End index (exclusive) of a quoted run starting at `start` (the opening quote). */
export function skipQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') i += 2;
    else if (c === quote) {
      if (sql[i + 1] === quote)
        i += 2; // doubled quote: an escaped quote, still inside
      else return i + 1;
    } else i++;
  }
  return sql.length; // unterminated: the server reports the error; nothing after is a parameter
}

/** End index of a block comment starting at `start`; PostgreSQL's block comments nest. */
function skipBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return sql.length;
}

/** The `$tag$` opening a dollar-quoted string at `start`, or undefined when there is none. */
function dollarTag(sql: string, start: number): string | undefined {
  const m = /^\$(?:[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*)?\$/.exec(sql.slice(start, start + 128));
  return m?.[0];
}

/**
 * Calls `visit` for each `:name` reference in `sql`, skipping string literals ('...',
 * E'...'), quoted identifiers, comments, dollar-quoted strings and `::type` casts. Refuses
 * positional `$1` (invalid_params): it would collide with the numbering of placeholders.
 * Assumes `standard_conforming_strings = on` (PostgreSQL's default since 9.1). With `sqlite`,
 * SQLite's other quoted identifiers are skipped too: `[a:b]` and `` `a:b` ``.
 */
function scanParams(
  sql: string,
  visit: (name: string, start: number, end: number) => void,
  sqlite = false,
): void {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const prev = i > 0 ? (sql[i - 1] as string) : '';
    if (sqlite && c === '[') {
      const end = sql.indexOf(']', i + 1);
      i = end === -1 ? sql.length : end + 1;
    } else if (sqlite && c === '`') {
      i = skipQuoted(sql, i, '`', false);
    } else if (c === "'") {
      const escapes = (prev === 'e' || prev === 'E') && !IDENT_CHAR.test(sql[i - 2] ?? '');
      i = skipQuoted(sql, i, "'", escapes);
    } else if (c === '"') {
      i = skipQuoted(sql, i, '"', false);
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      i = skipBlockComment(sql, i);
    } else if (c === '$' && !IDENT_CHAR.test(prev)) {
      if (/[0-9]/.test(sql[i + 1] ?? '')) {
        const param = /^\$[0-9]+/.exec(sql.slice(i))?.[0] ?? '$';
        throw new TakeoutError('invalid_params', `Use :name parameters, not positional ${param}`, {
          details: { param },
        });
      }
      const tag = dollarTag(sql, i);
      if (tag === undefined) i++;
      else {
        const end = sql.indexOf(tag, i + tag.length);
        i = end === -1 ? sql.length : end + tag.length;
      }
    } else if (c === ':' && sql[i + 1] === ':') {
      i += 2; // a cast, `x::int`
    } else if (c === ':' && prev !== ':' && NAME_START.test(sql[i + 1] ?? '')) {
      let end = i + 2;
      while (end < sql.length && NAME_CHAR.test(sql[end] as string)) end++;
      visit(sql.slice(i + 1, end), i, end);
      i = end;
    } else i++;
  }
}

/** The distinct `:name` parameters `sql` references, in order of first use (`sqlite`: its quoting too). */
export function namedParams(sql: string, options: { sqlite?: boolean } = {}): string[] {
  const names = new Set<string>();
  scanParams(sql, (name) => names.add(name), options.sqlite);
  return [...names];
}

/**
 * Turns `:name` references into bind placeholders (see scanParams for what is skipped).
 * Values are only ever bound (or, with a custom placeholder, quoted by the caller), never
 * pasted in here. Throws `invalid_params` (details `{ param }`) for a referenced name
 * without a value and for a given value that the SQL does not use.
 */
export function compileNamedParams(
  sql: string,
  params: Readonly<Record<string, unknown>> = {},
  options: CompileOptions = {},
): CompiledQuery {
  const placeholder = options.placeholder ?? ((index: number) => `$${index + 1}`);
  const indexes = new Map<string, number>();
  const names: string[] = [];
  const values: unknown[] = [];
  let out = '';
  let copied = 0; // sql[copied..start) is yet to be appended to `out`
  scanParams(sql, (name, start, end) => {
    let index = indexes.get(name);
    if (index === undefined) {
      if (!Object.hasOwn(params, name) || params[name] === undefined) {
        throw new TakeoutError('invalid_params', `Missing parameter ${JSON.stringify(name)}`, {
          details: { param: name },
        });
      }
      index = names.length;
      indexes.set(name, index);
      names.push(name);
      values.push(params[name]);
    }
    out += sql.slice(copied, start) + placeholder(index, name);
    copied = end;
  });
  for (const name of Object.keys(params)) {
    if (!indexes.has(name) && params[name] !== undefined) {
      throw new TakeoutError('invalid_params', `Unknown parameter ${JSON.stringify(name)}`, {
        details: { param: name },
      });
    }
  }
  return { text: out + sql.slice(copied), values, names };
}
