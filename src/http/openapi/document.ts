/**
 * `GET /v1/openapi.json`: the OpenAPI 3.1 description of the routes this server registers,
 * built from the schemas that validate requests (see `components.ts`). Only what is served
 * is described: the job routes when background exports are on, the file route when mounted.
 */
import type { FormatRegistry } from '../../formats/registry.js';
import { components, ref } from './components.js';
import { jobPaths, listExports } from './job-paths.js';
import {
  guardedProblems,
  header,
  type Json,
  json,
  LOCATION,
  NO_STORE,
  PRIVATE_NO_CACHE,
  problems,
  RETRY_AFTER,
} from './parts.js';

export interface OpenApiOptions {
  formats: FormatRegistry;
  /** Whether background exports (the job routes, 202 and 303 answers) are served. */
  jobs: boolean;
  /** Where the signed file route is mounted (`/files`), when it is. */
  filesMount?: string;
  /** The Fastify prefix Takeout is mounted under, if any. */
  prefix?: string;
  /** Whether `GET /metrics` is served. */
  metrics?: boolean;
  /** Whether every route refuses a non-loopback `Host` (the standalone server's development mode). */
  loopbackHostsOnly?: boolean;
  /** Whether `GET /v1/webhook-secret` is served (the service signs webhooks). */
  webhookSecret?: boolean;
}

function webhookSecretPath(): Json {
  return {
    get: {
      operationId: 'webhookSecret',
      summary: 'My webhook secrets: what my per-export webhooks are signed with',
      responses: {
        '200': json(
          'One `whsec_` secret per service secret, newest first while they rotate.',
          {
            type: 'object',
            required: ['secrets'],
            properties: { secrets: { type: 'array', items: { type: 'string', pattern: '^whsec_' } } },
          },
          { 'Cache-Control': NO_STORE },
        ),
        ...guardedProblems(401),
      },
    },
  };
}

/** One 200 content entry per content type the formats write. */
function fileContent(formats: FormatRegistry): Json {
  const byType = new Map<string, string[]>();
  for (const format of formats.all())
    byType.set(format.contentType, [...(byType.get(format.contentType) ?? []), format.name]);
  return Object.fromEntries(
    [...byType].map(([type, names]) => [
      type,
      { schema: { description: `The file (format ${names.join(', ')}).` } },
    ]),
  );
}

const PREFERENCE_APPLIED = header('The preferences honoured: `respond-async`, `wait=N`.');

function createExport(options: OpenApiOptions): Json {
  const jobAnswers = options.jobs
    ? {
        '202': json(
          'A background job was created (past the sync limits, or Prefer: respond-async).',
          ref('JobDocument'),
          {
            Location: LOCATION,
            'Content-Location': header('The job: the body is its document.'),
            'Retry-After': RETRY_AFTER,
            'Cache-Control': NO_STORE,
            'Preference-Applied': PREFERENCE_APPLIED,
          },
        ),
        '303': json(
          'The job is finished: with Prefer: wait=N, it finished in time; or an Idempotency-Key named a job that had already finished (whatever Prefer says). The job, also at Location.',
          ref('JobDocument'),
          { Location: LOCATION, 'Cache-Control': NO_STORE, 'Preference-Applied': PREFERENCE_APPLIED },
        ),
      }
    : {};
  return {
    operationId: 'createExport',
    summary: 'Export: the file in the response, or a background job',
    parameters: [
      {
        name: 'Prefer',
        in: 'header',
        description: 'RFC 7240: `respond-async` forces a job; `wait=N` waits up to N seconds for it.',
        schema: { type: 'string' },
      },
      {
        name: 'Idempotency-Key',
        in: 'header',
        description:
          'Makes the export a job, however small; retries with the same key and body return the same job (303 once it has finished).',
        schema: { type: 'string', minLength: 1, maxLength: 255 },
      },
    ],
    requestBody: { required: true, content: { 'application/json': { schema: ref('ExportRequest') } } },
    responses: {
      '200': {
        description: 'The file, streamed (within the sync limits).',
        headers: { 'Content-Disposition': header('attachment with the file name.') },
        content: fileContent(options.formats),
      },
      ...jobAnswers,
      ...problems(400, 401, 404, 413, 415, 422, 429, 502, 503, 504),
    },
  };
}

