/**
 * A path served with other methods answers `405 method_not_allowed` with `Allow` (RFC 9110
 * §15.5.6) on Takeout's own servers: the standalone one, the Node handler and the metrics
 * listener. A path no route matches stays `404 not_found`; a host app's Fastify keeps its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDataset } from '../../src/datasets/define.js';
import { DatasetRegistry } from '../../src/datasets/registry.js';
import { bearerTokens } from '../../src/http/auth.js';
import { startMetricsServer } from '../../src/http/metrics-server.js';
import { takeoutHandler } from '../../src/http/node-handler.js';
import { buildServer, takeoutRoutes } from '../../src/http/server.js';
import type { Service } from '../../src/service.js';
import { rowsSource } from '../../src/sources/rows.js';

const TOKEN = 'allow-token-0123456789';
const datasets = () =>
  new DatasetRegistry([defineDataset({ name: 'tiny', source: () => rowsSource([{ a: 1 }]) })]);

function baseOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Answer {
  status: number;
  allow: string | null;
  type: string | null;
  body: Record<string, unknown>;
}

async function ask(url: string, method: string, token?: string, body?: string): Promise<Answer> {
  const response = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body } : {}),
  });
  const text = await response.text();
  const type = response.headers.get('content-type');
  return {
    status: response.status,
    allow: response.headers.get('allow'),
    type,
    body: type?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : { text },
  };
}

describe('the standalone server', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    app = await buildServer({
      datasets: datasets(),
      authenticate: bearerTokens(new Map([[TOKEN, { id: 'alice' }]])),
      plugins: [
        (scope) => {
          // A parametric route with two methods, and one path that has OPTIONS.
          scope.get('/things/:id', async () => ({ ok: true }));
          scope.delete('/things/:id', async () => ({ ok: true }));
          scope.get('/opts', async () => ({ ok: true }));
          scope.options('/opts', async () => ({ ok: true }));
        },
      ],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = baseOf(app.server);
  });
  afterAll(() => app.close());

  it('answers a wrong method with 405, Allow and a problem document', async () => {
    const answer = await ask(`${base}/v1/datasets`, 'DELETE', TOKEN);
    expect(answer.status).toBe(405);
    expect(answer.allow).toBe('GET, HEAD');
    expect(answer.type).toContain('application/problem+json');
    expect(answer.body).toMatchObject({
      type: 'https://takeout.dev/errors/method_not_allowed',
      status: 405,
      code: 'method_not_allowed',
      retryable: false,
    });
    expect(answer.body.detail).toBe('DELETE is not allowed on /v1/datasets; use GET, HEAD');
    // A route with POST only: no HEAD, since there is no GET.
    expect((await ask(`${base}/v1/exports`, 'PUT', TOKEN)).allow).toBe('POST');
    expect((await ask(`${base}/v1/datasets?limit=1`, 'PATCH', TOKEN)).status).toBe(405);
  });

  it('matches parametric paths, and lists OPTIONS only where a route has it', async () => {
    const things = await ask(`${base}/things/abc`, 'POST', TOKEN, '{}');
    expect(things.status).toBe(405);
    expect(things.allow).toBe('DELETE, GET, HEAD');
    const opts = await ask(`${base}/opts`, 'PUT', TOKEN);
    expect(opts.allow).toBe('GET, HEAD, OPTIONS');
    expect((await ask(`${base}/v1/datasets`, 'OPTIONS', TOKEN)).allow).toBe('GET, HEAD');
  });

  it('keeps 404 for paths no route matches under any method', async () => {
    for (const [method, path] of [
      ['DELETE', '/v1/nothing'],
      ['POST', '/things/abc/more'],
      ['GET', '/V1/datasets'],
      ['DELETE', '/v1/datasets/'],
      // Past maxParamLength no route matches: Fastify's own findRoute would say one does.
      ['PUT', `/things/${'x'.repeat(150)}`],
    ] as const) {
      const answer = await ask(`${base}${path}`, method, TOKEN);
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body.code).toBe('not_found');
      expect(answer.allow).toBeNull();
    }
  });

  it('answers 405 before authentication; the allowed method still needs a token', async () => {
    const anonymous = await ask(`${base}/v1/datasets`, 'DELETE');
    expect(anonymous.status).toBe(405);
    expect(anonymous.allow).toBe('GET, HEAD');
    const refused = await ask(`${base}/v1/datasets`, 'GET');
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('unauthorized');
    const body = JSON.stringify({ dataset: 'tiny', format: 'csv' });
    expect((await ask(`${base}/v1/exports`, 'POST', undefined, body)).status).toBe(401);
    expect((await ask(`${base}/v1/exports`, 'POST', TOKEN, body)).status).toBe(200);
  });
});

describe('the Node handler (Express, node:http)', () => {
  let server: Server;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const handler = await takeoutHandler({
      datasets: datasets(),
      prefix: '/api/takeout',
      authenticate: () => ({ id: 'alice' }),
    });
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    close = async () => {
      await handler.close();
      await new Promise((resolve) => server.close(resolve));
    };
  });
  afterAll(() => close());

  it('answers 405 under its prefix', async () => {
    const answer = await ask(`${baseOf(server)}/api/takeout/v1/datasets`, 'DELETE');
    expect(answer.status).toBe(405);
    expect(answer.allow).toBe('GET, HEAD');
    expect((await ask(`${baseOf(server)}/api/takeout/v1/nothing`, 'DELETE')).status).toBe(404);
  });
});

describe('the metrics listener', () => {
  it('answers 405 on its routes and 404 elsewhere', async () => {
    const log = pino({ level: 'silent' }) as unknown as FastifyBaseLogger;
    // Nothing is asked of these for a refused method.
    const service = {
      config: { metrics: { host: '127.0.0.1', token: undefined, port: 0 } },
      jobs: { store: {}, queue: {} },
      storage: {},
      metrics: {},
    } as unknown as Service;
    const metrics = await startMetricsServer(service, 'worker', 0, log);
    try {
      const answer = await ask(`${metrics.url}/metrics`, 'POST');
      expect(answer.status).toBe(405);
      expect(answer.allow).toBe('GET, HEAD');
      expect(answer.body.code).toBe('method_not_allowed');
      expect((await ask(`${metrics.url}/healthz`, 'DELETE')).allow).toBe('GET, HEAD');
      expect((await ask(`${metrics.url}/nothing`, 'POST')).status).toBe(404);
    } finally {
      await metrics.app.close();
    }
  });
});

describe('embedded in a host app', () => {
  it("leaves the host's own not-found answer alone", async () => {
    const host = Fastify();
    host.get('/mine', async () => ({ mine: true }));
    await host.register((scope) => takeoutRoutes(scope, { datasets: datasets() }));
    try {
      const answer = await host.inject({ method: 'DELETE', url: '/v1/datasets' });
      expect(answer.statusCode).toBe(404);
      expect(answer.headers.allow).toBeUndefined();
      // Fastify's own JSON, not a problem document.
      expect(answer.json()).toEqual({
        message: 'Route DELETE:/v1/datasets not found',
        error: 'Not Found',
        statusCode: 404,
      });
    } finally {
      await host.close();
    }
  });
});
