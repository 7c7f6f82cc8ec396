import { TakeoutError } from '../errors.js';
import { COLUMN_SCHEMA } from '../exports/request.js';
import { type JsonSchema, pathText, validate } from '../schema.js';
import { skipQuoted } from '../sources/named-params.js';
import { type ParamSpec, validateParams } from './params.js';

type Path = (string | number)[];

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/** The declaration's name when it is a valid one: only such a name is repeated in messages. */
export function declaredName(declaration: unknown): string | undefined {
  const name = (declaration as { name?: unknown } | null)?.name;
  return typeof name === 'string' && NAME.test(name) ? name : undefined;
}

/**
 * A mistake in a dataset declaration: where (a path inside the declaration) and what is wrong
 * (a phrase that follows the path). Messages never quote a value: a connection may hold a secret.
 */
export class DeclarationError extends TakeoutError {
  constructor(
    readonly dataset: string | undefined,
    readonly path: Path,
    readonly problem: string,
  ) {
    const label = dataset === undefined ? 'Dataset definition' : `Dataset ${JSON.stringify(dataset)}`;
    super(
      'config_error',
      path.length > 0 ? `${label}: ${pathText(path)} ${problem}` : `${label} ${problem}`,
      {
        details: { member: pathText(path) },
      },
    );
  }

  /** The same mistake located in a config file: `file: datasets[2].connection ...`. */
  inFile(file: string, index: number): TakeoutError {
    const where = pathText(['datasets', index, ...this.path]);
    const named = this.dataset === undefined ? '' : ` (dataset ${JSON.stringify(this.dataset)})`;
    return new TakeoutError('config_error', `${file}${named}: ${where} ${this.problem}`, {
      cause: this,
      details: { member: where },
    });
  }
}

export const PARAM_TYPES = ['string', 'integer', 'number', 'boolean', 'date', 'datetime'] as const;

const BOUND: JsonSchema = { anyOf: [{ type: 'number' }, { type: 'string' }] };

const PARAM_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { enum: PARAM_TYPES },
    description: { type: 'string' },
    required: { type: 'boolean' },
    default: {}, // checked by the parameter's own coercion
    enum: { type: 'array', minItems: 1, items: { anyOf: [{ type: 'string' }, { type: 'number' }] } },
    min: BOUND,
    max: BOUND,
    maxLength: { type: 'integer', minimum: 1 },
  },
  additionalProperties: false,
};

const CONNECTION_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    sqlite: { type: 'string', minLength: 1 },
    postgres: {
      type: 'object',
      properties: { urlEnv: { type: 'string', minLength: 1 }, url: { type: 'string', minLength: 1 } },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
};

/** The shape of a dataset declaration, in code or in the config file. Functions are checked apart. */
export const DATASET_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    connection: CONNECTION_SCHEMA,
    sql: { type: 'string', minLength: 1 },
    source: {},
    params: { type: 'object', additionalProperties: PARAM_SCHEMA },
    columns: { type: 'array', minItems: 1, maxItems: 16_384, items: COLUMN_SCHEMA },
    scope: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
    copy: { type: 'boolean' },
    visibleTo: {},
  },
  additionalProperties: false,
};

/** The object schema that applies at `path` (through `anyOf` to its object or array branch). */
function schemaAt(schema: JsonSchema | undefined, path: Path): JsonSchema | undefined {
  let at = schema;
  for (const part of path) {
    const want = typeof part === 'number' ? 'array' : 'object';
    at = at?.anyOf?.find((s) => s.type === want) ?? at;
    if (typeof part === 'number') at = at?.items;
    else {
      const additional = at?.additionalProperties;
      at = at?.properties?.[part] ?? (typeof additional === 'object' ? additional : undefined);
    }
  }
  return at?.anyOf?.find((s) => s.type === 'object') ?? at;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length] as number;
}

/** The known member a typo most likely meant, if one is close enough. */
export function closestMember(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance && distance <= Math.max(1, Math.floor(candidate.length / 3))) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function unknownMember(dataset: string | undefined, path: Path, member: string): DeclarationError {
  const parent = path.slice(0, -1);
  const known = Object.keys(schemaAt(DATASET_SCHEMA, parent)?.properties ?? {});
  const hint = closestMember(member, known);
  const also = hint ? `did you mean ${hint}?` : `known: ${known.join(', ')}`;
  // Only a name that looks like one is repeated: a misplaced value (a URL) might be a secret.
  if (!/^[A-Za-z_$][\w$-]{0,63}$/.test(member)) {
    return new DeclarationError(dataset, parent, `has a member that is not known (${also})`);
  }
  return new DeclarationError(dataset, path, `is not a known member (${also})`);
}

