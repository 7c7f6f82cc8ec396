/**
 * Integers beyond 2^53 in a JSON request keep every digit (http/json-body.ts): streamed back
 * and through a background job's staged rows, read with Python's json module, which reads
 * integers exactly.
 */
import { execFileSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerTokens } from '../../src/auth.js';
import { defineDataset } from '../../src/datasets/define.js';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import { rowsSource } from '../../src/sources/rows.js';
import { type TestService, testService } from '../support/jobs.js';

const TOKEN = 'big-integers-token-0123456789';
const BODY =
  '{"format":"ndjson","rows":[{"id":12345678901234567891,"neg":-98765432109876543210,"doc":{"n":18446744073709551615},"text":"12345678901234567891"}]}';

/** The first row of an NDJSON file as Python's json reads it, integers as their digits. */
function pythonRow(ndjson: string): Record<string, unknown> {
  const script =
    'import json,sys\nrow=json.loads(sys.stdin.read().splitlines()[0])\nprint(json.dumps({k:(str(v) if isinstance(v,int) else v) for k,v in row.items()}))';
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: ndjson }).toString());
}

const EXPECTED = {
  id: '12345678901234567891',
  neg: '-98765432109876543210',
  // Bigints beyond 2^53 are written as strings of their digits (docs/formats.md), never rounded.
  doc: { n: '18446744073709551615' },
  text: '12345678901234567891',
};

describe('integers beyond 2^53 in a JSON request', () => {
  let jobs: TestService;
  let app: FastifyInstance;
  let base: string;
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

  beforeAll(async () => {
    jobs = await testService();
    app = await buildServer({
      ...serviceServerOptions(jobs.service),
      authenticate: bearerTokens(new Map([[TOKEN, { id: 'alice' }]])),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    await jobs.service.jobs.startWorker({ concurrency: 1 });
    jobs.service.datasets.add(
      defineDataset({
        name: 'above',
        params: { min: { type: 'number' } },
        source: ({ params }) => rowsSource([{ min: params.min }]),
      }),
    );
  });
  afterAll(async () => {
    await app?.close();
    await jobs?.close();
  });

  it('keeps them exact in a file streamed back', async () => {
    const response = await fetch(`${base}/v1/exports`, { method: 'POST', headers, body: BODY });
    expect(response.status).toBe(200);
    const text = await response.text();
    // JSON writes a bigint beyond 2^53 as a string of its digits (docs/formats.md).
    expect(text).toContain('"id":"12345678901234567891","neg":"-98765432109876543210"');
    expect(pythonRow(text)).toEqual(EXPECTED);
  });

  it('keeps them exact through a background job', async () => {
    const created = await fetch(`${base}/v1/exports`, {
      method: 'POST',
      headers: { ...headers, prefer: 'respond-async' },
      body: BODY,
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    const done = await jobs.until(id, (job) => job.status === 'succeeded' || job.status === 'failed');
    expect(done.status).toBe('succeeded');
    const chunks: Buffer[] = [];
    for await (const chunk of (await jobs.service.storage.read(done.result!.key))!)
      chunks.push(Buffer.from(chunk));
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text).toContain('"id":"12345678901234567891"');
    expect(pythonRow(text)).toEqual(EXPECTED);
  });

  it('binds a number param given beyond 2^53 as the number it is, in a job too', async () => {
    for (const prefer of [{}, { prefer: 'respond-async' }] as Record<string, string>[]) {
      const response = await fetch(`${base}/v1/exports`, {
        method: 'POST',
        headers: { ...headers, ...prefer },
        body: '{"format":"csv","dataset":"above","params":{"min":12345678901234567891}}',
      });
      expect(response.status, await response.clone().text()).toBe('prefer' in prefer ? 202 : 200);
      if (!('prefer' in prefer)) {
        expect(await response.text()).toContain('12345678901234567168'); // the double: a number param
        continue;
      }
      const { id } = (await response.json()) as { id: string };
      const done = await jobs.until(id, (job) => job.status === 'succeeded' || job.status === 'failed');
      expect(done.status).toBe('succeeded');
    }
  });
});
