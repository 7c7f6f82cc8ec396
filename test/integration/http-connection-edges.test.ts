import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type ServeProcess, sleep, startServe } from '../support/serve-process.js';
import { SLOW_FUNCTION_SQL, writeRowsDatabase } from '../support/sqlite-rows.js';
import { createSchema, PG_BASE_URL, type TestSchema, withSearchPath } from './postgres-helpers.js';

/**
 * Sync exports on connections used the less common ways, against `takeout serve` in its own
 * process: requests pipelined on one connection that hangs up, an HTTP/1.0 client whose file
 * fails halfway, and a kept-alive connection when the server shuts down.
 */

const TOKEN = 'edge-token-0123456789';
let dir: string;
let schema: TestSchema;
let configFile: string;

beforeAll(async () => {
  schema = await createSchema('takeout_edges');
  await schema.admin.query(SLOW_FUNCTION_SQL);
  dir = mkdtempSync(join(tmpdir(), 'takeout-edges-'));
  writeRowsDatabase(join(dir, 'rows.sqlite'), 100_000);
  configFile = join(dir, 'takeout.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      datasets: [
        { name: 'rows', connection: { sqlite: 'rows.sqlite' }, sql: 'SELECT id, pad FROM t' },
        {
          // Fails at row 50,000 (about 5 MB into the file): SQLite refuses the malformed JSON.
          name: 'breaks',
          connection: { sqlite: 'rows.sqlite' },
          sql: "SELECT id, CASE WHEN id = 50000 THEN json_extract('{oops', '$') ELSE pad END AS pad FROM t",
        },
        {
          name: 'slow',
          connection: { postgres: { urlEnv: 'TAKEOUT_TEST_EDGES_PG_URL' } },
          sql: 'SELECT g AS id FROM generate_series(1, 3) AS g WHERE g >= takeout_slow(5)',
        },
      ],
    }),
  );
});

afterAll(async () => {
  await schema?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function serve(onTestFinished: (fn: () => Promise<void>) => void): Promise<ServeProcess> {
  const s = await startServe({
    TAKEOUT_CONFIG: configFile,
    TAKEOUT_DEMO: 'false',
    TAKEOUT_DATA_DIR: join(dir, `data-${Math.random().toString(36).slice(2)}`),
    TAKEOUT_API_TOKENS: `${TOKEN}=edge`,
    TAKEOUT_TEST_EDGES_PG_URL: withSearchPath(PG_BASE_URL, schema.name),
    TAKEOUT_SYNC_PER_PRINCIPAL: '4',
    TAKEOUT_SYNC_FIRST_BYTE_TIMEOUT: '30s',
  });
  onTestFinished(async () => {
    await s.terminate();
  });
  return s;
}

/** A POST /v1/exports as raw bytes, for sockets the test drives. */
function exportRequest(dataset: string, version = '1.1', extra: string[] = []): string {
  const body = JSON.stringify({ dataset, format: 'csv' });
  return [
    `POST /v1/exports HTTP/${version}`,
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `Authorization: Bearer ${TOKEN}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...extra,
    '',
    body,
  ].join('\r\n');
}

async function syncRunning(s: ServeProcess): Promise<number> {
  const health = (await (await fetch(`${s.base}/healthz`)).json()) as { sync: { running: number } };
  return health.sync.running;
}

describe.concurrent('sync exports on connections used the less common ways', () => {
  it('gives back the slots of exports pipelined on a connection that hangs up', async ({
    onTestFinished,
  }) => {
    const s = await serve(onTestFinished);
    for (let round = 0; round < 3; round++) {
      const socket = net.connect({ host: '127.0.0.1', port: s.port });
      socket.on('error', () => {});
      // Two requests in one write: the second's response waits behind the first's (10 MB).
      socket.write(exportRequest('rows') + exportRequest('rows'));
      let received = 0;
      await new Promise<void>((resolve) => {
        socket.on('data', (chunk: Buffer) => {
          received += chunk.byteLength;
          if (received > 200_000) {
            socket.destroy();
            resolve();
          }
        });
      });
    }
    expect(await eventually(async () => (await syncRunning(s)) === 0, 10_000)).toBe(true);
  });

  it('resets an HTTP/1.0 connection whose file fails halfway, so the cut cannot pass for the end', async ({
    onTestFinished,
  }) => {
    const s = await serve(onTestFinished);
    const socket = net.connect({ host: '127.0.0.1', port: s.port });
    let received = 0;
    const ended = new Promise<string>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      socket.on('end', () => resolve('clean end'));
    });
    socket.write(exportRequest('breaks', '1.0'));
    expect(await ended).toBe('ECONNRESET');
    expect(received).toBeGreaterThan(300_000); // it was streaming: the failure came after the headers
    socket.destroy();
    expect(await eventually(async () => (await syncRunning(s)) === 0, 10_000)).toBe(true);
  });

  it('closes the kept-alive connection of the 503 it answers while shutting down, and exits at once', async ({
    onTestFinished,
  }) => {
    const s = await serve(onTestFinished);
    const socket = net.connect({ host: '127.0.0.1', port: s.port });
    socket.on('error', () => {});
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    // Kept alive (HTTP/1.1, no Connection: close); the export plans for 5 s before its first row.
    socket.write(exportRequest('slow'));
    expect(await eventually(async () => (await syncRunning(s)) === 1, 5000)).toBe(true);
    const shutdownMs = await s.terminate();
    expect(answer).toMatch(/^HTTP\/1\.1 503/);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    // The client never hung up: the server did not wait for it.
    expect(shutdownMs).toBeLessThan(8000);
    socket.destroy();
    await sleep(10);
  });
});