/** Checks the shape and the member types of a declaration against DATASET_SCHEMA. */
export function checkShape(definition: unknown, dataset: string | undefined): void {
  const violation = validate(DATASET_SCHEMA, definition);
  if (!violation) return;
  if (violation.unknownMember !== undefined)
    throw unknownMember(dataset, violation.path, violation.unknownMember);
  throw new DeclarationError(dataset, violation.path, violation.message);
}

/** `value` through the parameter's own coercion (params.ts): its bound form, or why it fails. */
function coerce(name: string, spec: ParamSpec, value: unknown): { value: unknown } | { problem: string } {
  try {
    return { value: validateParams({ [name]: spec }, { [name]: value })[name] };
  } catch (error) {
    if (!(error instanceof TakeoutError)) throw error;
    return { problem: error.message.replace(`Parameter ${JSON.stringify(name)} `, '') };
  }
}

const RANGED = new Set(['integer', 'number', 'date', 'datetime']);

/**
 * Checks what the schema cannot: bounds, enum entries and the default are values of the
 * parameter (run through its coercion), so a mistake stops the start, not every request.
 */
export function checkParam(dataset: string | undefined, name: string, spec: ParamSpec): void {
  const fail = (path: Path, problem: string) =>
    new DeclarationError(dataset, ['params', name, ...path], problem);
  const { type } = spec;
  if (spec.maxLength !== undefined && type !== 'string')
    throw fail(['maxLength'], 'applies to string parameters only');
  const bounds: Record<string, unknown> = {};
  for (const key of ['min', 'max'] as const) {
    const bound = spec[key];
    if (bound === undefined) continue;
    if (!RANGED.has(type)) throw fail([key], 'applies to integer, number, date and datetime parameters only');
    // params.ts compares numeric bounds only when they are numbers: text would be ignored.
    if ((type === 'integer' || type === 'number') && typeof bound !== 'number')
      throw fail([key], 'must be a number');
    const result = coerce(name, { type }, bound);
    if ('problem' in result) throw fail([key], result.problem);
    bounds[key] = result.value;
  }
  // Both numbers, or both UTC ISO text, which sorts as time does.
  if (bounds.min !== undefined && bounds.max !== undefined && (bounds.min as number) > (bounds.max as number))
    throw fail(['max'], 'must not be below min');
  if (spec.enum) {
    if (type === 'boolean') throw fail(['enum'], 'does not apply to boolean parameters');
    const { enum: _, default: __, ...unlisted } = spec;
    spec.enum.forEach((entry, i) => {
      const result = coerce(name, unlisted, entry);
      if ('problem' in result) throw fail(['enum', i], result.problem);
      // Requests are compared after coercion: an entry in another form (text for a number)
      // would never match one.
      if ('problem' in coerce(name, { ...unlisted, enum: spec.enum }, entry))
        throw fail(['enum', i], `can never match a request: write it as ${JSON.stringify(result.value)}`);
    });
  }
  if (spec.default !== undefined && spec.default !== null) {
    const result = coerce(name, spec, spec.default);
    if ('problem' in result) throw fail(['default'], result.problem);
  }
}

/** The index just past the next `text` from `from`, or the end (unterminated). */
function past(sql: string, text: string, from: number): number {
  const at = sql.indexOf(text, from);
  return at === -1 ? sql.length : at + text.length;
}

/**
 * `@name`, `$name` and `?` placeholders in SQLite SQL. better-sqlite3 would accept them, but
 * datasets bind `:name` only (the one form PostgreSQL shares), so they are refused up front.
 * Skips literals, quoted identifiers (`"x"`, `` `x` ``, `[x]`) and comments, as SQLite does.
 */
export function otherSqlitePlaceholders(sql: string): string[] {
  const found: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    let end = i + 1;
    if (c === "'" || c === '"' || c === '`') end = skipQuoted(sql, i, c, false);
    else if (c === '[') end = past(sql, ']', i);
    else if (c === '-' && sql[i + 1] === '-') end = past(sql, '\n', i);
    else if (c === '/' && sql[i + 1] === '*') end = past(sql, '*/', i + 2);
    else if (c === '?' || c === '@' || (c === '$' && !/[\w$\u0080-\uFFFF]/.test(sql[i - 1] ?? ''))) {
      const token = /^(?:\?\d*|[@$][\w$\u0080-\uFFFF]+)/.exec(sql.slice(i, i + 130))?.[0];
      if (token) {
        found.push(token);
        end = i + token.length;
      }
    }
    i = end;
  }
  return found;
}
