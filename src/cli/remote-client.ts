/**
 * The CLI's client of a running Takeout service (`takeout export --async`): JSON requests with
 * the bearer token, problem documents turned into errors, job documents.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobView } from '../jobs/view.js';
import {
  DEFAULT_RETRY_FOR_MS,
  isTransientNetworkCode,
  type RetryPolicy,
  RetryStreak,
  TRANSIENT_STATUSES,
} from './remote-retry.js';
import { invalidFlag } from './usage.js';

/** A job as the API shows it, with its links (paths under the service's mount path). */
export interface RemoteJob extends JobView {
  links: { self: string; events: string; download: string; link: string; cancel: string };
}

export const FINISHED = ['succeeded', 'failed', 'canceled', 'expired'];

/** A problem the service answered with (or the export ended with): its stable code and words. */
export class RemoteProblem extends Error {
  override name = 'RemoteProblem';
  /** A network failure that another try may get past (a refused or reset connection). */
  readonly transient: boolean;
  /** The answer's Retry-After, when it had one. */
  readonly retryAfter: string | undefined;

  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    options: { transient?: boolean; retryAfter?: string | null } = {},
  ) {
    super(message);
    this.transient = options.transient ?? false;
    this.retryAfter = options.retryAfter ?? undefined;
  }
}

/** How long one request may wait for its answer before it is taken as lost (and tried again). */
export const ANSWER_TIMEOUT_MS = 30_000;

/** A fetch that failed before any answer, as the problem to report: which origin, and why. */
export function unreachable(origin: string, error: unknown): RemoteProblem {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return new RemoteProblem(
    'unreachable',
    `Cannot reach ${origin}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
    undefined,
    { transient: isTransientNetworkCode(cause?.code) },
  );
}

/**
 * The service's base URL, checked: http(s), and no credentials in it (they would be sent to
 * the service and echoed by fetch's errors; the token goes in --token). Never echoed back.
 */
export function serviceUrl(url: string, name = '--url'): URL {
  let base: URL;
  try {
    base = new URL(url.endsWith('/') ? url : `${url}/`);
  } catch {
    throw invalidFlag(
      'url',
      `${name} is not a URL: give the service's address, e.g. https://takeout.example.com`,
    );
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw invalidFlag('url', `${name} must be an http:// or https:// URL`);
  if (base.username || base.password)
    throw invalidFlag(
      'url',
      `${name} must not hold credentials (user:password@); give the token with --token or TAKEOUT_TOKEN`,
    );
  return base;
}

export class RemoteApi {
  readonly base: URL;
  readonly #token: string | undefined;
  /** How requests are retried through an outage (remote-retry.ts). */
  readonly retry: RetryPolicy;

  constructor(url: string, token: string | undefined, retry: RetryPolicy = { forMs: DEFAULT_RETRY_FOR_MS }) {
    this.base = serviceUrl(url);
    this.#token = token;
    this.retry = retry;
  }

  /** A path of the API (`v1/exports`, relative to the base) or a link the API gave (`/…`). */
  resolve(path: string): URL {
    return new URL(path, this.base);
  }

  /**
   * Sends a request to the service; a transport failure says which service could not be
   * reached. With `answerTimeoutMs`, an answer (headers and body) that takes longer is taken as
   * lost: a transient `unreachable`.
   */
  async send(
    path: string,
    init: RequestInit & { headers?: Record<string, string> } = {},
    answerTimeoutMs?: number,
  ): Promise<Response> {
    const url = this.resolve(path);
    const timeout = answerTimeoutMs === undefined ? undefined : AbortSignal.timeout(answerTimeoutMs);
    const signal =
      timeout && init.signal ? AbortSignal.any([init.signal, timeout]) : (timeout ?? init.signal);
    try {
      return await fetch(url, {
        redirect: 'manual',
        ...init,
        ...(signal ? { signal } : {}),
        headers: {
          accept: 'application/json',
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
          ...init.headers,
        },
      });
    } catch (error) {
      if (timeout?.aborted && !init.signal?.aborted) {
        throw new RemoteProblem(
          'unreachable',
          `No answer from ${url.origin} within ${answerTimeoutMs! / 1000} s`,
          undefined,
          {
            transient: true,
          },
        );
      }
      if ((error as Error).name === 'AbortError') throw error;
      throw unreachable(url.origin, error);
    }
  }

  /**
   * Sends again, with the same headers, while the service cannot be reached or answers 429,
   * 502, 503 or 504, for as long as the retry policy allows; then the last answer (or error).
   * Only for requests that are safe to repeat: reads, and a creation with its Idempotency-Key.
   */
  async sendRetrying(
    path: string,
    init: RequestInit & { headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const streak = new RetryStreak(this.retry);
    for (;;) {
      let wait: number | undefined;
      try {
        const response = await this.send(path, init, ANSWER_TIMEOUT_MS);
        if (!TRANSIENT_STATUSES.has(response.status)) return await whole(response, this.resolve(path).origin);
        wait = streak.next(`the service answered ${response.status}`, response.headers.get('retry-after'));
        if (wait === undefined) return response;
        await response.body?.cancel();
      } catch (error) {
        if (!(error instanceof RemoteProblem) || !error.transient) throw error;
        wait = streak.next(error.message);
        if (wait === undefined) throw error;
      }
      await sleep(wait, undefined, init.signal ? { signal: init.signal } : {});
    }
  }

  /** The body of a successful JSON answer, or the answer's problem as an error. */
  async json<T>(response: Response, expected: number[]): Promise<T> {
    if (!expected.includes(response.status)) throw await problemOf(response);
    return (await response.json()) as T;
  }
}

/**
 * The answer with its body read (these are small JSON documents): an answer that breaks off
 * mid-body is a transient failure of the request, tried again like a refused connection.
 */
async function whole(response: Response, origin: string): Promise<Response> {
  let body: ArrayBuffer;
  try {
    body = await response.arrayBuffer();
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') {
      throw new RemoteProblem(
        'unreachable',
        `No whole answer from ${origin} within ${ANSWER_TIMEOUT_MS / 1000} s`,
        undefined,
        {
          transient: true,
        },
      );
    }
    if ((error as Error).name === 'AbortError') throw error;
    throw unreachable(origin, error);
  }
  // A null-body status (204, 304) takes no body, not even an empty one.
  const empty = [101, 103, 204, 205, 304].includes(response.status);
  return new Response(empty ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** The error a non-successful answer stands for: its problem document's code and detail. */
export async function problemOf(response: Response): Promise<RemoteProblem> {
  const text = await response.text().catch(() => '');
  try {
    const problem = JSON.parse(text) as { code?: unknown; detail?: unknown; title?: unknown };
    if (typeof problem.code === 'string') {
      const detail = typeof problem.detail === 'string' ? problem.detail : String(problem.title ?? '');
      return new RemoteProblem(problem.code, detail, response.status, {
        retryAfter: response.headers.get('retry-after'),
      });
    }
  } catch {
    // Not a problem document: a proxy's page, or another service.
  }
  return new RemoteProblem(
    `http_${response.status}`,
    `The service answered ${response.status} ${response.statusText}`.trim(),
    response.status,
    { retryAfter: response.headers.get('retry-after') },
  );
}
