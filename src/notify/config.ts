/** Settings of notifications, from the environment (docs/notifications.md). */
import { durationMs } from '../durations.js';
import { wholeNumber } from '../env-numbers.js';
import { onOff } from '../env-switch.js';
import { TakeoutError } from '../errors.js';
import type { BackoffOptions } from '../jobs/queue/backoff.js';
import { canonicalEmail, type HostPattern, parseAllowList } from './allow.js';
import { decodeSecret } from './signing.js';

export interface NotifySettings {
  /** `TAKEOUT_WEBHOOK_URL`: the service-wide webhook that hears every export's events. */
  webhookUrl: string | undefined;
  /**
   * `TAKEOUT_WEBHOOK_SECRET`: `whsec_...` secrets, newest first while they rotate. The
   * service-wide webhook is signed with each; an owner's per-export webhook with each one's
   * derived secret for that owner (`ownerWebhookSecret`), never with these.
   */
  webhookSecrets: string[];
  /** `TAKEOUT_WEBHOOK_ALLOW`: hosts a per-export webhook may name; none by default. */
  webhookAllow: HostPattern[];
  /**
   * `TAKEOUT_WEBHOOK_ALLOW_PRIVATE`: a per-export webhook's host name may resolve to a private,
   * loopback or link-local address. Off by default: such names are refused at send time.
   */
  webhookAllowPrivate: boolean;
  /**
   * `TAKEOUT_WEBHOOK_LEGACY_SIGNATURE`: owners' webhooks also carry the service secrets'
   * signatures, as versions before owner secrets signed them: for the upgrade, until every
   * owner's receiver verifies with `GET /v1/webhook-secret`. Off by default.
   */
  webhookLegacySignature: boolean;
  /** `TAKEOUT_MAIL_ALLOW`: domains `notify.email` may name (`*`: any); none by default. */
  mailAllow: HostPattern[] | '*';
  /** `SMTP_URL`: where emails go; undefined: no emails. */
  smtpUrl: string | undefined;
  /** `TAKEOUT_MAIL_FROM`: the sender of emails. */
  mailFrom: string | undefined;
  /** `TAKEOUT_PUBLIC_URL`: the origin of the API and the web page, for links in events and emails. */
  publicUrl: string | undefined;
  /** How long one webhook request or one SMTP step may take, ms. */
  timeoutMs: number;
  /** How long a delivery is retried after its event, ms; then it is `failed`. */
  retryForMs: number;
  /** Delays between attempts: exponential from `baseMs`, at most `maxMs`, with jitter. */
  backoff: BackoffOptions;
  /** How often a dispatcher looks for due deliveries, ms. */
  pollMs: number;
  /** Sends at once per dispatcher (TAKEOUT_NOTIFY_CONCURRENCY). */
  concurrency: number;
  /** ... of which to one host, the SMTP server counting as one (TAKEOUT_NOTIFY_PER_HOST). */
  perHost: number;
}

function httpUrl(raw: string, name: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TakeoutError('config_error', `${name} must be an http:// or https:// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TakeoutError('config_error', `${name} must be an http:// or https:// URL`);
  }
  return url.href;
}

const SMTP_FORM = 'smtp://[credentials@]host[:port] or smtps://..., with a port from 1 to 65535';

