/**
 * `GET /v1/openapi.json` from a real server on loopback: a valid OpenAPI 3.1 document (checked
 * by an independent validator) that describes every route the server registers and every
 * problem code of the catalog.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../../src/errors.js';
import { filesRoutes } from '../../src/http/routes/files.js';
import { serviceServerOptions } from '../../src/http/server.js';
import type { DiskStorage } from '../../src/storage/disk.js';
import { numbersDataset, type TestService, testService } from '../support/jobs.js';
import { expectDeclared, type Json, openApi, resolved, type Served, serve } from '../support/openapi.js';

async function expectValidOpenApi31(document: unknown): Promise<void> {
  const validator = new Validator();
  // A copy: resolving the refs rewrites the object it was given.
  const result = await validator.validate(structuredClone(document) as Record<string, unknown>);
  expect(result.errors ?? []).toEqual([]);
  expect(result.valid).toBe(true);
  expect(validator.version).toBe('3.1');
  // Every $ref resolves.
  expect(() => validator.resolveRefs()).not.toThrow();
}

function expectEveryRouteDescribed(served: Served, document: Json): void {
  expect(served.routes.length).toBeGreaterThan(3);
  const missing = served.routes.filter(({ method, path }) => {
    const item = document.paths[path];
    const verb = method.toLowerCase();
    // Fastify answers HEAD for every GET route: the GET describes it.
    return !item || !(item[verb] ?? (verb === 'head' ? item.get : undefined));
  });
  expect(missing).toEqual([]);
}

describe('OpenAPI document: SQLite + embedded queue + disk, with the file route', () => {
  let jobs: TestService;
  let served: Served;
  let document: Json;

  beforeAll(async () => {
    jobs = await testService(
      {},
      { datasets: [numbersDataset('numbers', 50), numbersDataset('slow', 50_000, 200)] },
    );
    const { service } = jobs;
    served = await serve({
      ...serviceServerOptions(service),
      // With a webhook secret, GET /v1/webhook-secret is served and described.
      webhookSecrets: [`whsec_${Buffer.alloc(32, 7).toString('base64')}`],
      plugins: [
        async (scope) => {
          await scope.register(filesRoutes, { storage: service.storage as DiskStorage });
        },
      ],
    });
    document = await openApi(served.base);
    await service.jobs.startWorker({ concurrency: 1 });
  });
  afterAll(async () => {
    await served?.app.close();
    await jobs?.close();
  });

  it('validates as OpenAPI 3.1', async () => {
    expect(document.openapi).toBe('3.1.0');
    await expectValidOpenApi31(document);
  });

  it('describes every route the server registers', () => {
    expectEveryRouteDescribed(served, document);
    // The routes the brief names are all there, with their answers.
    const paths = document.paths;
    expect(Object.keys(paths['/v1/exports/{id}'])).toEqual(expect.arrayContaining(['get', 'delete']));
    expect(Object.keys(paths['/v1/exports/{id}/download'].get.responses)).toEqual(
      expect.arrayContaining(['303', '409', '410']),
    );
    expect(Object.keys(paths['/v1/exports/{id}/events'].get.responses['200'].content)).toEqual([
      'text/event-stream',
    ]);
    expect(paths['/files/{key}'].get.security).toEqual([]);
    expect(Object.keys(paths['/v1/webhook-secret'].get.responses)).toEqual(
      expect.arrayContaining(['200', '401']),
    );
    // Every route behind the token and the rate limit says so: 429, and 503 when the store or
    // the key set is down; the event stream also ends with 204 or refuses a 17th stream.
    for (const [path, operations] of Object.entries(paths) as [
      string,
      Record<string, { responses: Record<string, unknown> }>,
    ][]) {
      if (!path.startsWith('/v1/') || path === '/v1/openapi.json') continue;
      for (const [method, operation] of Object.entries(operations)) {
        if (method === 'parameters') continue;
        expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(
          expect.arrayContaining(['401', '429', '503']),
        );
      }
    }
    expect(Object.keys(paths['/v1/exports/{id}/events'].get.responses)).toEqual(
      expect.arrayContaining(['200', '204', '429']),
    );
  });

  it('answers POST /v1/exports with a file per content type, a job, a redirect or a problem', () => {
    const responses = document.paths['/v1/exports'].post.responses;
    expect(Object.keys(responses['200'].content)).toEqual(
      expect.arrayContaining([
        'text/csv; charset=utf-8',
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      ]),
    );
    expect(responses['202'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/JobDocument',
    });
    expect(responses['303'].headers.Location).toBeDefined();
    expect(responses['303'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/JobDocument',
    });
    const key = document.paths['/v1/exports'].post.parameters.find(
      (p: { name: string }) => p.name === 'Idempotency-Key',
    );
    expect(key.schema).toMatchObject({ minLength: 1, maxLength: 255 });
    expect(responses['422']).toEqual({ $ref: '#/components/responses/Problem' });
  });

  it('embeds the request schema the parser validates with, each format with its options', () => {
    const schema = document.components.schemas.ExportRequest;
    expect(schema.properties.format.enum).toEqual(jobs.service.formats.names());
    const csv = schema.allOf.find((branch: Json) => branch.if.properties.format.const === 'csv');
    expect(csv.then.properties.options.additionalProperties).toBe(false);
    expect(Object.keys(csv.then.properties.options.properties)).toEqual(
      Object.keys(jobs.service.formats.get('csv').options),
    );
  });

  it('lists every problem code of the catalog and the bearer scheme', () => {
    expect(document.components.schemas.Problem.properties.code.enum).toEqual(Object.keys(ERROR_CATALOG));
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.security).toEqual([{ bearer: [] }]);
  });

  it('describes what the server really answers: jobs, lists, problems, datasets, health', async () => {
    const resolvedDocument = await resolved(document);
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const expectMatches = (schemaName: string, value: unknown) => {
      const check = ajv.compile(resolvedDocument.components.schemas[schemaName]);
      expect(check(value) ? [] : check.errors).toEqual([]);
    };
    const get = async (path: string): Promise<Json> => (await fetch(served.base + path)).json();

    const created = await fetch(`${served.base}/v1/exports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ dataset: 'numbers', format: 'csv' }),
    });
    expect(created.status).toBe(202);
    const job = (await created.json()) as { id: string };
    expectMatches('JobDocument', job);
    await jobs.until(job.id, (record) => record.status === 'succeeded');
    const finished = await get(`/v1/exports/${job.id}`);
    expect(finished.result.row_count).toBe(50);
    expectMatches('JobDocument', finished);
    expectMatches('JobList', await get('/v1/exports'));
    expectMatches('DatasetList', await get('/v1/datasets'));
    expectMatches('Health', await get('/healthz'));
    const missing = await fetch(`${served.base}/v1/exports/exp_nope`);
    expect(missing.status).toBe(404);
    expectMatches('Problem', await missing.json());
    // A schema that would let anything through proves nothing.
    expect(ajv.compile(resolvedDocument.components.schemas.JobDocument)({ id: 1 })).toBe(false);
  });

  it('declares the status and headers of every answer of the job flow', async () => {
    const declared = await resolved(document);
    const send = async (operation: string, path: string, init: RequestInit = {}) => {
      const response = await fetch(served.base + path, { redirect: 'manual', ...init });
      const body = await response.text();
      expectDeclared(declared, operation, response);
      return { response, body: body && response.status !== 304 ? JSON.parse(body) : {} };
    };
    const post = (prefer: Record<string, string>, dataset = 'numbers') =>
      send('POST /v1/exports', '/v1/exports', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...prefer },
        body: JSON.stringify({ dataset, format: 'csv' }),
      });

    const queued = await post({ prefer: 'respond-async' });
    expect(queued.response.status).toBe(202);
    expect((await post({ prefer: 'respond-async, wait=10' })).response.status).toBe(303);
    // A key names a job: once it has finished, a retry goes to it, without Prefer: wait.
    const keyed = await post({ 'idempotency-key': 'openapi-replay' });
    await jobs.until(keyed.body.id, (job) => job.status === 'succeeded');
    expect((await post({ 'idempotency-key': 'openapi-replay' })).response.status).toBe(303);

    const job = `/v1/exports/${queued.body.id}`;
    const { response } = await send('GET /v1/exports/{id}', job);
    const etag = response.headers.get('etag')!;
    await send('GET /v1/exports/{id}', job, { headers: { 'if-none-match': etag } });
    expect((await send('GET /v1/exports', '/v1/exports?limit=1')).response.headers.get('link')).toBeTruthy();

    const slow = (await post({ prefer: 'respond-async' }, 'slow')).body.id as string;
    await jobs.until(slow, (record) => record.status === 'running');
    const notReady = await send('GET /v1/exports/{id}/download', `/v1/exports/${slow}/download`);
    expect(notReady.body.code).toBe('export_not_ready');
    expect(notReady.response.headers.get('retry-after')).toBeTruthy();
    const deleted = await send('DELETE /v1/exports/{id}', `/v1/exports/${slow}`, { method: 'DELETE' });
    expect(deleted.response.status).toBe(202);
    await jobs.until(slow, (record) => record.status === 'canceled');
    await send('POST /v1/exports/{id}/cancel', `/v1/exports/${slow}/cancel`, { method: 'POST' });
    await send('GET /healthz', '/healthz');
    await send('GET /v1/datasets', '/v1/datasets');
  });

  it('is served without a token while the API needs one', async () => {
    const protectedServer = await serve({
      ...serviceServerOptions(jobs.service),
      authenticate: () => {
        throw new (class extends Error {})();
      },
    });
    try {
      await openApi(protectedServer.base);
      expect((await fetch(`${protectedServer.base}/v1/datasets`)).status).toBeGreaterThanOrEqual(400);
    } finally {
      await protectedServer.app.close();
    }
  });
});

describe('OpenAPI document: sync exports only', () => {
  it('describes only the routes served: no job routes, no 202', async () => {
    const jobs = await testService({}, { datasets: [numbersDataset('numbers', 50)] });
    const { jobs: _background, storage: _storage, ...syncOnly } = serviceServerOptions(jobs.service);
    const served = await serve(syncOnly);
    try {
      const document = await openApi(served.base);
      await expectValidOpenApi31(document);
      expectEveryRouteDescribed(served, document);
      expect(document.paths['/v1/exports/{id}']).toBeUndefined();
      expect(document.paths['/v1/exports'].get).toBeUndefined();
      expect(document.paths['/v1/exports'].post.responses['202']).toBeUndefined();
    } finally {
      await served.app.close();
      await jobs.close();
    }
  });
});
