/**
 * The `Allow` lookup (allowed-methods.ts) matches a path as the Fastify instance's own router
 * does: with its options, prefixes, parameters, wildcards and multi-method routes.
 */
import Fastify, { type FastifyServerOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { answerUnknownRoutes } from '../../src/http/problem.js';

async function appWith(options: FastifyServerOptions = {}) {
  const app = Fastify(options);
  answerUnknownRoutes(app);
  app.get('/things/:id', async () => 'thing');
  app.get('/files/*', async () => 'file');
  app.route({ method: ['GET', 'POST'], url: '/both', handler: async () => 'both' });
  await app.register(
    async (scope) => {
      scope.delete('/items/:id', async () => 'deleted');
    },
    { prefix: '/api' },
  );
  await app.ready();
  return app;
}

async function answer(app: Awaited<ReturnType<typeof appWith>>, method: 'GET' | 'PUT' | 'POST', url: string) {
  const response = await app.inject({ method, url });
  return { status: response.statusCode, allow: response.headers.allow };
}

describe('405 lookup', () => {
  it('lists the methods of parametric, wildcard, multi-method and prefixed routes', async () => {
    const app = await appWith();
    expect(await answer(app, 'PUT', '/things/abc')).toEqual({ status: 405, allow: 'GET, HEAD' });
    expect(await answer(app, 'POST', '/files/a/b/c.csv')).toEqual({ status: 405, allow: 'GET, HEAD' });
    expect(await answer(app, 'PUT', '/both')).toEqual({ status: 405, allow: 'GET, HEAD, POST' });
    expect(await answer(app, 'GET', '/api/items/7')).toEqual({ status: 405, allow: 'DELETE' });
    expect((await answer(app, 'GET', '/items/7')).status).toBe(404);
    await app.close();
  });

  it('matches with the router options of the instance, as its routes do', async () => {
    const strict = await appWith();
    expect((await answer(strict, 'GET', '/Things/abc/')).status).toBe(404);
    expect((await answer(strict, 'PUT', '/Things/abc/')).status).toBe(404);
    await strict.close();

    const lenient = await appWith({ routerOptions: { ignoreTrailingSlash: true, caseSensitive: false } });
    expect((await answer(lenient, 'GET', '/Things/abc/')).status).toBe(200);
    expect(await answer(lenient, 'PUT', '/Things/abc/')).toEqual({ status: 405, allow: 'GET, HEAD' });
    await lenient.close();

    const short = await appWith({ routerOptions: { maxParamLength: 10 } });
    expect((await answer(short, 'PUT', `/things/${'x'.repeat(10)}`)).status).toBe(405);
    // Past maxParamLength the route does not match (Fastify's own refusal, 414), nor another method.
    expect((await answer(short, 'GET', `/things/${'x'.repeat(11)}`)).status).toBe(414);
    expect((await answer(short, 'PUT', `/things/${'x'.repeat(11)}`)).status).toBe(404);
    await short.close();
  });
});
