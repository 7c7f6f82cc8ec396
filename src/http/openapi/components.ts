/**
 * The reusable parts of the OpenAPI document: the export request (the very schema the
 * request parser validates with), the job document, the problem document with every
 * catalog code, and the bearer security scheme.
 */
import { ERROR_CATALOG } from '../../errors.js';
import { exportRequestSchema } from '../../exports/request.js';
import type { FormatRegistry } from '../../formats/registry.js';
import { JOB_STATUSES } from '../../jobs/types.js';
import { NOTIFY_EVENTS } from '../../notify/types.js';
import { PROBLEM_TYPE_BASE } from '../problem.js';

type Schema = Record<string, unknown>;

const text: Schema = { type: 'string' };
const count: Schema = { type: 'integer', minimum: 0 };
const time: Schema = { type: 'string', format: 'date-time' };

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** What `jobDocument` (src/http/jobs/document.ts) answers: `JobView` plus its links. */
const JOB_DOCUMENT: Schema = {
  type: 'object',
  description: 'A background export as its owner sees it. Never holds a signed link.',
  required: ['id', 'status', 'format', 'attempt', 'created_at', 'progress', 'links'],
  properties: {
    id: text,
    status: { enum: [...JOB_STATUSES] },
    dataset: { ...text, description: 'The dataset exported; absent when the rows were handed over.' },
    format: text,
    attempt: count,
    created_at: time,
    started_at: time,
    finished_at: time,
    expires_at: { ...time, description: 'When the file is deleted.' },
    progress: {
      type: 'object',
      required: ['rows_written', 'bytes_written'],
      properties: { rows_written: count, rows_estimated: count, bytes_written: count },
    },
    result: {
      type: 'object',
      required: ['filename', 'content_type', 'size_bytes', 'row_count', 'sha256'],
      properties: {
        filename: text,
        content_type: text,
        size_bytes: count,
        row_count: count,
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      },
    },
    error: {
      type: 'object',
      required: ['code', 'message', 'retryable'],
      properties: { code: text, message: text, retryable: { type: 'boolean' } },
    },
    notifications: {
      type: 'array',
      description:
        'How the webhook and email the owner asked for (`notify`) went: one entry per event and channel. Never a secret.',
      items: {
        type: 'object',
        required: ['channel', 'destination', 'event', 'state', 'attempts'],
        properties: {
          channel: { enum: ['webhook', 'email'] },
          destination: { ...text, description: 'The webhook URL or email address given in `notify`.' },
          event: { enum: [...NOTIFY_EVENTS] },
          state: { enum: ['pending', 'retrying', 'delivered', 'failed', 'disabled'] },
          attempts: count,
          last_status: {
            type: 'integer',
            description: 'HTTP status of the last answer, or SMTP reply code.',
          },
          last_error: text,
          last_attempt_at: time,
          next_attempt_at: time,
          delivered_at: time,
        },
      },
    },
    links: {
      type: 'object',
      required: ['self', 'events', 'download', 'link', 'cancel'],
      properties: { self: text, events: text, download: text, link: text, cancel: text },
    },
  },
};

/** RFC 9457 with Takeout's members; `details` of an error add further members. */
const PROBLEM: Schema = {
  type: 'object',
  description: `RFC 9457 problem document; \`type\` is ${PROBLEM_TYPE_BASE}{code}.`,
  required: ['type', 'title', 'status', 'code', 'detail', 'retryable'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: text,
    status: { type: 'integer', minimum: 100, maximum: 599 },
    code: { enum: Object.keys(ERROR_CATALOG) },
    detail: text,
    retryable: { type: 'boolean', description: 'Whether the same request may succeed later.' },
    instance: text,
  },
  additionalProperties: true,
};

const DATASETS: Schema = {
  type: 'object',
  required: ['datasets'],
  properties: {
    datasets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'title', 'params'],
        properties: {
          name: text,
          title: text,
          description: text,
          params: {
            type: 'array',
            items: { type: 'object', required: ['name'], properties: { name: text } },
          },
          columns: { type: 'array', items: { type: 'object' } },
        },
      },
    },
  },
};

const HEALTH: Schema = {
  type: 'object',
  required: ['status', 'formats', 'sync'],
  properties: {
    status: { const: 'ok' },
    formats: { type: 'array', items: text },
    sync: {
      type: 'object',
      description: 'Exports streaming now and the most that may (TAKEOUT_SYNC_CONCURRENCY).',
      properties: { running: count, limit: count },
    },
  },
};

const PROBLEM_CONTENT: Schema = { 'application/problem+json': { schema: ref('Problem') } };

export function components(formats: FormatRegistry): Schema {
  return {
    schemas: {
      ExportRequest: exportRequestSchema(formats),
      JobDocument: JOB_DOCUMENT,
      JobList: {
        type: 'object',
        required: ['exports'],
        properties: {
          exports: { type: 'array', items: ref('JobDocument') },
          next_cursor: { ...text, description: 'Pass as `cursor` for the next page; absent on the last.' },
        },
      },
      Problem: PROBLEM,
      DatasetList: DATASETS,
      Health: HEALTH,
    },
    responses: {
      Problem: {
        description: 'An error: problem+json with a stable `code` (docs/errors.md).',
        content: PROBLEM_CONTENT,
      },
      ProblemRetryAfter: {
        description:
          'An error worth retrying later (`rate_limited`, `too_busy`, `export_not_ready`, ...): problem+json, with `Retry-After` when the server knows when.',
        headers: {
          'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } },
        },
        content: PROBLEM_CONTENT,
      },
      Unauthorized: {
        description: 'No valid credentials (`unauthorized`); `detail` says why.',
        headers: {
          'WWW-Authenticate': {
            description: '`Bearer`; `Bearer error="invalid_token"` when a token was sent and refused.',
            schema: text,
          },
        },
        content: PROBLEM_CONTENT,
      },
      HostNotAllowed: {
        description:
          'Development mode (no authentication): the `Host` is not 127.0.0.1, localhost or [::1] with the server’s port (`host_not_allowed`).',
        content: PROBLEM_CONTENT,
      },
    },
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description: 'An API token (TAKEOUT_API_TOKENS or the config file) or a JWT.',
      },
    },
  };
}
