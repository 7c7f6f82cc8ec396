/**
 * Where a new export's events go (src/notify/targets.ts): a per-export webhook passes the allow
 * list even when it names the service-wide webhook, and an email address is checked and kept
 * in its canonical form.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseExportRequest } from '../../src/exports/request.js';
import { builtinFormats } from '../../src/formats/index.js';
import { refusal } from '../../src/notify/attempt.js';
import { notifySettingsFromEnv } from '../../src/notify/config.js';
import { checkNotify, notifyTargets } from '../../src/notify/targets.js';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const formats = builtinFormats();
const notifyOf = (notify: unknown) =>
  parseExportRequest({ dataset: 'd', format: 'csv', notify }, formats).notify;

describe('notification targets', () => {
  const SERVICE_URL = 'https://ops.example.net/takeout-events';

  it('refuses a per-export webhook that names the service-wide webhook when its host is not allowed', () => {
    const settings = notifySettingsFromEnv({
      TAKEOUT_WEBHOOK_URL: SERVICE_URL,
      TAKEOUT_WEBHOOK_SECRET: secret,
      TAKEOUT_WEBHOOK_ALLOW: 'hooks.example.com',
    });
    for (const webhook of [
      SERVICE_URL,
      'https://OPS.example.net/takeout-events',
      'https://ops.example.net:443/takeout-events',
    ]) {
      expect(() => notifyTargets(notifyOf({ webhook }), settings)).toThrow(
        expect.objectContaining({
          code: 'webhook_not_allowed',
          status: 400,
          details: { host: 'ops.example.net' },
        }),
      );
    }
    // The service-wide webhook itself stays the operator's target: not checked against the list.
    expect(notifyTargets(undefined, settings)).toEqual([{ channel: 'service' }]);
    expect(notifyTargets(notifyOf({ webhook: 'https://hooks.example.com/a' }), settings)).toEqual([
      { channel: 'webhook', url: 'https://hooks.example.com/a' },
      { channel: 'service' },
    ]);
    // Allowed like any other host when the operator lists it.
    const listed = notifySettingsFromEnv({
      TAKEOUT_WEBHOOK_URL: SERVICE_URL,
      TAKEOUT_WEBHOOK_SECRET: secret,
      TAKEOUT_WEBHOOK_ALLOW: 'ops.example.net',
    });
    expect(notifyTargets(notifyOf({ webhook: SERVICE_URL }), listed)).toEqual([
      { channel: 'webhook', url: SERVICE_URL },
      { channel: 'service' },
    ]);
  });

  it('checks and keeps an email address with its domain canonical (lowercase, no trailing dot)', () => {
    const env = {
      SMTP_URL: 'smtp://127.0.0.1:25',
      TAKEOUT_MAIL_FROM: 'Takeout <takeout@example.com>',
      TAKEOUT_PUBLIC_URL: 'https://takeout.example.com',
    };
    const settings = notifySettingsFromEnv({ ...env, TAKEOUT_MAIL_ALLOW: 'example.com *.example.org' });
    // Fullwidth letters are the same domain to resolvers (UTS #46): stored as mailed and checked.
    for (const email of ['Ada@example.com.', 'Ada@EXAMPLE.COM.', 'Ada@Example.com', 'Ada@ｅxample.com']) {
      expect(notifyTargets(notifyOf({ email }), settings)).toEqual([
        { channel: 'email', to: 'Ada@example.com' },
      ]);
    }
    expect(notifyTargets(notifyOf({ email: 'bob@Mail.Example.ORG.' }), settings)).toEqual([
      { channel: 'email', to: 'bob@mail.example.org' },
    ]);
    // A request made in code, not parsed: the same canonical form, the same checks.
    expect(notifyTargets({ email: 'Ada@EXAMPLE.com.' }, settings)).toEqual([
      { channel: 'email', to: 'Ada@example.com' },
    ]);
    const refusal = (email: string) => {
      try {
        checkNotify({ email }, settings);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(refusal('eve@Attacker.TEST.')).toMatchObject({
      code: 'email_not_allowed',
      status: 400,
      details: { domain: 'attacker.test' },
    });
    expect(refusal('eve@example.org.')).toMatchObject({ code: 'email_not_allowed' });
    expect(refusal('eve@example.com.evil.net.')).toMatchObject({ code: 'email_not_allowed' });
    // Malformed domains are refused even where any domain is allowed.
    const any = notifySettingsFromEnv({ ...env, TAKEOUT_MAIL_ALLOW: '*' });
    expect(notifyTargets({ email: 'eve@Attacker.TEST.' }, any)).toEqual([
      { channel: 'email', to: 'eve@attacker.test' },
    ]);
    for (const email of ['a@example.com..', 'a@example..com', 'a@.example.com']) {
      expect(() => notifyTargets({ email }, any)).toThrow(
        expect.objectContaining({ code: 'invalid_request', status: 400 }),
      );
      expect(() => notifyOf({ email })).toThrow(
        expect.objectContaining({ code: 'invalid_request', status: 400 }),
      );
    }
  });

  it('refuses control and format characters anywhere in an email address, as any invalid address', () => {
    const settings = notifySettingsFromEnv({
      SMTP_URL: 'smtp://127.0.0.1:25',
      TAKEOUT_MAIL_FROM: 'takeout@example.com',
      TAKEOUT_PUBLIC_URL: 'https://takeout.example.com',
      TAKEOUT_MAIL_ALLOW: '*',
    });
    const invalid = expect.objectContaining({
      code: 'invalid_request',
      status: 400,
      message: 'notify.email must be an email address',
      details: { member: 'notify.email' },
    });
    for (const email of [
      'a\u0000b@example.com', // NUL: nodemailer would mail ab@example.com
      '\u0000ab@example.com',
      'ab@example.com\u0000',
      'ab@exa\u0000mple.com',
      'a\u0007b@example.com',
      'a\u007fb@example.com', // DEL
      'a\u0085b@example.com', // NEL (C1): dropped as well
      'a\u202eb@example.com', // right-to-left override
      'a\u2066b@example.com', // left-to-right isolate
      'a\u200eb@example.com', // left-to-right mark
      'a\u00adb@example.com', // soft hyphen
      'a\u2060b@example.com', // word joiner
      'a\u{e0041}b@example.com', // tag character
      'a\ud800b@example.com', // lone surrogate: mailed as U+FFFD
    ]) {
      expect(() => notifyOf({ email }), JSON.stringify(email)).toThrow(invalid);
      // A request made in code; a delivery stored before this check is refused when it is sent.
      expect(() => notifyTargets({ email }, settings), JSON.stringify(email)).toThrow(invalid);
      expect(refusal({ channel: 'email', destination: email }, settings)).toEqual({
        error: 'invalid_request: notify.email must be an email address; not retried',
        permanent: true,
      });
    }
    // Legitimate addresses still pass: other scripts, and ZWNJ in a name written with it.
    for (const email of [
      'ada.lovelace+exports@example.com',
      'δοκιμή@παράδειγμα.δοκιμή',
      'می\u200cخواهم@example.com',
    ]) {
      expect(notifyOf({ email })).toEqual({ email });
    }
  });
});
