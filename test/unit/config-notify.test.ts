/** Notification settings refused at start: named, said what is accepted, never echoing a secret. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { notifySettingsFromEnv } from '../../src/notify/config.js';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const email = { TAKEOUT_MAIL_FROM: 'exports@example.com', TAKEOUT_PUBLIC_URL: 'https://t.example.com' };

function refusal(env: NodeJS.ProcessEnv): Error {
  try {
    notifySettingsFromEnv(env);
  } catch (error) {
    expect(error).toMatchObject({ code: 'config_error' });
    expect((error as Error).message).not.toContain('\n');
    return error as Error;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('allow lists', () => {
  it('never echo an entry with user:password@', () => {
    for (const name of ['TAKEOUT_MAIL_ALLOW', 'TAKEOUT_WEBHOOK_ALLOW']) {
      for (const entry of [
        'ops:Sup3rS3cretPassw0rd@example.com',
        'ok.example.com,ops:Sup3rS3cretPassw0rd@h:8080',
      ]) {
        const { message } = refusal({ [name]: entry, TAKEOUT_WEBHOOK_SECRET: secret });
        expect(message).toContain(name);
        expect(message).not.toContain('Sup3rS3cretPassw0rd');
        expect(message).toMatch(/@/);
      }
    }
  });

  it('checks the mail entries listed beside *', () => {
    const { message } = refusal({ TAKEOUT_MAIL_ALLOW: '* ops:Sup3rS3cretPassw0rd@example.com' });
    expect(message).not.toContain('Sup3rS3cretPassw0rd');
  });

  it('refuse * for webhooks (no "any host"), and * inside a name', () => {
    for (const entry of ['*', '*:443', 'hooks.*.example.com', '*.*']) {
      const { message } = refusal({ TAKEOUT_WEBHOOK_ALLOW: entry, TAKEOUT_WEBHOOK_SECRET: secret });
      expect(message).toContain('TAKEOUT_WEBHOOK_ALLOW');
      expect(message).toMatch(/host/);
    }
    expect(notifySettingsFromEnv({ TAKEOUT_MAIL_ALLOW: '*' }).mailAllow).toBe('*');
    expect(refusal({ TAKEOUT_MAIL_ALLOW: 'a*.example.com' }).message).toContain('TAKEOUT_MAIL_ALLOW');
  });
});

describe('SMTP_URL and TAKEOUT_MAIL_FROM', () => {
  it('refuse an SMTP_URL without a host, with a bad port or unparseable, without echoing it', () => {
    for (const url of [
      'smtp://',
      'smtp://u:Sup3rS3cretPassw0rd@h:99999',
      'smtp://u:Sup3rS3cretPassw0rd@h:0',
      'smtp://u:Sup3rS3cretPassw0rd@h ost:25',
      'smtp://u:Sup3rS3cretPassw0rd@',
    ]) {
      const { message } = refusal({ SMTP_URL: url, ...email });
      expect(message, url).toContain('SMTP_URL');
      expect(message).toContain('smtp://');
      expect(message).not.toContain('Sup3rS3cretPassw0rd');
    }
    expect(notifySettingsFromEnv({ SMTP_URL: 'smtps://u:p@mail.example.com:465', ...email }).smtpUrl).toBe(
      'smtps://u:p@mail.example.com:465',
    );
  });

  it('refuse a sender that is not an address or Name <address>', () => {
    for (const from of [
      'not an address',
      'exports',
      'a@b@c',
      'Exports <exports>',
      'a@example..com',
      'a@x.com, b@y.com',
    ]) {
      const { message } = refusal({ SMTP_URL: 'smtp://127.0.0.1:25', ...email, TAKEOUT_MAIL_FROM: from });
      expect(message, from).toContain('TAKEOUT_MAIL_FROM');
      expect(message).toContain('Exports <exports@example.com>');
    }
    for (const from of [
      'exports@example.com',
      'Exports <exports@example.com>',
      '"Exports, Inc." <e@example.com>',
      '<e@example.com>',
    ]) {
      expect(
        notifySettingsFromEnv({ SMTP_URL: 'smtp://127.0.0.1:25', ...email, TAKEOUT_MAIL_FROM: from })
          .mailFrom,
      ).toBe(from);
    }
  });
});
