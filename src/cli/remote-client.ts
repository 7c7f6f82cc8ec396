/**
 * The CLI's client of a running Takeout service (`takeout export --async`): JSON requests with
 * the bearer token, problem documents turned into errors, job documents.
 */
import type { JobView } from '../jobs/view.js';
import { invalidFlag } from './usage.js';

/** A job as the API shows it, with its links (paths under the service's mount path). */
export interface RemoteJob extends JobView {
  links: { self: string; events: string; download: string; link: string; cancel: string };
}

export const FINISHED = ['succeeded', 'failed', 'canceled', 'expired'];

/** A problem the service answered with (or the export ended with): its stable code and words. */
export class RemoteProblem extends Error {
  override name = 'RemoteProblem';
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Statuses worth sending the same request again for (with the same Idempotency-Key). */
const TRANSIENT = new Set([502, 503, 504]);

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

  constructor(url: string, token: string | undefined) {
    this.base = serviceUrl(url);
    this.#token = token;
  }

  /** A path of the API (`v1/exports`, relative to the base) or a link the API gave (`/…`). */
  resolve(path: string): URL {
    return new URL(path, this.base);
  }

  /** Sends a request to the service; a transport failure says which service could not be reached. */
  async send(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const url = this.resolve(path);
    try {
      return await fetch(url, {
        redirect: 'manual',
        ...init,
        headers: {
          accept: 'application/json',
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
          ...init.headers,
        },
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new RemoteProblem(
        'unreachable',
        `Cannot reach ${url.origin}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      );
    }
  }

  /** Sends again, with the same headers, while the service says it is briefly unavailable. */
  async sendRetrying(
    path: string,
    init: RequestInit & { headers?: Record<string, string> },
    attempts = 3,
  ): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      let response: Response | undefined;
      try {
        response = await this.send(path, init);
        if (!TRANSIENT.has(response.status) || attempt >= attempts) return response;
        await response.body?.cancel();
      } catch (error) {
        if (!(error instanceof RemoteProblem) || error.code !== 'unreachable' || attempt >= attempts)
          throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }

  /** The body of a successful JSON answer, or the answer's problem as an error. */
  async json<T>(response: Response, expected: number[]): Promise<T> {
    if (!expected.includes(response.status)) throw await problemOf(response);
    return (await response.json()) as T;
  }
}

/** The error a non-successful answer stands for: its problem document's code and detail. */
export async function problemOf(response: Response): Promise<RemoteProblem> {
  const text = await response.text().catch(() => '');
  try {
    const problem = JSON.parse(text) as { code?: unknown; detail?: unknown; title?: unknown };
    if (typeof problem.code === 'string') {
      const detail = typeof problem.detail === 'string' ? problem.detail : String(problem.title ?? '');
      return new RemoteProblem(problem.code, detail, response.status);
    }
  } catch {
    // Not a problem document: a proxy's page, or another service.
  }
  return new RemoteProblem(
    `http_${response.status}`,
    `The service answered ${response.status} ${response.statusText}`.trim(),
    response.status,
  );
}
