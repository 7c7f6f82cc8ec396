import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDatasetsFile } from '../../src/datasets/config-file.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-datasets-config-'));
const sqlite = { sqlite: 'shop.sqlite' };
const ok = { name: 'ok', connection: sqlite, sql: 'SELECT 1' };

/** Writes `datasets` as a config file and loads it. */
function load(datasets: unknown, file = 'takeout.config.json') {
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify({ datasets }));
  return loadDatasetsFile(path);
}

/** The error loading `datasets` fails with; it must be a config_error. */
async function refusal(datasets: unknown): Promise<string> {
  const error = await load(datasets).then(
    () => undefined,
    (e: unknown) => e as { code?: string; message: string },
  );
  expect(error?.code).toBe('config_error');
  return error!.message;
}

describe('the datasets config file', () => {
  it('refuses a connection of the wrong shape without repeating its value', async () => {
    const secret = 'postgres://u:s3cret@db/x';
    for (const [connection, where] of [
      [{ postgres: secret }, 'datasets[1].connection.postgres must be an object'],
      [secret, 'datasets[1].connection must be an object'],
      [{ postgres: { url: secret } }, 'datasets[1].connection.postgres.url may not be in the file'],
      [{ [secret]: true }, 'datasets[1].connection has a member that is not known'],
      [
        { postgres: { urlEnv: 'DATABASE_URL', password: secret } },
        'datasets[1].connection.postgres.password',
      ],
    ] as const) {
      const message = await refusal([ok, { name: 'orders', connection, sql: 'SELECT 1' }]);
      expect(message).toContain(where);
      expect(message).toContain('"orders"');
      expect(message).not.toContain('s3cret');
    }
  });

  it.each([
    ['a null entry', [ok, null], 'datasets[1] must be an object'],
    [
      'a SQLite path as a number',
      [{ ...ok, connection: { sqlite: 5 } }],
      'datasets[0].connection.sqlite must be a string',
    ],
    [
      'an unknown connection kind',
      [{ ...ok, connection: { mysql: 'x' } }],
      'datasets[0].connection.mysql is not a known member',
    ],
    [
      'an empty PostgreSQL connection',
      [{ ...ok, connection: { postgres: {} } }],
      'connection.postgres must give urlEnv',
    ],
    ['sql as a number', [{ ...ok, sql: 5 }], 'datasets[0].sql must be a string'],
    ['copy as text', [{ ...ok, copy: 'false' }], 'datasets[0].copy must be true or false'],
    [
      'a misspelt member',
      [{ ...ok, colums: [{ key: 'id' }] }],
      'datasets[0].colums is not a known member (did you mean columns?)',
    ],
    [
      'enum as text',
      [{ ...ok, sql: 'SELECT :c', params: { c: { type: 'string', enum: 'DE' } } }],
      'params.c.enum must be an array',
    ],
    [
      'a datetime min',
      [{ ...ok, sql: 'SELECT :s', params: { s: { type: 'datetime', min: 'last week' } } }],
      'params.s.min must be an ISO 8601',
    ],
    [
      'an integer default',
      [{ ...ok, sql: 'SELECT :n', params: { n: { type: 'integer', default: 'one' } } }],
      'params.n.default must be an integer',
    ],
    [
      'a number min as text',
      [{ ...ok, sql: 'SELECT :n', params: { n: { type: 'number', min: '1' } } }],
      'params.n.min must be a number',
    ],
    [
      'an @name placeholder',
      [{ ...ok, sql: 'SELECT * FROM t WHERE tenant = @tenant' }],
      'datasets[0].sql uses @tenant',
    ],
    ['a repeated name', [ok, ok], 'datasets[1].name repeats datasets[0].name'],
  ])('refuses %s, naming the member', async (_, datasets, where) => {
    expect(await refusal(datasets)).toContain(where);
  });

  it('loads the example of docs/datasets.md', async () => {
    const docs = readFileSync(new URL('../../docs/datasets.md', import.meta.url), 'utf8');
    const example = /```json\n([\s\S]*?)\n```/.exec(docs)![1]!;
    const [orders] = await load(JSON.parse(example).datasets, 'docs-example.json');
    expect(orders).toMatchObject({ name: 'orders', connection: { sqlite: join(dir, 'shop.sqlite') } });
    expect(orders!.columns?.map((c) => c.key)).toEqual(['id', 'amount']);
  });
});
