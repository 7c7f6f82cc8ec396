/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` is
 * `v1,` + base64 HMAC-SHA256 of `${id}.${timestamp}.${body}` keyed with the bytes of a
 * `whsec_` secret; several space-separated signatures while secrets rotate.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { TakeoutError } from '../errors.js';

const PREFIX = 'whsec_';
/** Receivers refuse timestamps further than this from their clock (replays). */
const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** The key bytes of a `whsec_` secret (the prefix is optional, as in the reference libraries). */
export function decodeSecret(secret: string, name = 'The webhook secret'): Buffer {
  const encoded = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length < 24) {
    throw new TakeoutError('config_error', `${name} must be whsec_ + base64 of at least 24 random bytes`);
  }
  return key;
}

function sign(key: Buffer, id: string, timestamp: number, body: string | Uint8Array): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}

/** The `webhook-signature` header: one `v1,` signature per secret. */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): string {
  return secrets.map((secret) => `v1,${sign(decodeSecret(secret), id, timestamp, body)}`).join(' ');
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value[0] : value;
}

export interface VerifyOptions {
  /** Largest gap between `webhook-timestamp` and now, seconds. Default 300. */
  toleranceSeconds?: number;
  /** Now, in seconds since the epoch (tests). */
  now?: number;
}

/**
 * For receivers: checks a delivery's signature against the secret (or any of several, while
 * they rotate) and its timestamp against the clock, and returns the parsed event. Pass the
 * raw body, exactly as received. Throws `webhook_signature_invalid` otherwise.
 */
export function verifyWebhook<T = unknown>(
  secret: string | readonly string[],
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options: VerifyOptions = {},
): T {
  const invalid = (why: string) => new TakeoutError('webhook_signature_invalid', why);
  const id = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestampText || !signatures) throw invalid('The webhook-* headers are missing');
  const timestamp = Number(timestampText);
  if (!/^\d{1,12}$/.test(timestampText)) throw invalid('The webhook timestamp is not valid');
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) {
    throw invalid('The webhook timestamp is too far from now');
  }
  const expected = [secret]
    .flat()
    .map((s) => Buffer.from(sign(decodeSecret(s), id, timestamp, body), 'base64'));
  const given = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  const matches = given.some((g) => expected.some((e) => e.length === g.length && timingSafeEqual(e, g)));
  if (!matches) throw invalid('No webhook signature matches');
  return JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')) as T;
}
