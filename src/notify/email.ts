/**
 * Emails about finished exports through SMTP (nodemailer, loaded only when SMTP_URL is
 * set): a short plain-text and HTML message with the export's name, size, rows and expiry,
 * and a link to the export in the web page. Never a download link: the page asks its owner
 * to sign in, then mints one.
 */
import ipaddr from 'ipaddr.js';
import type { Transporter } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { untilAborted, whenAborted } from '../settle.js';
import type { Delivery } from './types.js';

export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

/** The export's page in the web UI. */
function exportPageUrl(publicUrl: string, exportId: string): string {
  return `${publicUrl}/#/exports/${encodeURIComponent(exportId)}`;
}

function size(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function emailMessage(delivery: Pick<Delivery, 'data' | 'event'>, publicUrl: string): EmailMessage {
  const { data } = delivery;
  // Without a file (a failed export) the export is named by what it exported.
  const name = data.filename ?? (data.dataset ? `of ${data.dataset}` : data.id);
  const link = exportPageUrl(publicUrl, data.id);
  const facts: [string, string][] = [];
  if (delivery.event === 'export.succeeded') {
    if (data.size_bytes !== undefined) facts.push(['Size', size(data.size_bytes)]);
    if (data.row_count !== undefined) facts.push(['Rows', data.row_count.toLocaleString('en-US')]);
    if (data.expires_at) facts.push(['Available until', `${new Date(data.expires_at).toUTCString()}`]);
  } else if (data.error) {
    facts.push(['Error', `${data.error.message} (${data.error.code})`]);
  }
  const ready = delivery.event === 'export.succeeded';
  const subject = ready ? `Your export ${name} is ready` : `Your export ${name} failed`;
  const lead = ready ? `Your export ${name} is ready to download.` : `Your export ${name} could not be made.`;
  const action = ready ? 'Open the export to download it' : 'Open the export';
  const text = [lead, '', ...facts.map(([k, v]) => `${k}: ${v}`), '', `${action}: ${link}`, ''].join('\n');
  const html = [
    `<p>${escapeHtml(lead)}</p>`,
    facts.length
      ? `<table>${facts.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`
      : '',
    `<p><a href="${escapeHtml(link)}">${escapeHtml(action)}</a></p>`,
  ].join('\n');
  return { subject, text, html };
}

export interface MailAnswer {
  /** The SMTP reply code of a refusal. */
  statusCode?: number;
  error?: string;
  /** The server refused the message or its recipient for good (a 5xx reply): not worth retrying. */
  permanent?: boolean;
}

/** What `Mailer.send` is told besides the message. */
export interface SendOptions {
  /** Stops the send (the dispatcher is closing): the answer says so, and is not an outcome. */
  signal?: AbortSignal;
  /**
   * The longest the whole send may take, ms; then its connection is closed. Default: 2 × the
   * timeout. At most MAX_DEADLINE_MS (longer ones are clamped to it).
   */
  deadlineMs?: number;
}

/**
 * The `Message-ID` of a delivery's email: `<msg_...@public-host>`, the same on every retry (a
 * reader's client that deduplicates on it shows one), in the domain of `TAKEOUT_PUBLIC_URL`.
 */
export function messageId(deliveryId: string, publicUrl: string | undefined): string {
  let host = 'takeout';
  if (publicUrl) {
    try {
      host = new URL(publicUrl).hostname || host;
    } catch {}
  }
  return `<${deliveryId}@${host}>`;
}

/**
 * Loopback: `localhost`, 127.0.0.0/8, ::1 (and IPv4-mapped loopback). Not `*.localhost`: a
 * resolver need not map those to loopback.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost') return true;
  if (!ipaddr.isValid(host)) return false;
  return ipaddr.process(host).range() === 'loopback';
}

/**
 * The nodemailer transport options for `SMTP_URL`: every step bounded by `timeoutMs`, and
 * STARTTLS required when the URL carries credentials for a plain `smtp://` server that is not
 * on loopback, so that a password is never sent in clear to a server that does not offer TLS.
 * `?requireTLS=false` in the URL turns that off (a relay inside a trusted network).
 */
export function smtpTransportOptions(smtpUrl: string, timeoutMs: number): SMTPTransport.Options {
  const options: SMTPTransport.Options = {
    url: smtpUrl,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  };
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    return options;
  }
  const credentials = url.username !== '' || url.password !== '';
  const plain = url.protocol.toLowerCase() === 'smtp:';
  const optedOut = url.searchParams.get('requireTLS') === 'false';
  if (credentials && plain && !optedOut && !isLoopbackHost(url.hostname)) options.requireTLS = true;
  return options;
}

