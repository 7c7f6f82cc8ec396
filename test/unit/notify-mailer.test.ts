/**
 * The SMTP send's own deadline (src/notify/email.ts), against a real SMTP server on loopback:
 * twice a long TAKEOUT_NOTIFY_TIMEOUT is past the largest timer Node keeps, and must not turn
 * into a timer that fires at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_DEADLINE_MS, Mailer } from '../../src/notify/email.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const DAY_MS = 24 * 3600 * 1000;
const message = { subject: 'Your export orders.csv is ready', text: 'Ready.\n', html: '<p>Ready.</p>' };

describe('Mailer deadline', () => {
  let smtp: TestSmtpServer | undefined;
  let mailer: Mailer | undefined;
  afterEach(async () => {
    await mailer?.close();
    await smtp?.close();
    mailer = undefined;
    smtp = undefined;
  });

  it('sends with a 20-day timeout (a deadline past 2^31 - 1 ms is clamped, not fired at once)', async () => {
    smtp = await startSmtpServer();
    const timeoutMs = 20 * DAY_MS; // allowed (at most 2^31 - 1 ms); twice it is not a timer
    mailer = new Mailer({ smtpUrl: smtp.url, from: 'takeout@example.com', timeoutMs });
    expect(mailer.deadlineMs).toBe(MAX_DEADLINE_MS);
    expect(MAX_DEADLINE_MS).toBe(2 ** 31 - 1);

    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      // By default, and with the deadline the dispatcher passes (twice the timeout).
      expect(await mailer.send('ada@example.com', message, '<msg_1@takeout.example.com>')).toEqual({});
      expect(
        await mailer.send('ada@example.com', message, '<msg_2@takeout.example.com>', {
          deadlineMs: timeoutMs * 2,
        }),
      ).toEqual({});
      // emitWarning reports on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
    expect(smtp.messages.map((m) => m.to)).toEqual([['ada@example.com'], ['ada@example.com']]);
  });
});
