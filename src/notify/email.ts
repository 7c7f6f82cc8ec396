/**
 * Emails about finished exports through SMTP (nodemailer, loaded only when SMTP_URL is
 * set): a short plain-text and HTML message with the export's name, size, rows and expiry,
 * and a link to the export in the web page. Never a download link: the page asks its owner
 * to sign in, then mints one.
 */
import type { Transporter } from 'nodemailer';
import type { Delivery } from './types.js';

export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

/** The export's page in the web UI. */
export function exportPageUrl(publicUrl: string, exportId: string): string {
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
  const name = data.filename ?? data.id;
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
}

/** Sends emails through one SMTP server (a connection per message). */
export class Mailer {
  #transport: Promise<Transporter> | undefined;

  constructor(readonly options: { smtpUrl: string; from: string; timeoutMs: number }) {}

  #open(): Promise<Transporter> {
    this.#transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        url: this.options.smtpUrl,
        connectionTimeout: this.options.timeoutMs,
        greetingTimeout: this.options.timeoutMs,
        socketTimeout: this.options.timeoutMs,
      }),
    );
    return this.#transport;
  }

  async send(to: string, message: EmailMessage, messageId: string): Promise<MailAnswer> {
    try {
      const transport = await this.#open();
      await transport.sendMail({ from: this.options.from, to, messageId, ...message });
      return {};
    } catch (error) {
      const { responseCode, code } = error as { responseCode?: number; code?: string };
      const reason = responseCode ? `SMTP ${responseCode}` : code ? `SMTP failed (${code})` : 'SMTP failed';
      return { ...(responseCode ? { statusCode: responseCode } : {}), error: reason };
    }
  }

  async close(): Promise<void> {
    const transport = await this.#transport?.catch(() => undefined);
    transport?.close();
  }
}
