import { describe, expect, it } from 'vitest';
import { type DatasetDefinition, defineDataset } from '../../src/datasets/define.js';
import { rowsSource } from '../../src/sources/rows.js';

const sqlite = { sqlite: 'db.sqlite' };

/** The config_error message defineDataset throws for `definition`. */
function refusal(definition: unknown): string {
  try {
    defineDataset(definition as DatasetDefinition);
  } catch (error) {
    expect((error as { code?: string }).code).toBe('config_error');
    return (error as Error).message;
  }
  throw new Error('expected a config_error');
}

/** A SQLite dataset with one parameter `p` of this spec. */
function withParam(spec: unknown): unknown {
  return { name: 'x', connection: sqlite, sql: 'SELECT :p', params: { p: spec } };
}

describe('defineDataset: unknown members', () => {
  it.each([
    [
      'a dataset',
      { name: 'x', connection: sqlite, sql: 'SELECT 1', colums: ['a'] },
      /colums .*did you mean columns/,
    ],
    ['a param', withParam({ type: 'string', Required: true }), /params\.p\.Required .*did you mean required/],
    [
      'a column',
      { name: 'x', source: () => rowsSource([]), columns: [{ key: 'a', heade: 'A' }] },
      /columns\[0\]\.heade .*header/,
    ],
    [
      'a connection',
      { name: 'x', connection: { postgress: { urlEnv: 'U' } }, sql: 'SELECT 1' },
      /postgress .*postgres/,
    ],
    [
      'a connection kind',
      { name: 'x', connection: { mysql: 'x' }, sql: 'SELECT 1' },
      /connection\.mysql .*known: sqlite, postgres/,
    ],
    [
      'a PostgreSQL connection',
      { name: 'x', connection: { postgres: { url_env: 'U' } }, sql: 'SELECT 1' },
      /url_env .*urlEnv/,
    ],
  ])('refuses one in %s, suggesting the closest', (_, definition, message) => {
    expect(refusal(definition)).toMatch(message);
  });

  it('does not repeat a member name that may be a misplaced secret', () => {
    const message = refusal({ name: 'x', connection: { 'postgres://u:s3cret@db/x': {} }, sql: 'SELECT 1' });
    expect(message).toMatch(/connection has a member that is not known/);
    expect(message).not.toContain('s3cret');
  });
});

describe('defineDataset: member types', () => {
  it.each([
    ['sql as a number', { name: 'x', connection: sqlite, sql: 5 }, /sql must be a string/],
    ['sql as an array', { name: 'x', connection: sqlite, sql: ['SELECT 1'] }, /sql must be a string/],
    [
      'copy as text',
      { name: 'x', connection: { postgres: { urlEnv: 'U' } }, sql: 'SELECT 1', copy: 'false' },
      /copy must be true or false/,
    ],
    [
      'copy on SQLite',
      { name: 'x', connection: sqlite, sql: 'SELECT 1', copy: true },
      /copy applies to PostgreSQL/,
    ],
    [
      'a connection as text',
      { name: 'x', connection: 'db.sqlite', sql: 'SELECT 1' },
      /connection must be an object/,
    ],
    [
      'a SQLite path as a number',
      { name: 'x', connection: { sqlite: 5 }, sql: 'SELECT 1' },
      /connection\.sqlite must be a string/,
    ],
    [
      'PostgreSQL without urlEnv',
      { name: 'x', connection: { postgres: {} }, sql: 'SELECT 1' },
      /connection\.postgres must give urlEnv or url/,
    ],
    [
      'two connection kinds',
      { name: 'x', connection: { ...sqlite, postgres: { urlEnv: 'U' } }, sql: 'SELECT 1' },
      /not both/,
    ],
    [
      'an empty connection',
      { name: 'x', connection: {}, sql: 'SELECT 1' },
      /connection must give sqlite or postgres/,
    ],
    [
      'a scope attribute as a number',
      { name: 'x', connection: sqlite, sql: 'SELECT :t', scope: { t: 5 } },
      /scope\.t must be a string/,
    ],
    ['source as text', { name: 'x', source: 'rows' }, /source must be a function/],
    [
      'a column type',
      { name: 'x', source: () => rowsSource([]), columns: [{ key: 'a', type: 'money' }] },
      /columns\[0\]\.type must be one of/,
    ],
    [
      'a repeated column',
      { name: 'x', source: () => rowsSource([]), columns: ['a', { key: 'a' }] },
      /columns\[1\] repeats/,
    ],
    ['a null param', withParam(null), /params\.p must be an object/],
    ['a param type', withParam({ type: 'text' }), /params\.p\.type must be one of/],
    ['enum as text', withParam({ type: 'string', enum: 'DE' }), /params\.p\.enum must be an array/],
    [
      'required as text',
      withParam({ type: 'string', required: 'yes' }),
      /params\.p\.required must be true or false/,
    ],
    [
      'maxLength as text',
      withParam({ type: 'string', maxLength: 'x' }),
      /params\.p\.maxLength must be an integer/,
    ],
    ['maxLength on a number', withParam({ type: 'number', maxLength: 3 }), /maxLength applies to string/],
    ['min on a string', withParam({ type: 'string', min: 1 }), /min applies to integer, number, date/],
    ['enum on a boolean', withParam({ type: 'boolean', enum: ['true'] }), /enum does not apply to boolean/],
  ])('refuses %s', (_, definition, message) => {
    expect(refusal(definition)).toMatch(message);
  });

  it('treats a member given as undefined in code as absent', () => {
    const dataset = defineDataset({
      name: 'x',
      connection: sqlite,
      sql: 'SELECT 1',
      title: undefined,
      copy: undefined,
    });
    expect(dataset.name).toBe('x');
  });
});

