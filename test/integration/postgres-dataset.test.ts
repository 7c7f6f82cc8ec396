import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDatasetsFile } from '../../src/datasets/config-file.js';
import { DatasetRegistry } from '../../src/datasets/registry.js';
import { bearerTokens } from '../../src/http/auth.js';
import { buildServer } from '../../src/http/server.js';
import { createSchema, type TestSchema } from './postgres-helpers.js';

// A dataset from a config file on the real PostgreSQL, exported over HTTP with a tenant scope.
let schema: TestSchema;
let app: FastifyInstance;

beforeAll(async () => {
  schema = await createSchema('takeout_ds');
  await schema.admin.query(`
    CREATE TABLE invoices (id int PRIMARY KEY, tenant text NOT NULL, customer text, total numeric(14,2), issued date);
    INSERT INTO invoices VALUES
      (1, 'acme', 'Zoë; "A"', 12345678901.23, '2024-01-31'),
      (2, 'acme', 'Bob', 0.10, '2024-02-29'),
      (3, 'globex', 'Other tenant', 99.99, '2024-02-01');`);
  const dir = mkdtempSync(join(tmpdir(), 'takeout-pgds-'));
  const file = join(dir, 'takeout.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      datasets: [
        {
          name: 'invoices',
          connection: { postgres: { urlEnv: 'TAKEOUT_TEST_INVOICES_URL' } },
          sql: 'SELECT id, customer, total, issued FROM invoices WHERE tenant = :tenant AND (:since::date IS NULL OR issued >= :since::date) ORDER BY id',
          params: { since: { type: 'date' } },
          scope: { tenant: 'tenant' },
        },
      ],
    }),
  );
  process.env.TAKEOUT_TEST_INVOICES_URL = schema.url;
  app = await buildServer({
    datasets: new DatasetRegistry(await loadDatasetsFile(file)),
    authenticate: bearerTokens(new Map([['acme-token-0123456789', { id: 'ann', tenant: 'acme' }]])),
  });
});

afterAll(async () => {
  await app?.close();
  await schema?.drop();
});

function exportInvoices(payload: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: '/v1/exports',
    headers: { authorization: 'Bearer acme-token-0123456789' },
    payload: { dataset: 'invoices', format: 'csv', ...payload },
  });
}

describe('a PostgreSQL dataset over HTTP', () => {
  it('exports only the principal tenant rows, with exact numerics', async () => {
    const response = await exportInvoices({});
    expect(response.statusCode).toBe(200);
    expect(parse(response.body, { columns: true })).toEqual([
      { id: '1', customer: 'Zoë; "A"', total: '12345678901.23', issued: '2024-01-31' },
      { id: '2', customer: 'Bob', total: '0.10', issued: '2024-02-29' },
    ]);
  });

  it('applies typed params and refuses scope overrides', async () => {
    const since = await exportInvoices({ params: { since: '2024-02-01' } });
    expect((parse(since.body, { columns: true }) as { id: string }[]).map((r) => r.id)).toEqual(['2']);
    const forged = await exportInvoices({ params: { tenant: 'globex' } });
    expect(forged.statusCode).toBe(400);
    expect(forged.json()).toMatchObject({ code: 'invalid_params', param: 'tenant' });
    const injection = await exportInvoices({ params: { since: "2024-01-01' OR '1'='1" } });
    expect(injection.json()).toMatchObject({ code: 'invalid_params', param: 'since' });
  });
});
