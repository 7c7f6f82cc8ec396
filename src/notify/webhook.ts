/**
 * One webhook request: a signed POST of the event, no redirects followed (a redirect could
 * point anywhere, internal addresses included), bounded by a timeout. Its answer is read
 * and dropped; only the status matters.
 */
import { whenAborted } from '../settle.js';
import { signatureHeader } from './signing.js';

export interface WebhookRequest {
  url: string;
  /** The event id: the same on every retry, so receivers can deduplicate. */
  id: string;
  body: string;
  secrets: readonly string[];
  timeoutMs: number;
  /** When the attempt is made (the signed `webhook-timestamp`). */
  now?: Date;
  /** Stops the request (the dispatcher is closing): the answer says so, and is not an outcome. */
  signal?: AbortSignal;
}

export interface WebhookAnswer {
  statusCode?: number;
  /** Why no 2xx came: the status, a redirect, a timeout, a connection error. */
  error?: string;
}

const USER_AGENT = 'Takeout-Webhooks/1';

export async function sendWebhook(request: WebhookRequest): Promise<WebhookAnswer> {
  const timestamp = Math.floor((request.now ?? new Date()).getTime() / 1000);
  // The timeout, or the dispatcher's stop: a signal of the dispatcher's lifetime gets one
  // entry of whenAborted's per request, removed when it ends.
  const ended = new AbortController();
  const timer = setTimeout(
    () => ended.abort(new DOMException('timed out', 'TimeoutError')),
    request.timeoutMs,
  );
  const stopWatching = request.signal ? whenAborted(request.signal, () => ended.abort()) : () => {};
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      redirect: 'manual',
      signal: ended.signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': request.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(request.secrets, request.id, timestamp, request.body),
      },
      body: request.body,
    });
    await response.body?.cancel().catch(() => {});
    const statusCode = response.status;
    if (statusCode >= 200 && statusCode < 300) return { statusCode };
    if (statusCode >= 300 && statusCode < 400)
      return { statusCode, error: `HTTP ${statusCode}: redirects are not followed` };
    return { statusCode, error: `HTTP ${statusCode}` };
  } catch (error) {
    if (request.signal?.aborted) return { error: 'Stopped: the dispatcher closed' };
    return { error: describeFetchError(error, request.timeoutMs) };
  } finally {
    clearTimeout(timer);
    stopWatching();
  }
}

/** A short reason without internals: the cause's code (ECONNREFUSED ...) or the timeout. */
function describeFetchError(error: unknown, timeoutMs: number): string {
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return `No answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
  return cause?.code ? `Connection failed (${cause.code})` : 'The request failed';
}