function filesPath(): Json {
  const get = {
    summary: 'A file of the disk storage, through a signed link (no bearer token)',
    security: [],
    parameters: [
      {
        name: 'key',
        in: 'path',
        required: true,
        description: 'The storage key; may hold `/`.',
        schema: { type: 'string' },
      },
      { name: 'Range', in: 'header', description: 'One byte range.', schema: { type: 'string' } },
      ...['If-Range', 'If-Match', 'If-None-Match', 'If-Unmodified-Since'].map((name) => ({
        name,
        in: 'header',
        schema: { type: 'string' },
      })),
    ],
    responses: {
      // The Content-Type its format has (text/csv, the XLSX type...), signed into the link.
      '200': {
        description: "The file, with its format's Content-Type.",
        content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
      },
      '206': { description: 'The range asked for.' },
      '304': { description: 'Unchanged since the ETag given.' },
      ...problems(403, 404, 412, 416),
    },
  };
  return { get: { operationId: 'getFile', ...get }, head: { operationId: 'headFile', ...get } };
}

/** With the development mode's Host check, every route may answer 403 `host_not_allowed`. */
function refusingOtherHosts(options: OpenApiOptions, paths: Record<string, Json>): Json {
  if (!options.loopbackHostsOnly) return paths;
  for (const item of Object.values(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (method === 'parameters') continue;
      const responses = (operation as { responses: Json }).responses;
      responses['403'] ??= { $ref: '#/components/responses/HostNotAllowed' };
    }
  }
  return paths;
}

/** The OpenAPI 3.1 document of the routes `takeoutRoutes` registers with these options. */
export function openApiDocument(options: OpenApiOptions): Json {
  const exportsPath: Json = { post: createExport(options) };
  if (options.jobs) exportsPath.get = listExports();
  return {
    openapi: '3.1.0',
    info: {
      title: 'Takeout',
      version: '1',
      description:
        'Exports data as CSV, TSV, XLSX, JSON and NDJSON files: streamed back, or as background jobs.',
    },
    ...(options.prefix ? { servers: [{ url: options.prefix }] } : {}),
    security: [{ bearer: [] }],
    paths: refusingOtherHosts(options, {
      '/v1/exports': exportsPath,
      ...(options.jobs ? jobPaths() : {}),
      '/v1/datasets': {
        get: {
          operationId: 'listDatasets',
          summary: 'What I may export',
          responses: {
            '200': json('The datasets.', ref('DatasetList'), { 'Cache-Control': PRIVATE_NO_CACHE }),
            ...guardedProblems(401),
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          operationId: 'openApi',
          summary: 'This document',
          security: [],
          responses: { '200': json('OpenAPI 3.1.', { type: 'object' }) },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Liveness and sync load',
          security: [],
          responses: { '200': json('Up.', ref('Health'), { 'Cache-Control': NO_STORE }) },
        },
      },
      '/readyz': {
        get: {
          operationId: 'ready',
          summary: 'Readiness: the job store, queue and storage answer',
          security: [],
          responses: {
            '200': json(
              'Ready.',
              {
                type: 'object',
                required: ['status', 'checks'],
                properties: { status: { const: 'ready' }, checks: { type: 'object' } },
              },
              { 'Cache-Control': NO_STORE },
            ),
            ...problems(503),
          },
        },
      },
      ...(options.webhookSecret ? { '/v1/webhook-secret': webhookSecretPath() } : {}),
      ...(options.metrics ? { '/metrics': metricsPath() } : {}),
      ...(options.filesMount ? { [`${options.filesMount}/{key}`]: filesPath() } : {}),
    }),
    components: components(options.formats),
  };
}

function metricsPath(): Json {
  return {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics (bearer TAKEOUT_METRICS_TOKEN when set)',
      security: [],
      responses: {
        '200': {
          description: 'The Prometheus text exposition format.',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
        ...problems(401, 404),
      },
    },
  };
}
