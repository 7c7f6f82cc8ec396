import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDatasetsFile } from '../../src/datasets/config-file.js';
import { defineDataset, scopeValues } from '../../src/datasets/define.js';
import { type ParamSpec, validateParams } from '../../src/datasets/params.js';
import { DatasetRegistry, describeDataset } from '../../src/datasets/registry.js';
import { rowsSource } from '../../src/sources/rows.js';

const specs: Record<string, ParamSpec> = {
  from: { type: 'date', required: true, min: '2020-01-01' },
  at: { type: 'datetime' },
  n: { type: 'integer', min: 1, max: 10, default: 5 },
  ratio: { type: 'number' },
  ok: { type: 'boolean' },
  country: { type: 'string', enum: ['DE', 'FR'] },
  q: { type: 'string', maxLength: 5 },
};

function failure(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    return error as { code: string; details?: { param?: string }; message: string };
  }
  throw new Error('expected a failure');
}

describe('validateParams', () => {
  it('coerces, fills defaults and binds absent params as null', () => {
    expect(
      validateParams(specs, {
        from: '2024-02-29',
        at: '2024-01-01T10:00:00+02:00',
        ratio: '0.5',
        ok: 'true',
      }),
    ).toEqual({
      from: '2024-02-29',
      at: '2024-01-01T08:00:00.000Z',
      n: 5,
      ratio: 0.5,
      ok: true,
      country: null,
      q: null,
    });
  });

  it.each([
    [{}, 'from', /required/],
    [{ from: '2024-02-30' }, 'from', /calendar date/],
    [{ from: '2019-12-31' }, 'from', /on or after/],
    [{ from: '2024-01-01', n: 11 }, 'n', /at most 10/],
    [{ from: '2024-01-01', n: 2.5 }, 'n', /integer/],
    [{ from: '2024-01-01', ratio: 'abc' }, 'ratio', /number/],
    [{ from: '2024-01-01', ok: 'yes' }, 'ok', /true or false/],
    [{ from: '2024-01-01', country: 'US' }, 'country', /one of DE, FR/],
    [{ from: '2024-01-01', q: 'toolong' }, 'q', /at most 5/],
    [{ from: '2024-01-01', at: '2024-01-01 10:00' }, 'at', /ISO 8601/],
    [{ from: '2024-01-01', drop: 1 }, 'drop', /Unknown parameter/],
  ])('%j fails on %s', (input, param, message) => {
    const error = failure(() => validateParams(specs, input));
    expect(error.code).toBe('invalid_params');
    expect(error.details?.param).toBe(param);
    expect(error.message).toMatch(message);
  });

  it('refuses scoped params from requests', () => {
    const error = failure(() => validateParams({}, { tenant: 'other' }, new Set(['tenant'])));
    expect(error).toMatchObject({ code: 'invalid_params', details: { param: 'tenant' } });
  });
});

describe('defineDataset and the registry', () => {
  const source = () => rowsSource([]);

  it('checks definitions at start-up', () => {
    expect(failure(() => defineDataset({ name: 'Bad Name', source })).code).toBe('config_error');
    expect(failure(() => defineDataset({ name: 'x', sql: 'SELECT 1' })).code).toBe('config_error');
    const sqlite = { sqlite: 'db.sqlite' };
    const unused = failure(() =>
      defineDataset({ name: 'x', connection: sqlite, sql: 'SELECT 1', params: { p: { type: 'date' } } }),
    );
    expect(unused.message).toMatch(/params\.p is not used/);
    const undeclared = failure(() => defineDataset({ name: 'x', connection: sqlite, sql: 'SELECT :q' }));
    expect(undeclared.message).toMatch(/uses :q/);
    expect(
      defineDataset({
        name: 'x',
        connection: sqlite,
        sql: 'SELECT :q, :t',
        params: { q: { type: 'date' } },
        scope: { t: 'tenant' },
      }).name,
    ).toBe('x');
    expect(
      failure(() => defineDataset({ name: 'x', source, params: { a: { type: 'date' } }, scope: { a: 'id' } }))
        .code,
    ).toBe('config_error');
  });

  it('binds scope from the principal and hides datasets a principal cannot use', () => {
    const tenantOnly = defineDataset({ name: 'inv', source, scope: { tenant: 'tenant' } });
    expect(scopeValues(tenantOnly, { id: 'a', tenant: 't1' })).toEqual({ tenant: 't1' });
    expect(failure(() => scopeValues(tenantOnly, { id: 'a' })).code).toBe('unknown_dataset');
    const admin = defineDataset({ name: 'admin', source, visibleTo: (p) => p.id === 'root' });
    const registry = new DatasetRegistry([tenantOnly, admin]);
    // A principal without the scoped attribute does not see the dataset: list and get agree.
    expect(registry.list({ id: 'a' }).map((d) => d.name)).toEqual([]);
    expect(failure(() => registry.get('inv', { id: 'a' })).code).toBe('unknown_dataset');
    expect(registry.list({ id: 'a', tenant: 't1' }).map((d) => d.name)).toEqual(['inv']);
    expect(registry.get('inv', { id: 'a', tenant: 't1' }).name).toBe('inv');
    expect(failure(() => registry.get('admin', { id: 'a' })).code).toBe('unknown_dataset');
    expect(registry.get('admin', { id: 'root' }).name).toBe('admin');
    expect(JSON.stringify(describeDataset(tenantOnly))).not.toContain('tenant');
  });

  it('lists a default as it is bound, not as it was written', () => {
    const params = {
      n: { type: 'integer', default: '0' },
      on: { type: 'boolean', default: 'true' },
      from: { type: 'date', default: '2024-01-31' },
      at: { type: 'datetime', default: '2024-01-01T01:00:00+01:00' },
      free: { type: 'string' },
    } as const;
    const described = describeDataset(
      defineDataset({
        name: 'd',
        connection: { sqlite: 'x.sqlite' },
        sql: 'SELECT :n, :on, :from, :at, :free',
        params,
      }),
    );
    expect(described.params).toEqual([
      { name: 'n', type: 'integer', default: 0 },
      { name: 'on', type: 'boolean', default: true },
      { name: 'from', type: 'date', default: '2024-01-31' },
      { name: 'at', type: 'datetime', default: '2024-01-01T01:00:00+01:00' },
      { name: 'free', type: 'string' },
    ]);
  });

  it('loads a config file with paths relative to it and refuses inline PostgreSQL URLs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'takeout-config-'));
    const file = join(dir, 'takeout.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        datasets: [
          {
            name: 'a',
            connection: { sqlite: 'shop.sqlite' },
            sql: 'SELECT :p',
            params: { p: { type: 'integer' } },
          },
          { name: 'b', connection: { postgres: { urlEnv: 'DATABASE_URL' } }, sql: 'SELECT 1' },
        ],
      }),
    );
    const [a, b] = await loadDatasetsFile(file);
    expect(a!.connection).toEqual({ sqlite: join(dir, 'shop.sqlite') });
    expect(b!.connection).toEqual({ postgres: { urlEnv: 'DATABASE_URL' } });
    writeFileSync(
      file,
      JSON.stringify({
        datasets: [
          { name: 'c', connection: { postgres: { url: 'postgres://u:secret@h/db' } }, sql: 'SELECT 1' },
        ],
      }),
    );
    const error = await loadDatasetsFile(file).catch((e) => e);
    expect(error.code).toBe('config_error');
    expect(error.message).not.toContain('secret');
    writeFileSync(file, '{ nope');
    expect((await loadDatasetsFile(file).catch((e) => e)).code).toBe('config_error');
  });
});
