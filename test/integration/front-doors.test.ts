import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { loadDatasetsFile } from '../../src/datasets/config-file.js';
import { DatasetRegistry } from '../../src/datasets/registry.js';
import { buildServer } from '../../src/http/server.js';
import { readWithExcelJs } from './xlsx-read.js';

// The same export through HTTP and the CLI: both go through the export core, so the files
// are the same bytes, for every format.
const dir = mkdtempSync(join(tmpdir(), 'takeout-front-doors-'));
const config = join(dir, 'takeout.config.json');
let app: Awaited<ReturnType<typeof buildServer>>;

beforeAll(async () => {
  const db = new Database(join(dir, 'shop.sqlite'));
  db.exec(`CREATE TABLE orders (id INTEGER, customer TEXT, amount DECIMAL(10,2), placed DATETIME, country TEXT);
    INSERT INTO orders VALUES
      (1, 'Zoë; "Ltd"', 12.5, '2024-03-01 10:00:00', 'DE'),
      (2, '=HYPERLINK("x")', 3, '2024-03-02 23:30:00', 'DE'),
      (3, 'Ünïcödé 😀', 1234567.89, '2024-03-03 00:00:00', 'FR');`);
  db.close();
  writeFileSync(
    config,
    JSON.stringify({
      datasets: [
        {
          name: 'orders',
          connection: { sqlite: 'shop.sqlite' },
          sql: 'SELECT id, customer, amount, placed FROM orders WHERE country = :country ORDER BY id',
          params: { country: { type: 'string', required: true } },
          columns: [
            { key: 'id', type: 'integer' },
            'customer',
            'amount',
            { key: 'placed', header: 'Placed at' },
          ],
        },
      ],
    }),
  );
  app = await buildServer({ datasets: new DatasetRegistry(await loadDatasetsFile(config)) });
});

afterAll(async () => {
  await app?.close();
});

async function viaCli(args: string[]): Promise<{ code: number; err: string }> {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c) => {
    err += c;
  });
  const code = await main(args, { stdin: Readable.from(['']), stdout: new PassThrough(), stderr, env: {} });
  return { code, err };
}

/** `takeout export` of the orders dataset for DE, plus `extra` flags. */
function exportArgs(...extra: string[]): string[] {
  return ['export', '--config', config, '--dataset', 'orders', '--param', 'country=DE', ...extra];
}

const cases: [format: string, options: Record<string, unknown>][] = [
  ['csv', { delimiter: ';', bom: true }],
  ['tsv', { lineEnding: '\n' }],
  ['json', {}],
  ['ndjson', {}],
  ['xlsx', { sheetName: 'Orders', freezeHeader: false }],
];

describe('HTTP and CLI produce the same file', () => {
  it.each(cases)('%s', async (format, options) => {
    const request = {
      dataset: 'orders',
      params: { country: 'DE' },
      columns: ['customer', 'placed', 'amount'],
      format,
      options,
      timezone: 'Asia/Kolkata',
    };
    const http = await app.inject({ method: 'POST', url: '/v1/exports', payload: request });
    expect(http.statusCode).toBe(200);
    const out = join(dir, `orders.${format}`);
    const cli = await viaCli(
      exportArgs(
        '--columns',
        'customer,placed,amount',
        '--format',
        format,
        '--timezone',
        'Asia/Kolkata',
        '--options',
        JSON.stringify(options),
        '--out',
        out,
      ),
    );
    expect(cli).toEqual({ code: 0, err: expect.any(String) });
    const file = readFileSync(out);
    expect(file.length).toBeGreaterThan(20);
    expect(file.equals(http.rawPayload)).toBe(true);
    if (format === 'xlsx') {
      // Read back by an independent reader: a header and the two rows, in the chosen columns.
      const sheet = (await readWithExcelJs(file)).worksheets[0]!;
      expect(sheet.name).toBe('Orders');
      expect(sheet.rowCount).toBe(3);
      expect(sheet.getRow(2).getCell(1).value).toBe('Zoë; "Ltd"');
    }
  });

  it('refuses {"options":{"delimeter":";"}} alike: HTTP 400, CLI exit 2, one message', async () => {
    const http = await app.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { dataset: 'orders', params: { country: 'DE' }, format: 'csv', options: { delimeter: ';' } },
    });
    expect(http.statusCode).toBe(400);
    const problem = http.json() as { code: string; option: string; detail: string };
    expect(problem).toMatchObject({ code: 'invalid_option', option: 'delimeter' });
    const cli = await viaCli(
      exportArgs('--format', 'csv', '--options', '{"delimeter":";"}', '--out', join(dir, 'never.csv')),
    );
    expect(cli).toEqual({ code: 2, err: `takeout: invalid_option: ${problem.detail}\n` });
  });
});