describe('defineDataset: defaults, bounds and enums through the parameter coercion', () => {
  it.each([
    [
      'a datetime min that is no date-time',
      { type: 'datetime', min: 'last week' },
      /params\.p\.min must be an ISO 8601/,
    ],
    [
      'a date max that is no day',
      { type: 'date', max: '2024-02-30' },
      /params\.p\.max is not a calendar date/,
    ],
    [
      'a number min given as text (ignored at run time)',
      { type: 'number', min: '1' },
      /params\.p\.min must be a number/,
    ],
    [
      'an integer bound that is a fraction',
      { type: 'integer', max: 2.5 },
      /params\.p\.max must be an integer/,
    ],
    ['min above max', { type: 'integer', min: 10, max: 1 }, /params\.p\.max must not be below min/],
    [
      'an integer default that is no number',
      { type: 'integer', default: 'one' },
      /params\.p\.default must be an integer/,
    ],
    [
      'a default out of range',
      { type: 'integer', min: 1, max: 10, default: 20 },
      /params\.p\.default must be at most 10/,
    ],
    [
      'a default outside the enum',
      { type: 'string', enum: ['DE', 'FR'], default: 'US' },
      /params\.p\.default must be one of DE, FR/,
    ],
    [
      'a default too long',
      { type: 'string', maxLength: 2, default: 'DEU' },
      /params\.p\.default must be at most 2/,
    ],
    [
      'an enum entry of the wrong type',
      { type: 'date', enum: ['2024-01-01', 7] },
      /params\.p\.enum\[1\] must be a date/,
    ],
    [
      'an enum entry out of range',
      { type: 'integer', max: 10, enum: [1, 50] },
      /params\.p\.enum\[1\] must be at most 10/,
    ],
    [
      'an integer enum entry as text',
      { type: 'integer', enum: ['5'] },
      /params\.p\.enum\[0\] can never match a request: write it as 5/,
    ],
  ])('refuses %s', (_, spec, message) => {
    expect(refusal(withParam(spec))).toMatch(message);
  });

  it('keeps valid declarations', () => {
    const params = {
      a: { type: 'integer', min: 1, max: 10, default: 5, enum: [1, 5, 10] },
      b: { type: 'number', min: -0.5 },
      c: { type: 'date', min: '2020-01-01', max: '2030-12-31', default: '2024-02-29' },
      d: { type: 'datetime', min: '2020-01-01T00:00:00Z', enum: ['2024-01-01T01:00:00+01:00'] },
      e: { type: 'string', enum: ['DE', 'FR'], default: 'DE', maxLength: 2, description: 'Country' },
      f: { type: 'boolean', default: false, required: true },
    } as const;
    const sql = 'SELECT :a, :b, :c, :d, :e, :f';
    expect(Object.keys(defineDataset({ name: 'x', connection: sqlite, sql, params }).params)).toHaveLength(6);
  });
});

describe('defineDataset: placeholders the :name check would miss', () => {
  it.each([
    ['SELECT * FROM t WHERE tenant = @tenant', /sql uses @tenant: write parameters as :tenant/],
    ['SELECT * FROM t WHERE tenant = $tenant', /sql uses \$tenant: write parameters as :tenant/],
    ['SELECT * FROM t WHERE tenant = ?', /sql uses positional \?: name each parameter/],
    ['SELECT * FROM t WHERE tenant = ?2', /sql uses positional \?2/],
  ])('refuses %s on SQLite', (sql, message) => {
    expect(refusal({ name: 'x', connection: sqlite, sql, scope: { tenant: 'tenant' } })).toMatch(message);
  });

  it('refuses positional $1 as a config_error, not invalid_params', () => {
    expect(refusal({ name: 'x', connection: { postgres: { urlEnv: 'U' } }, sql: 'SELECT $1' })).toMatch(
      /sql uses positional \$1/,
    );
  });

  it('ignores them in literals, quoted names and comments, and PostgreSQL operators', () => {
    const quoted = `SELECT '@a', "$b", [?c], \`@d\`, x$y FROM t -- @e\n /* $f ? */ WHERE t = :t`;
    expect(defineDataset({ name: 'x', connection: sqlite, sql: quoted, scope: { t: 'tenant' } }).name).toBe(
      'x',
    );
    // A `:` inside SQLite's bracketed or backquoted names is no parameter either.
    const colons = 'SELECT id AS [a:b], id AS `c:d`, "e:f" FROM t WHERE t = :t';
    const named = defineDataset({ name: 'x', connection: sqlite, sql: colons, scope: { t: 'tenant' } });
    expect(named.scope).toEqual({ t: 'tenant' });
    const operators = `SELECT * FROM t WHERE tags @> '{}' AND doc ? 'k' AND @ n > 1`;
    expect(defineDataset({ name: 'x', connection: { postgres: { urlEnv: 'U' } }, sql: operators }).name).toBe(
      'x',
    );
  });
});
