/**
 * What the guards in front of the API answer, as the OpenAPI document declares it: 401 with
 * `WWW-Authenticate`, 429 with `Retry-After`, and in the development mode 403
 * `host_not_allowed` on every route (and only there).
 */
import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerTokens } from '../../src/http/auth.js';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import { numbersDataset, type TestService, testService } from '../support/jobs.js';
import { baseOf, expectDeclared, openApi, resolved } from '../support/openapi.js';

describe('OpenAPI document: what the guards answer', () => {
  let jobs: TestService;
  beforeAll(async () => {
    jobs = await testService({}, { datasets: [numbersDataset('numbers', 50)] });
  });
  afterAll(() => jobs?.close());

  it('declares 401 with WWW-Authenticate and 429 with Retry-After', async () => {
    const app = await buildServer({
      ...serviceServerOptions(jobs.service),
      authenticate: bearerTokens(new Map([['token-openapi-0123456789', { id: 'alice' }]])),
      rateLimit: { max: 1, windowMs: 60_000 },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const base = baseOf(app);
      const document = await resolved(await openApi(base));
      const refused = await fetch(`${base}/v1/datasets`);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
      expectDeclared(document, 'GET /v1/datasets', refused);
      const headers = { authorization: 'Bearer token-openapi-0123456789' };
      expect((await fetch(`${base}/v1/datasets`, { headers })).status).toBe(200);
      const limited = await fetch(`${base}/v1/exports?limit=1`, { headers });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBeTruthy();
      expectDeclared(document, 'GET /v1/exports', limited);
      // Without the Host check, no route says 403 host_not_allowed.
      expect(document.paths['/v1/datasets'].get.responses['403']).toBeUndefined();
    } finally {
      await app.close();
    }
  });

  it('declares 403 host_not_allowed on every route in the development mode', async () => {
    const app = await buildServer(serviceServerOptions(jobs.service));
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const document = await resolved(await openApi(baseOf(app)));
      for (const path of ['/v1/datasets', '/v1/exports/{id}', '/healthz']) {
        const answer = await rawGet(app, path.replace('{id}', 'exp_x'), 'attacker.example');
        expect(answer.status, path).toBe(403);
        expectDeclared(document, `GET ${path}`, answer);
        expect(document.paths[path].get.responses['403'].description).toContain('host_not_allowed');
      }
    } finally {
      await app.close();
    }
  });
});

/** A GET with the `Host` given (fetch sets its own). */
function rawGet(
  app: FastifyInstance,
  path: string,
  host: string,
): Promise<{ status: number; headers: Headers }> {
  const port = new URL(baseOf(app)).port;
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path, headers: { host }, setHost: false },
      (res) => {
        res.resume();
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers))
          headers.set(name, [value ?? ''].flat().join(', '));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}