/**
 * A refusal for good: a 5xx reply to the recipient (RCPT TO: no such mailbox, a refused
 * domain) or to the message (DATA) that is about the address or the message. A 5xx to MAIL
 * FROM (a sender the server does not take, authentication required, relaying denied), to the
 * login or to STARTTLS is the service's own setting, and a connection error or a 4xx is
 * passing: those are retried. So are refusals to RCPT TO or DATA whose enhanced status code
 * (RFC 3463) says they are about the mail system, the network, the protocol or policy (`5.7.1
 * Relay access denied`, `5.7.0 Must issue a STARTTLS command first`: a relay's setting that
 * its operator fixes), and a full mailbox (`552`, `5.2.2`), which RFC 5321 §4.5.3.1.10 has
 * clients retry.
 */
function isPermanentRefusal(error: {
  responseCode?: number;
  code?: string;
  command?: string;
  response?: string;
}): boolean {
  const { responseCode, code, command } = error;
  if (responseCode === undefined || responseCode < 500 || responseCode >= 600) return false;
  if (code !== 'EMESSAGE' && !(code === 'EENVELOPE' && (command === 'RCPT TO' || command === 'DATA'))) {
    return false;
  }
  const enhanced = /^\d{3}[ -]5\.(\d{1,3})\.(\d{1,3})\b/.exec(error.response ?? '');
  if (!enhanced) return responseCode !== 552 && responseCode !== 530;
  const [subject, detail] = [Number(enhanced[1]), Number(enhanced[2])];
  // 5.1.x addressing, 5.2.x mailbox (but 5.2.2, full), 5.6.x the message's content.
  if (subject === 2) return detail !== 2;
  return subject === 1 || subject === 6;
}

/**
 * The longest timer Node keeps: a `setTimeout` past 2^31 - 1 ms (about 24.8 days) overflows and
 * fires after 1 ms, so a send's deadline is clamped to it (TAKEOUT_NOTIFY_TIMEOUT allows up to
 * that much, and the deadline is twice the timeout).
 */
export const MAX_DEADLINE_MS = 2 ** 31 - 1;

/** Sends emails through one SMTP server (a connection per message). */
export class Mailer {
  #transport: Promise<Transporter> | undefined;

  constructor(readonly options: { smtpUrl: string; from: string; timeoutMs: number }) {}

  /** The longest one send takes by default: its connection, greeting and every reply, together. */
  get deadlineMs(): number {
    return Math.min(this.options.timeoutMs * 2, MAX_DEADLINE_MS);
  }

  #open(): Promise<Transporter> {
    this.#transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport(smtpTransportOptions(this.options.smtpUrl, this.options.timeoutMs)),
    );
    return this.#transport;
  }

  /**
   * Sends one message, within `deadlineMs` as a whole: each SMTP step has its own timeout, but
   * a server that answers each just in time would otherwise hold the send for many of them.
   */
  async send(to: string, message: EmailMessage, id: string, options: SendOptions = {}): Promise<MailAnswer> {
    // Clamped: a longer timer would fire at once and fail every send (see MAX_DEADLINE_MS).
    const deadlineMs = Math.min(options.deadlineMs ?? this.deadlineMs, MAX_DEADLINE_MS);
    // The deadline, or the dispatcher's stop: either closes the connection (nodemailer's signal).
    const ended = new AbortController();
    const timer = setTimeout(() => ended.abort(new DOMException('timed out', 'TimeoutError')), deadlineMs);
    const stopWatching = options.signal ? whenAborted(options.signal, () => ended.abort()) : () => {};
    try {
      const transport = await this.#open();
      const mail: Mail.Options & { signal: AbortSignal } = {
        from: this.options.from,
        to,
        messageId: id,
        // RFC 3834: sent by a program, not a person; vacation responders and list servers
        // answer nothing (the sender is often an address nobody reads).
        headers: { 'Auto-Submitted': 'auto-generated' },
        ...message,
        signal: ended.signal,
      };
      await untilAborted(transport.sendMail(mail), ended.signal);
      return {};
    } catch (error) {
      if (options.signal?.aborted) return { error: 'Stopped: the dispatcher closed' };
      if (ended.signal.aborted) return { error: `No answer within ${deadlineMs} ms` };
      const refusal = error as { responseCode?: number; code?: string; command?: string; response?: string };
      const { responseCode, code } = refusal;
      // The codes only (`SMTP 554 5.7.1`), not the server's words: the owner reads this.
      const enhanced = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(refusal.response ?? '')?.[1];
      const reason = responseCode
        ? `SMTP ${responseCode}${enhanced ? ` ${enhanced}` : ''}`
        : code
          ? `SMTP failed (${code})`
          : 'SMTP failed';
      return {
        ...(responseCode ? { statusCode: responseCode } : {}),
        error: reason,
        ...(isPermanentRefusal(refusal) ? { permanent: true } : {}),
      };
    } finally {
      clearTimeout(timer);
      stopWatching();
    }
  }

  async close(): Promise<void> {
    const transport = await this.#transport?.catch(() => undefined);
    transport?.close();
  }
}
