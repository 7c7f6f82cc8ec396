/**
 * One webhook request: a signed POST of the event, no redirects followed (a redirect could
 * point anywhere, internal addresses included), bounded by a timeout. Its answer is dropped
 * once its status is in; only the status matters. node:http rather than fetch: it takes the
 * connection's `lookup`, which checks where a per-export webhook's name resolves.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { whenAborted } from '../settle.js';
import { NotPublicAddressError, publicOnlyLookup } from './public-lookup.js';
import { signatureHeader } from './signing.js';

export interface WebhookRequest {
  url: string;
  /** The event id: the same on every retry, so receivers can deduplicate. */
  id: string;
  body: string;
  /**
   * What it is signed with, one signature each: the service secrets for the service-wide
   * webhook, the owner's derived ones (`ownerWebhookSecrets`) for a per-export webhook.
   */
  secrets: readonly string[];
  timeoutMs: number;
  /** When the attempt is made (the signed `webhook-timestamp`). */
  now?: Date;
  /** Stops the request (the dispatcher is closing): the answer says so, and is not an outcome. */
  signal?: AbortSignal;
  /**
   * Refuse a host name that resolves to a non-public address (a per-export webhook, whose
   * name's DNS is not the operator's). An address in the URL is used as it is.
   */
  publicOnly?: boolean;
  /** How host names are resolved: dns.lookup unless a test says otherwise. */
  lookup?: LookupFunction;
}

export interface WebhookAnswer {
  statusCode?: number;
  /** Why no 2xx came: the status, a redirect, a timeout, a connection error. */
  error?: string;
  /** A 429's or 503's `Retry-After`, ms from now: the receiver says when to come back. */
  retryAfterMs?: number;
}

/** `Retry-After` as ms from `now`: delay-seconds or an HTTP date; undefined when neither. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  const given = value?.trim();
  if (!given) return undefined;
  const ms = /^\d+$/.test(given) ? Number(given) * 1000 : Date.parse(given) - now;
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
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
    const { statusCode, retryAfter } = await post(request, timestamp, ended.signal);
    if (statusCode >= 200 && statusCode < 300) return { statusCode };
    if (statusCode >= 300 && statusCode < 400)
      return { statusCode, error: `HTTP ${statusCode}: redirects are not followed` };
    const wait = statusCode === 429 || statusCode === 503 ? retryAfterMs(retryAfter) : undefined;
    return { statusCode, error: `HTTP ${statusCode}`, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  } catch (error) {
    if (request.signal?.aborted) return { error: 'Stopped: the dispatcher closed' };
    return { error: describeRequestError(error, request.timeoutMs) };
  } finally {
    clearTimeout(timer);
    stopWatching();
  }
}

/** Sends the POST and settles with the answer's status (and Retry-After); its body is not read. */
function post(
  request: WebhookRequest,
  timestamp: number,
  signal: AbortSignal,
): Promise<{ statusCode: number; retryAfter: string | undefined }> {
  const url = new URL(request.url);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const lookup = request.publicOnly ? publicOnlyLookup(request.lookup) : request.lookup;
  return new Promise((resolve, reject) => {
    const outgoing = send(
      url,
      {
        method: 'POST',
        // A connection of its own: the answer is cut once its status is in.
        agent: false,
        signal,
        ...(lookup ? { lookup } : {}),
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(request.body),
          'user-agent': USER_AGENT,
          'webhook-id': request.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(request.secrets, request.id, timestamp, request.body),
        },
      },
      (answer: IncomingMessage) => {
        const retryAfter = answer.headers['retry-after'];
        resolve({ statusCode: answer.statusCode ?? 0, retryAfter });
        answer.destroy();
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

/** A short reason without internals: the error's code (ECONNREFUSED ...), the timeout, a refused address. */
function describeRequestError(error: unknown, timeoutMs: number): string {
  if (error instanceof NotPublicAddressError) return error.message;
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return `No answer within ${timeoutMs} ms`;
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `Connection failed (${code})` : 'The request failed';
}