/** Checked at start, never echoed: the URL may hold a password. */
function checkSmtpUrl(raw: string): void {
  if (!/^smtps?:\/\//i.test(raw)) {
    throw new TakeoutError('config_error', `SMTP_URL must be an smtp:// or smtps:// URL: ${SMTP_FORM}`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TakeoutError('config_error', `SMTP_URL is not a valid URL: ${SMTP_FORM}`);
  }
  if (url.hostname === '') throw new TakeoutError('config_error', `SMTP_URL names no host: ${SMTP_FORM}`);
  if (url.port === '0') throw new TakeoutError('config_error', `SMTP_URL has port 0: ${SMTP_FORM}`);
}

// No spaces, angle brackets, quotes, commas or semicolons (a list): one mailbox.
const ADDRESS = /^[^\s<>@",;]+@[^\s<>@",;]+$/;

/** A plain address or `Name <address>`: what nodemailer would otherwise misread only when it sends. */
function checkMailFrom(raw: string): void {
  const text = raw.trim();
  const named = /^([^<>\p{Cc}]*)<([^<>]*)>$/u.exec(text);
  const address = named ? named[2]!.trim() : text;
  if (!ADDRESS.test(address) || canonicalEmail(address) === undefined) {
    throw new TakeoutError(
      'config_error',
      'TAKEOUT_MAIL_FROM must be an email address, like exports@example.com or Exports <exports@example.com>',
    );
  }
}

export function notifySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): NotifySettings {
  const webhookUrl = env.TAKEOUT_WEBHOOK_URL
    ? httpUrl(env.TAKEOUT_WEBHOOK_URL, 'TAKEOUT_WEBHOOK_URL')
    : undefined;
  const webhookSecrets = (env.TAKEOUT_WEBHOOK_SECRET ?? '').split(/\s+/).filter(Boolean);
  for (const secret of webhookSecrets) decodeSecret(secret, 'TAKEOUT_WEBHOOK_SECRET');
  const webhookAllow = parseAllowList(env.TAKEOUT_WEBHOOK_ALLOW ?? '');
  // Entries as TAKEOUT_WEBHOOK_ALLOW's, without ports; `*` among them allows any address.
  const mailEntries = (env.TAKEOUT_MAIL_ALLOW ?? '').split(/[\s,]+/).filter(Boolean);
  const mailPatterns = parseAllowList(
    mailEntries
      .filter((entry) => entry !== '*')
      .map((entry) => entry.replace(/\.+$/, ''))
      .join(' '),
    'TAKEOUT_MAIL_ALLOW',
  );
  if (mailPatterns.some((pattern) => pattern.port !== undefined)) {
    throw new TakeoutError('config_error', 'TAKEOUT_MAIL_ALLOW lists domains, without ports');
  }
  const mailAllow = mailEntries.includes('*') ? '*' : mailPatterns;
  if ((webhookUrl || webhookAllow.length > 0) && webhookSecrets.length === 0) {
    throw new TakeoutError(
      'config_error',
      'Webhooks (TAKEOUT_WEBHOOK_URL, TAKEOUT_WEBHOOK_ALLOW) need TAKEOUT_WEBHOOK_SECRET (whsec_...)',
    );
  }
  const smtpUrl = env.SMTP_URL || undefined;
  const publicUrl = env.TAKEOUT_PUBLIC_URL
    ? httpUrl(env.TAKEOUT_PUBLIC_URL, 'TAKEOUT_PUBLIC_URL')
    : undefined;
  if (env.TAKEOUT_MAIL_FROM) checkMailFrom(env.TAKEOUT_MAIL_FROM);
  if (smtpUrl) {
    checkSmtpUrl(smtpUrl);
    if (!env.TAKEOUT_MAIL_FROM) throw new TakeoutError('config_error', 'SMTP_URL needs TAKEOUT_MAIL_FROM');
    if (!publicUrl) {
      throw new TakeoutError(
        'config_error',
        'SMTP_URL needs TAKEOUT_PUBLIC_URL: emails link to the export page',
      );
    }
  }
  const baseMs = durationMs(env, 'TAKEOUT_NOTIFY_BACKOFF', 5000, 1);
  const maxMs = durationMs(env, 'TAKEOUT_NOTIFY_BACKOFF_MAX', 3_600_000, 1);
  if (maxMs < baseMs) {
    throw new TakeoutError(
      'config_error',
      'TAKEOUT_NOTIFY_BACKOFF_MAX must be at least TAKEOUT_NOTIFY_BACKOFF',
    );
  }
  return {
    webhookUrl,
    webhookSecrets,
    webhookAllow,
    webhookAllowPrivate: onOff(env, 'TAKEOUT_WEBHOOK_ALLOW_PRIVATE', false),
    webhookLegacySignature: onOff(env, 'TAKEOUT_WEBHOOK_LEGACY_SIGNATURE', false),
    mailAllow,
    smtpUrl,
    mailFrom: env.TAKEOUT_MAIL_FROM || undefined,
    publicUrl: publicUrl?.replace(/\/+$/, ''),
    timeoutMs: durationMs(env, 'TAKEOUT_NOTIFY_TIMEOUT', 10_000, 100),
    retryForMs: durationMs(env, 'TAKEOUT_NOTIFY_RETRY_FOR', 24 * 3_600_000, 0),
    backoff: { baseMs, maxMs },
    pollMs: durationMs(env, 'TAKEOUT_NOTIFY_POLL', 1000, 10),
    ...sendSlots(env),
  };
}

/**
 * How many sends at once, and to one host. Two per host by default, of 8: a receiver that
 * stops answering holds at most two slots until its timeout, so it takes four such hosts (not
 * two, with half the slots each) to hold up everyone else's events.
 */
function sendSlots(env: NodeJS.ProcessEnv): { concurrency: number; perHost: number } {
  const count = (name: string, fallback: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = wholeNumber(raw);
    if (n === undefined || n < 1 || n > max) {
      throw new TakeoutError('config_error', `${name} must be a whole number from 1 to ${max}`);
    }
    return n;
  };
  const concurrency = count('TAKEOUT_NOTIFY_CONCURRENCY', 8, 1000);
  const perHost = count('TAKEOUT_NOTIFY_PER_HOST', Math.min(2, concurrency), concurrency);
  return { concurrency, perHost };
}

/** A service without notification settings: no webhook host allowed, no email. */
export const NO_NOTIFY: NotifySettings = {
  webhookUrl: undefined,
  webhookSecrets: [],
  webhookAllow: [],
  webhookAllowPrivate: false,
  webhookLegacySignature: false,
  mailAllow: [],
  smtpUrl: undefined,
  mailFrom: undefined,
  publicUrl: undefined,
  timeoutMs: 10_000,
  retryForMs: 0,
  backoff: { baseMs: 1000, maxMs: 1000 },
  pollMs: 1000,
  concurrency: 8,
  perHost: 2,
};
