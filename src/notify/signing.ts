/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` is
 * `v1,` + base64 HMAC-SHA256 of `${id}.${timestamp}.${body}` keyed with the bytes of a
 * `whsec_` secret; several space-separated signatures while secrets rotate.
 *
 * The service secret (`TAKEOUT_WEBHOOK_SECRET`) signs only the service-wide webhook. Each
 * owner's per-export webhooks are signed with a secret derived from it for that owner
 * (`ownerWebhookSecret`): an owner can verify their own events, and cannot forge the
 * service-wide webhook's or another owner's.
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

/**
 * Whose per-export webhooks a derived secret signs: the export's owner as the job store
 * matches it (`ownerOf(principal)`: the principal's id and tenant; no tenant and an empty one
 * are the same owner).
 */
export interface WebhookOwner {
  id: string;
  tenant?: string | undefined;
}

/** Fixed, versioned: changing it changes every owner's secret. */
const OWNER_LABEL = 'takeout/v1/owner-webhook-secret\n';

/**
 * The `whsec_` secret an owner's per-export webhooks are signed with: `whsec_` + base64 of
 * HMAC-SHA256 keyed with the bytes of `masterSecret` over a fixed label and the owner,
 * `JSON.stringify([tenant ?? '', id])` (unambiguous: no id or tenant can pass for another's).
 * Deterministic, so every process derives the same; operators may hand it to an owner (an
 * owner can also ask `GET /v1/webhook-secret`). Throws `config_error` for a secret that is not
 * a `whsec_` one.
 */
export function ownerWebhookSecret(masterSecret: string, owner: WebhookOwner): string {
  const key = decodeSecret(masterSecret);
  if (typeof owner?.id !== 'string')
    throw new TakeoutError('config_error', "The owner's id must be a string");
  const tenant = owner.tenant ?? '';
  if (typeof tenant !== 'string')
    throw new TakeoutError('config_error', "The owner's tenant must be a string");
  const identity = JSON.stringify([tenant, owner.id]);
  return PREFIX + createHmac('sha256', key).update(OWNER_LABEL).update(identity).digest('base64');
}

/**
 * An owner's secrets, one per service secret and in the same order (newest first while they
 * rotate, as `TAKEOUT_WEBHOOK_SECRET` lists them): an owner's webhook carries one signature per
 * derived secret. `masterSecrets` as `verifyWebhook` takes them (a list, or whitespace-separated).
 */
export function ownerWebhookSecrets(
  masterSecrets: string | readonly string[],
  owner: WebhookOwner,
): string[] {
  return webhookSecrets(masterSecrets).map((secret) => ownerWebhookSecret(secret, owner));
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

/** A header's value, or undefined when it is missing or not text (duplicates: the first). */
function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, unknown>;
  let value =
    record[name] ??
    Object.entries(record).find(([key, v]) => key.toLowerCase() === name && v !== undefined)?.[1];
  if (Array.isArray(value)) value = value[0];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The secrets a receiver verifies with: one, several in a list, or several in a
 * whitespace-separated string (as `TAKEOUT_WEBHOOK_SECRET` holds them while they rotate), in
 * any mix. Throws `config_error` when there is none or one is not a `whsec_` secret.
 */
export function webhookSecrets(secret: string | readonly string[], name = 'The webhook secret'): string[] {
  const secrets = [secret].flat().flatMap((entry: unknown) => {
    if (typeof entry !== 'string') throw new TakeoutError('config_error', `${name} must be a string`);
    return entry.split(/\s+/).filter(Boolean);
  });
  if (secrets.length === 0) throw new TakeoutError('config_error', `${name} is missing`);
  for (const entry of secrets) decodeSecret(entry, name);
  return secrets;
}

export interface VerifyOptions {
  /** Largest gap between `webhook-timestamp` and now, seconds. Default 300. */
  toleranceSeconds?: number;
  /** Now, in seconds since the epoch (tests). */
  now?: number;
}

const sameText = (a: string, b: string) => {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * For receivers: checks a delivery's signature against the secret and its timestamp against
 * the clock, and returns the parsed event. Pass the raw body, exactly as received. While
 * secrets rotate, pass them all (a list, or one whitespace-separated string): the request is
 * accepted when any `v1,` signature of the header matches any of them, as Standard Webhooks
 * says. Every refusal (a missing or malformed header, a timestamp too far from now, no
 * matching signature, a body that is not JSON) throws `webhook_signature_invalid`; only a
 * secret that is itself not valid throws `config_error`, whatever the request.
 */
export function verifyWebhook<T = unknown>(
  secret: string | readonly string[],
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options: VerifyOptions = {},
): T {
  const keys = webhookSecrets(secret).map((s) => decodeSecret(s));
  const invalid = (why: string) => new TakeoutError('webhook_signature_invalid', why);
  try {
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw invalid('Pass the raw body, a string or bytes, exactly as received');
    }
    const id = header(headers, 'webhook-id');
    const timestampText = header(headers, 'webhook-timestamp');
    const signatures = header(headers, 'webhook-signature');
    if (!id || !timestampText || !signatures) throw invalid('The webhook-* headers are missing');
    if (!/^\d{1,12}$/.test(timestampText)) throw invalid('The webhook timestamp is not valid');
    const timestamp = Number(timestampText);
    const now = options.now ?? Math.floor(Date.now() / 1000);
    if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) {
      throw invalid('The webhook timestamp is too far from now');
    }
    // Space-separated `version,signature` pairs; other versions are skipped. Compared as text,
    // as the reference libraries do: only the canonical base64 of the HMAC matches.
    const given = signatures
      .split(/\s+/)
      .filter((entry) => entry.startsWith('v1,'))
      .map((entry) => entry.slice(3));
    const expected = keys.map((key) => sign(key, id, timestamp, body));
    if (!given.some((g) => expected.some((e) => sameText(e, g))))
      throw invalid('No webhook signature matches');
    try {
      return JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')) as T;
    } catch {
      throw invalid('The webhook body is not JSON');
    }
  } catch (error) {
    if (error instanceof TakeoutError) throw error;
    throw invalid('The webhook request could not be checked');
  }
}
