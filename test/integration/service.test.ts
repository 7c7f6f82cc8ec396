import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { diskStorage, exportKey, loadOrCreateSecret } from '../../src/storage/index.js';
import { createSchema, PG_BASE_URL } from './postgres-helpers.js';

// The standalone service as `takeout serve` builds it from the environment.
let app: FastifyInstance;
let base: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'takeout-service-'));
  const env = {
    PORT: '0',
    TAKEOUT_DATA_DIR: dataDir,
    TAKEOUT_DEMO: 'false',
    TAKEOUT_SWEEP_INTERVAL: '0',
    LOG_LEVEL: 'error',
  };
  app = await startService(loadConfig(env), env);
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await app?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('takeout serve', () => {
  it('serves signed links of files in its default disk storage', async () => {
    // Same root and persisted secret as the service: what a worker process would use.
    const storage = diskStorage({
      root: join(dataDir, 'files'),
      secret: await loadOrCreateSecret(dataDir, {}),
    });
    const key = exportKey({ exportId: 'exp_1', filename: 'Résumé 2024.csv' });
    await storage.put(key, Readable.from([Buffer.from('a,b\r\n1,2\r\n')]), {
      contentType: 'text/csv; charset=utf-8',
      filename: 'Résumé 2024.csv',
      expiresAt: new Date(Date.now() + 60_000),
    });
    const url = await storage.signedUrl(key, {
      expiresIn: 60,
      filename: 'Résumé 2024.csv',
      contentType: 'text/csv; charset=utf-8',
    });
    const response = await fetch(new URL(url, base));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('a,b\r\n1,2\r\n');
    expect(response.headers.get('content-disposition')).toContain(
      "filename*=UTF-8''R%C3%A9sum%C3%A9%202024.csv",
    );
    const tampered = await fetch(new URL(url.replace('Re', 'Rx').replace(/sig=[^&]+/, 'sig=AAAA'), base));
    expect(tampered.status).toBe(403);
  });

  it('has no demo dataset when turned off, and answers health checks', async () => {
    const datasets = (await (await fetch(`${base}/v1/datasets`)).json()) as { datasets: unknown[] };
    expect(datasets.datasets).toEqual([]);
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok' });
  });
});

describe('a deployment on PostgreSQL and S3', () => {
  it('needs no data directory: nothing is created there', async () => {
    const schema = await createSchema('takeout_nodatadir');
    const parent = mkdtempSync(join(tmpdir(), 'takeout-nodatadir-'));
    const missing = join(parent, 'data');
    try {
      const env = {
        PORT: '0',
        TAKEOUT_DATA_DIR: missing,
        TAKEOUT_DEMO: 'off',
        TAKEOUT_WORKERS: '0',
        TAKEOUT_SWEEP_INTERVAL: '0',
        DATABASE_URL: PG_BASE_URL,
        TAKEOUT_DATABASE_SCHEMA: schema.name,
        // Never contacted: the service only builds its client.
        STORAGE_URL: 's3://takeout-nodatadir/exports?endpoint=http://127.0.0.1:9&forcePathStyle=true',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test-secret',
        LOG_LEVEL: 'silent',
      };
      const served = await startService(loadConfig(env), env);
      await served.close();
      expect(existsSync(missing)).toBe(false);
    } finally {
      await schema.drop();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('names the data directory when disk storage cannot create it', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'takeout-baddatadir-'));
    const file = join(parent, 'file');
    writeFileSync(file, '');
    try {
      const env = {
        PORT: '0',
        TAKEOUT_DATA_DIR: join(file, 'data'),
        TAKEOUT_DEMO: 'off',
        LOG_LEVEL: 'silent',
      };
      await expect(startService(loadConfig(env), env)).rejects.toMatchObject({
        code: 'config_error',
        message: expect.stringContaining('TAKEOUT_DATA_DIR'),
      });
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
