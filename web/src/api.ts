/** The Takeout API as the page uses it: fetch with the session's token, problems as errors. */
import { answerSignal } from './answer-signal.js';
import { currentToken } from './session.js';

export { ANSWER_TIMEOUT_MS, answerSignal } from './answer-signal.js';

/** An RFC 9457 problem document as Takeout sends it (its `code` is stable). */
export interface Problem {
  status: number;
  code: string;
  title?: string;
  detail?: string;
  /** invalid_params: the parameter the problem is about. */
  param?: string;
  /** Seconds, from `Retry-After`. */
  retryAfter?: number;
  /** The server's word on whether trying again may help (absent from a proxy's page). */
  retryable?: boolean;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? problem.code);
  }
}

export interface ParamDescription {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date' | 'datetime';
  description?: string;
  required?: boolean;
  default?: unknown;
  enum?: (string | number)[];
  min?: number | string;
  max?: number | string;
  maxLength?: number;
}

export interface ColumnDescription {
  key: string;
  header?: string;
  type?: string;
}

export interface DatasetDescription {
  name: string;
  title: string;
  description?: string;
  params: ParamDescription[];
  columns?: ColumnDescription[];
}

export type JobStatus = 'queued' | 'running' | 'canceling' | 'succeeded' | 'failed' | 'canceled' | 'expired';

export interface JobDocument {
  id: string;
  status: JobStatus;
  /** What was asked for: the dataset (none for rows handed over) and the file's format. */
  dataset?: string;
  format: string;
  created_at: string;
  started_at?: string;
  finished_at?: string;
  expires_at?: string;
  progress: { rows_written: number; rows_estimated?: number; bytes_written: number };
  result?: { filename: string; content_type: string; size_bytes: number; row_count: number };
  error?: { code: string; message: string };
  links: { self: string; events: string; download: string; link: string; cancel: string };
}

export const ACTIVE_STATUSES: readonly JobStatus[] = ['queued', 'running', 'canceling'];

export function authHeaders(): Record<string, string> {
  const token = currentToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Turns a non-2xx answer into an ApiError (problem+json when the server sent one). */
export async function problemOf(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's page): the status alone must do.
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  return new ApiError({
    status: response.status,
    code: typeof body.code === 'string' ? body.code : `http_${response.status}`,
    ...(typeof body.title === 'string' ? { title: body.title } : {}),
    ...(typeof body.detail === 'string' ? { detail: body.detail } : {}),
    ...(typeof body.param === 'string' ? { param: body.param } : {}),
    ...(typeof body.retryable === 'boolean' ? { retryable: body.retryable } : {}),
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : {}),
  });
}

/** fetch with the token; a network failure becomes the `network_error` problem. */
export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(path, {
      ...init,
      headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) },
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError({ status: 0, code: 'network_error' });
  }
}

/** A JSON answer, or the problem as an ApiError (within ANSWER_TIMEOUT_MS). */
export async function getJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await request(path, { ...init, signal: answerSignal(init.signal) });
  if (!response.ok) throw await problemOf(response);
  return (await response.json()) as T;
}

export function listDatasets(): Promise<{ datasets: DatasetDescription[] }> {
  return getJson('v1/datasets');
}

/** A page of the caller's exports, newest first; `cursor` is the previous page's `next_cursor`. */
export function listExports(
  limit: number,
  cursor?: string,
): Promise<{ exports: JobDocument[]; next_cursor?: string }> {
  const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
  return getJson(`v1/exports?${query}`);
}

/** One export of the caller's; anyone else's (or none) is the API's 404 `export_not_found`. */
export function getExport(id: string): Promise<JobDocument> {
  return getJson(`v1/exports/${encodeURIComponent(id)}`);
}

export function cancelExport(job: JobDocument): Promise<JobDocument> {
  return getJson(job.links.cancel, { method: 'POST' });
}

export function deleteExport(job: JobDocument): Promise<JobDocument> {
  return getJson(job.links.self, { method: 'DELETE' });
}
