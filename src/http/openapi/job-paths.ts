/** The OpenAPI description of the job routes (served when background exports are on). */
import { ref } from './components.js';
import {
  guardedProblems,
  header,
  type Json,
  jobIdParameter,
  json,
  PRIVATE_NO_CACHE,
  RETRY_AFTER,
} from './parts.js';

/** The routes of one background export, `/v1/exports/{id}...`. */
export function jobPaths(): Json {
  const jobDocument = (description: string, headers?: Json) => json(description, ref('JobDocument'), headers);
  // Cancel and DELETE answer for this request only; a 202 says where and how soon to poll.
  const noStore = { 'Cache-Control': header('no-store') };
  const canceling = (description: string) =>
    jobDocument(description, {
      ...noStore,
      Location: header('The export, to poll until it is canceled.'),
      'Retry-After': RETRY_AFTER,
    });
  // Preconditions of the unsafe methods (412 when they do not hold).
  const conditions = [
    {
      name: 'If-Match',
      in: 'header',
      description: 'Act only if the document still has this ETag.',
      schema: { type: 'string' },
    },
    {
      name: 'If-None-Match',
      in: 'header',
      description: 'Act only if it no longer has it.',
      schema: { type: 'string' },
    },
  ];
  return {
    '/v1/exports/{id}': {
      parameters: [jobIdParameter],
      get: {
        operationId: 'getExport',
        summary: 'One of my exports',
        parameters: [{ name: 'If-None-Match', in: 'header', schema: { type: 'string' } }],
        responses: {
          '200': jobDocument('The job.', {
            ETag: header('Changes whenever the document does.'),
            'Cache-Control': PRIVATE_NO_CACHE,
            'Retry-After': header('While the job is queued or running: seconds before polling again.', {
              type: 'integer',
            }),
          }),
          '304': {
            description: 'Unchanged since the ETag given.',
            headers: {
              ETag: header('The same ETag.'),
              'Cache-Control': PRIVATE_NO_CACHE,
              'Retry-After': RETRY_AFTER,
            },
          },
          ...guardedProblems(401, 404),
        },
      },
      delete: {
        operationId: 'deleteExport',
        parameters: conditions,
        summary: 'Delete the file; the record stays (canceled or expired)',
        description:
          'Cancels an active export (a running one answers 202 while it is `canceling`) or deletes a finished one’s file (the job becomes `expired`). Takes no body (an empty one with `Content-Type: application/json` is fine).',
        responses: {
          '200': jobDocument('The job after deletion: canceled, expired, or failed as it was.', noStore),
          '202': canceling('Canceling: the worker stops within about two seconds, then the job is canceled.'),
          ...guardedProblems(401, 404, 412),
        },
      },
    },
    '/v1/exports/{id}/cancel': {
      parameters: [jobIdParameter],
      post: {
        operationId: 'cancelExport',
        parameters: conditions,
        summary: 'Cancel an export',
        description: 'Takes no body (an empty one with `Content-Type: application/json` is fine).',
        responses: {
          '200': jobDocument('Canceled (or already finished).', noStore),
          '202': canceling('Canceling: the worker stops within about two seconds.'),
          ...guardedProblems(401, 404, 412),
        },
      },
    },
    '/v1/exports/{id}/download': {
      parameters: [jobIdParameter],
      get: {
        operationId: 'downloadExport',
        summary: 'Redirect to a freshly signed link to the file',
        responses: {
          '303': {
            description: 'To a link living TAKEOUT_LINK_TTL seconds, minted for this request.',
            headers: {
              Location: header('The signed link.'),
              'Cache-Control': header('no-store'),
              'Referrer-Policy': header('no-referrer'),
            },
          },
          ...guardedProblems(401, 404, 409, 410, 502),
        },
      },
    },
    '/v1/exports/{id}/link': {
      parameters: [jobIdParameter],
      get: {
        operationId: 'exportLink',
        summary: 'A freshly signed link to the file, as JSON',
        description:
          'The link the download route redirects to, as a document: for scripts that cannot follow a redirect to another origin with their credentials (a page with a bearer token, S3 links).',
        responses: {
          '200': {
            description: 'A link living TAKEOUT_LINK_TTL seconds, minted for this request.',
            headers: { 'Cache-Control': header('no-store'), 'Referrer-Policy': header('no-referrer') },
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['url', 'expires_at'],
                  properties: {
                    url: { type: 'string', description: 'The signed link.' },
                    expires_at: { type: 'string', format: 'date-time' },
                  },
                },
              },
            },
          },
          ...guardedProblems(401, 404, 409, 410, 502),
        },
      },
    },
    '/v1/exports/{id}/events': {
      parameters: [jobIdParameter],
      get: {
        operationId: 'exportEvents',
        summary: 'Server-sent events: progress, then the final state',
        parameters: [
          {
            name: 'Last-Event-ID',
            in: 'header',
            description: 'Resume after this event.',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': {
            description:
              '`progress` events (about once a second at most), then one named after the final state; each `data` is the job document.',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          '204': { description: 'Last-Event-ID already names the final state: nothing more will come.' },
          ...guardedProblems(401, 404),
        },
      },
    },
  };
}

/** `GET /v1/exports`: the caller's exports. */
export function listExports(): Json {
  return {
    operationId: 'listExports',
    summary: 'My exports, newest first',
    parameters: [
      { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
      { name: 'cursor', in: 'query', schema: { type: 'string' } },
      {
        name: 'status',
        in: 'query',
        description:
          'Statuses as the documents show them, comma-separated (`status=queued,running`) or repeated (`status=queued&status=running`). A file past its retention is `expired`, not `succeeded`.',
        schema: { type: 'string' },
      },
    ],
    responses: {
      '200': json('A page.', ref('JobList'), {
        Link: header('rel="next": the next page.'),
        'Cache-Control': PRIVATE_NO_CACHE,
      }),
      ...guardedProblems(400, 401),
    },
  };
}
