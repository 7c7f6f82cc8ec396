/**
 * Takeout's routes registered in a host Fastify app that keeps Fastify's own defaults: the
 * API's body limit is Takeout's (10 MiB, or `bodyLimit`), never the host instance's 1 MiB,
 * and the host's own routes keep theirs.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetRegistry } from '../../src/datasets/registry.js';
import { takeoutRoutes } from '../../src/http/server.js';

const MiB = 1024 * 1024;

/** An inline-rows export request of about `bytes` bytes of JSON. */
function inlineRows(bytes: number): string {
  const text = 'x'.repeat(10_000);
  const rows = Array.from({ length: Math.ceil(bytes / text.length) }, (_, i) => ({ id: i, text }));
  return JSON.stringify({ rows, format: 'csv' });
}

describe('takeoutRoutes in a host Fastify app with the default body limit', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    app = Fastify(); // bodyLimit: Fastify's default, 1 MiB
    const datasets = new DatasetRegistry([]);
    await app.register((scope) => takeoutRoutes(scope, { datasets }), { prefix: '/default' });
    await app.register((scope) => takeoutRoutes(scope, { datasets, bodyLimit: 1.5 * MiB }), {
      prefix: '/configured',
    });
    app.post('/host-echo', async (request) => ({ got: typeof request.body }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => app?.close());

  const post = (path: string, body: string) =>
    fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('accepts a 2 MB inline-rows export under the default limit of 10 MiB', async () => {
    const body = inlineRows(2_000_000);
    expect(body.length).toBeGreaterThan(1.8 * MiB);
    const answer = await post('/default/v1/exports', body);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await answer.text()).split('\r\n').length).toBeGreaterThan(200);
  });

  it('refuses a body past the configured limit with 413 body_too_large', async () => {
    const small = await post('/configured/v1/exports', inlineRows(1 * MiB));
    expect(small.status).toBe(200);
    await small.arrayBuffer();
    const large = await post('/configured/v1/exports', inlineRows(2_000_000));
    expect(large.status).toBe(413);
    expect(large.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await large.json()).toMatchObject({ code: 'body_too_large', status: 413 });
  });

  it('leaves the host’s own routes their own limit', async () => {
    const answer = await post('/host-echo', inlineRows(2_000_000));
    expect(answer.status).toBe(413);
  });
});
