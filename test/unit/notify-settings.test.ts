import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseExportRequest } from '../../src/exports/request.js';
import { builtinFormats } from '../../src/formats/index.js';
import { isAllowed, isMailAllowed, parseAllowList } from '../../src/notify/allow.js';
import { notifySettingsFromEnv } from '../../src/notify/config.js';
import { notifyTargets } from '../../src/notify/targets.js';

const secret = `whsec_${randomBytes(24).toString('base64')}`;

describe('notification settings', () => {
  it('allows listed hosts only, ports included', () => {
    const allow = parseAllowList('hooks.example.com, *.apps.example.org 127.0.0.1:8080 [::1]:9000');
    const allowed = (url: string) => isAllowed(new URL(url), allow);
    expect(allowed('https://hooks.example.com/x')).toBe(true);
    expect(allowed('https://HOOKS.example.com/x')).toBe(true);
    expect(allowed('https://hooks.example.com:8443/x')).toBe(false);
    expect(allowed('https://a.apps.example.org/x')).toBe(true);
    expect(allowed('https://apps.example.org/x')).toBe(false);
    expect(allowed('https://evilapps.example.org/x')).toBe(false);
    expect(allowed('http://127.0.0.1:8080/x')).toBe(true);
    expect(allowed('http://127.0.0.1/x')).toBe(false);
    expect(allowed('http://127.0.0.1:8081/x')).toBe(false);
    expect(allowed('http://[::1]:9000/x')).toBe(true);
    expect(allowed('http://hooks.example.com.evil.net/x')).toBe(false);
    expect(() => parseAllowList('hooks.example.com/path')).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
  });

  it('reads the email domains allowed, refusing ports and malformed entries', () => {
    const env = { TAKEOUT_MAIL_ALLOW: 'example.com *.example.org' };
    const { mailAllow } = notifySettingsFromEnv(env);
    const allowed = (address: string) => isMailAllowed(address, mailAllow);
    expect(allowed('a@example.com')).toBe(true);
    expect(allowed('a@EXAMPLE.com')).toBe(true);
    expect(allowed('a@sub.example.org')).toBe(true);
    expect(allowed('a@example.org')).toBe(false);
    expect(allowed('a@example.com.evil.net')).toBe(false);
    expect(allowed('a@evilexample.com')).toBe(false);
    expect(notifySettingsFromEnv({}).mailAllow).toEqual([]);
    expect(isMailAllowed('a@example.com', notifySettingsFromEnv({}).mailAllow)).toBe(false);
    expect(notifySettingsFromEnv({ TAKEOUT_MAIL_ALLOW: ' * ' }).mailAllow).toBe('*');
    expect(notifySettingsFromEnv({ TAKEOUT_MAIL_ALLOW: '*,' }).mailAllow).toBe('*');
    expect(notifySettingsFromEnv({ TAKEOUT_MAIL_ALLOW: 'example.com *' }).mailAllow).toBe('*');
    // A trailing dot (a fully qualified name) on either side, and international domains.
    const fqdn = notifySettingsFromEnv({ TAKEOUT_MAIL_ALLOW: 'example.com. bücher.example' }).mailAllow;
    expect(isMailAllowed('a@example.com', fqdn)).toBe(true);
    expect(isMailAllowed('a@example.com.', fqdn)).toBe(true);
    expect(isMailAllowed('a@bücher.example', fqdn)).toBe(true);
    expect(isMailAllowed('a@xn--bcher-kva.example', fqdn)).toBe(true);
    expect(isMailAllowed('a@b%C3%BCcher.example', fqdn)).toBe(false);
    expect(isMailAllowed('a@example.com#x', fqdn)).toBe(false);
    // One trailing dot is the fully qualified form of the same domain; more, or empty labels, are malformed.
    expect(isMailAllowed('a@EXAMPLE.Com.', fqdn)).toBe(true);
    expect(isMailAllowed('a@example.com..', fqdn)).toBe(false);
    expect(isMailAllowed('a@example..com', fqdn)).toBe(false);
    expect(isMailAllowed('a@.example.com', fqdn)).toBe(false);
    expect(() => notifySettingsFromEnv({ TAKEOUT_MAIL_ALLOW: 'example.com:25' })).toThrow(
      /TAKEOUT_MAIL_ALLOW/,
    );
    expect(() => notifySettingsFromEnv({ TAKEOUT_MAIL_ALLOW: 'example.com/x' })).toThrow(
      /TAKEOUT_MAIL_ALLOW/,
    );
  });

  it('reads the send slots: 8 at once, 2 per host, each within bounds', () => {
    expect(notifySettingsFromEnv({})).toMatchObject({ concurrency: 8, perHost: 2 });
    expect(
      notifySettingsFromEnv({ TAKEOUT_NOTIFY_CONCURRENCY: '32', TAKEOUT_NOTIFY_PER_HOST: '4' }),
    ).toMatchObject({ concurrency: 32, perHost: 4 });
    expect(notifySettingsFromEnv({ TAKEOUT_NOTIFY_CONCURRENCY: '1' })).toMatchObject({
      concurrency: 1,
      perHost: 1,
    });
    for (const [name, value, message] of [
      ['TAKEOUT_NOTIFY_CONCURRENCY', '0', 'TAKEOUT_NOTIFY_CONCURRENCY must be a whole number from 1 to 1000'],
      [
        'TAKEOUT_NOTIFY_CONCURRENCY',
        'many',
        'TAKEOUT_NOTIFY_CONCURRENCY must be a whole number from 1 to 1000',
      ],
      ['TAKEOUT_NOTIFY_PER_HOST', '9', 'TAKEOUT_NOTIFY_PER_HOST must be a whole number from 1 to 8'],
    ] as const) {
      expect(() => notifySettingsFromEnv({ [name]: value }), `${name}=${value}`).toThrow(
        expect.objectContaining({ code: 'config_error', message }),
      );
    }
  });

  it('needs a secret for webhooks and a sender and public URL for email', () => {
    expect(() => notifySettingsFromEnv({ TAKEOUT_WEBHOOK_URL: 'https://h.example.com' })).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
    expect(() => notifySettingsFromEnv({ TAKEOUT_WEBHOOK_ALLOW: 'h.example.com' })).toThrow(/SECRET/);
    expect(() => notifySettingsFromEnv({ SMTP_URL: 'smtp://127.0.0.1:25' })).toThrow(/TAKEOUT_MAIL_FROM/);
    expect(() =>
      notifySettingsFromEnv({ SMTP_URL: 'smtp://127.0.0.1:25', TAKEOUT_MAIL_FROM: 'a@example.com' }),
    ).toThrow(/TAKEOUT_PUBLIC_URL/);
    const settings = notifySettingsFromEnv({
      TAKEOUT_WEBHOOK_URL: 'https://h.example.com/all',
      TAKEOUT_WEBHOOK_SECRET: `${secret} ${secret}`,
      TAKEOUT_NOTIFY_BACKOFF: '250ms',
      TAKEOUT_PUBLIC_URL: 'https://takeout.example.com/',
    });
    expect(settings).toMatchObject({
      webhookSecrets: [secret, secret],
      backoff: { baseMs: 250, maxMs: 3_600_000 },
      retryForMs: 86_400_000,
      publicUrl: 'https://takeout.example.com',
    });
    expect(notifyTargets(undefined, settings)).toEqual([{ channel: 'service' }]);
  });

  it('checks the shape of notify in an export request', () => {
    const formats = builtinFormats();
    const parse = (notify: unknown) => parseExportRequest({ dataset: 'd', format: 'csv', notify }, formats);
    expect(parse({ webhook: 'https://h.example.com/a?b=1', email: 'a@example.com' }).notify).toEqual({
      webhook: 'https://h.example.com/a?b=1',
      email: 'a@example.com',
    });
    // The domain in its canonical form (lowercase, no trailing dot); the local part as given.
    for (const given of ['Ada@example.com', 'Ada@example.com.', 'Ada@EXAMPLE.Com.', 'Ada@Example.COM']) {
      expect(parse({ email: given }).notify).toEqual({ email: 'Ada@example.com' });
    }
    expect(parse({ email: 'a@Bücher.Example.' }).notify).toEqual({ email: 'a@bücher.example' });
    for (const bad of [
      { email: 'a@example.com..' },
      { email: 'a@example..com' },
      { email: 'a@.example.com' },
      { email: 'a@.' },
      {},
      { webhook: 'ftp://h.example.com' },
      { webhook: 'https://u:p@h.example.com' },
      { email: 'a@b' },
      { email: 'a@example.com\r\nBcc: x@y.z' },
      { sms: '1' },
    ]) {
      expect(() => parse(bad)).toThrow(expect.objectContaining({ code: 'invalid_request', status: 400 }));
    }
  });
});
