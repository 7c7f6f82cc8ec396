/** Asks for an export: a small one comes back as the file itself, a large one as a background job. */
import { ApiError, type JobDocument, problemOf, request } from './api.js';
import { filenameOf } from './download.js';

export interface ExportBody {
  dataset: string;
  format: string;
  params?: Record<string, string | number | boolean>;
  columns?: string[];
  timezone?: string;
  filename?: string;
}

/** A file is handed back, not saved: the caller saves it only if its user is still signed in. */
export type ExportOutcome =
  | { kind: 'file'; blob: Blob; filename: string; size: number }
  | { kind: 'job'; job: JobDocument };

/**
 * `background`: always a job (`Prefer: respond-async`), however small the export. `signal`
 * gives up on the request and on the file still arriving (a sign-out).
 */
export async function requestExport(
  body: ExportBody,
  background = false,
  signal?: AbortSignal,
): Promise<ExportOutcome> {
  const response = await request('v1/exports', {
    method: 'POST',
    ...(signal ? { signal } : {}),
    headers: { 'content-type': 'application/json', ...(background ? { prefer: 'respond-async' } : {}) },
    body: JSON.stringify(body),
  });
  if (response.status === 202) return { kind: 'job', job: (await response.json()) as JobDocument };
  if (!response.ok) throw await problemOf(response);
  // 200: the file, streamed; its size stays within the server's sync limits. A stream cut
  // short (the source failed after the first bytes, the connection dropped) fails here.
  const blob = await response.blob().catch((error: unknown) => {
    if (signal?.aborted) throw error;
    throw new ApiError({ status: 0, code: 'download_interrupted' });
  });
  const filename =
    filenameOf(response.headers.get('content-disposition')) ?? `${body.dataset}.${body.format}`;
  return { kind: 'file', blob, filename, size: blob.size };
}

/** The browser's time zone first, then every zone it knows. */
export function timeZones(): { zones: string[]; own: string } {
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const known =
    (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  const zones = [...new Set(['UTC', own, ...known])].sort((a, b) => a.localeCompare(b));
  return { zones, own };
}
