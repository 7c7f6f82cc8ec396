/**
 * The harness as the API's clients see it: creates exports (forced async), follows each
 * owner's exports through the list route, downloads every finished file through the
 * download route (303 to a signed link) and checks it. Transient answers (a network error,
 * 5xx, 429) are retried; a POST keeps its Idempotency-Key across its retries, so a retry
 * never makes a second job.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Owner } from './deployment.js';
import { checkFile, type FileCheck } from './verify.js';
import type { PlannedExport } from './workload.js';

export interface JobDocument {
  id: string;
  status: string;
  attempt: number;
  created_at: string;
  finished_at?: string;
  result?: { size_bytes: number; row_count: number; sha256: string };
  error?: { code: string; message: string; retryable: boolean };
}

/** Counts of what the harness had to retry, by kind. */
export class Tally {
  readonly counts = new Map<string, number>();
  add(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort());
  }
}

const TRANSIENT = new Set([429, 500, 502, 503, 504]);

export class ScaleClient {
  #next = 0;
  constructor(
    private readonly bases: string[],
    private readonly owners: Owner[],
    readonly retries: Tally,
  ) {}

  /** The API processes in turn. */
  #base(): string {
    return this.bases[this.#next++ % this.bases.length]!;
  }

  #headers(owner: number): Record<string, string> {
    return { authorization: `Bearer ${this.owners[owner]!.token}` };
  }

  /** `fetch` with retries of network errors and transient statuses, until `deadline`. */
  async #fetch(label: string, path: string, init: RequestInit, deadline: number): Promise<Response> {
    for (;;) {
      const base = this.#base();
      let why: string;
      try {
        const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
        if (!TRANSIENT.has(response.status)) return response;
        const text = await response.text();
        why = `${response.status} ${/"code":"(\w+)"/.exec(text)?.[1] ?? text.slice(0, 100)}`;
      } catch (error) {
        why = `network ${(error as Error).cause ?? error}`.slice(0, 200);
      }
      this.retries.add(`${label} ${why.startsWith('network') ? 'network' : why}`);
      if (Date.now() > deadline) throw new Error(`${label} ${path}: still failing at the deadline (${why})`);
      await sleep(500 + Math.random() * 500);
    }
  }

  /** Creates the export as a job; resolves with its document. */
  async create(planned: PlannedExport, deadline: number): Promise<JobDocument> {
    const body = JSON.stringify({
      dataset: planned.dataset,
      format: planned.format,
      params: { n: planned.rows },
    });
    const response = await this.#fetch(
      'create',
      '/v1/exports',
      {
        method: 'POST',
        headers: {
          ...this.#headers(planned.owner),
          'content-type': 'application/json',
          prefer: 'respond-async',
          'idempotency-key': randomUUID(),
        },
        body,
      },
      deadline,
    );
    if (response.status !== 202) throw new Error(`create: ${response.status} ${await response.text()}`);
    return (await response.json()) as JobDocument;
  }

  /** Every export of `owner`, newest first (the harness keeps each owner under 100). */
  async list(owner: number, deadline: number): Promise<JobDocument[]> {
    const response = await this.#fetch(
      'list',
      '/v1/exports?limit=100',
      { headers: this.#headers(owner) },
      deadline,
    );
    if (response.status !== 200) throw new Error(`list: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { exports: JobDocument[] }).exports;
  }

  /** Downloads a finished export through its 303 and checks the file. */
  async download(owner: number, planned: PlannedExport, id: string, deadline: number): Promise<FileCheck> {
    for (;;) {
      const response = await this.#fetch(
        'download',
        `/v1/exports/${id}/download`,
        { headers: this.#headers(owner), redirect: 'manual' },
        deadline,
      );
      if (response.status !== 303)
        throw new Error(`download ${id}: ${response.status} ${await response.text()}`);
      const location = response.headers.get('location');
      if (!location) throw new Error(`download ${id}: 303 without Location`);
      await response.body?.cancel();
      // The signed link goes to the S3 server itself, which may be down for a while.
      // It may also go down in the middle of a body ("terminated"): the read is retried too.
      const file = await fetch(location, { signal: AbortSignal.timeout(60_000) })
        .then(async (r) => (r.status === 200 ? Buffer.from(await r.arrayBuffer()) : r.status))
        .catch(() => 'network' as const);
      // A file that does not check out is a failure, never retried.
      if (Buffer.isBuffer(file)) return await checkFile(planned.format, file);
      this.retries.add(`signed link ${file}`);
      if (Date.now() > deadline) throw new Error(`download ${id}: the signed link kept failing`);
      await sleep(1000);
    }
  }
}
