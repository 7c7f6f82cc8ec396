import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { configWarnings } from '../../src/cli/start-lines.js';
import { loadConfig } from '../../src/config.js';
import type { Service } from '../../src/service.js';

/** Only what configWarnings reads of a service: its datasets. */
const service = { exports: { datasets: { all: () => [] } } } as unknown as Service;
const secret = `whsec_${randomBytes(32).toString('base64')}`;

function warnings(env: NodeJS.ProcessEnv): string[] {
  const full = { TAKEOUT_DATA_DIR: '/tmp/takeout-start-warnings', ...env };
  return configWarnings(loadConfig(full), service, full, 'worker');
}

describe('start warnings about notifications', () => {
  it('warns when a webhook secret or SMTP is set but the allow list that owners need is empty', () => {
    expect(warnings({ TAKEOUT_WEBHOOK_SECRET: secret })).toEqual([
      expect.stringMatching(/^TAKEOUT_WEBHOOK_SECRET is set but TAKEOUT_WEBHOOK_ALLOW is empty/),
    ]);
    const smtp = {
      SMTP_URL: 'smtp://127.0.0.1:2525',
      TAKEOUT_MAIL_FROM: 'exports@example.com',
      TAKEOUT_PUBLIC_URL: 'https://takeout.example.com',
    };
    expect(warnings(smtp)).toEqual([
      expect.stringMatching(/^SMTP_URL is set but TAKEOUT_MAIL_ALLOW is empty/),
    ]);
  });

  it('says nothing when the lists are set, or the secret serves the service-wide webhook', () => {
    expect(warnings({ TAKEOUT_WEBHOOK_SECRET: secret, TAKEOUT_WEBHOOK_ALLOW: 'hooks.example.com' })).toEqual(
      [],
    );
    expect(
      warnings({ TAKEOUT_WEBHOOK_SECRET: secret, TAKEOUT_WEBHOOK_URL: 'https://ops.example.com/h' }),
    ).toEqual([]);
    expect(warnings({})).toEqual([]);
  });

  it("warns while owners' webhooks also carry the service secret's signature", () => {
    const env = {
      TAKEOUT_WEBHOOK_SECRET: secret,
      TAKEOUT_WEBHOOK_ALLOW: 'hooks.example.com',
      TAKEOUT_WEBHOOK_LEGACY_SIGNATURE: 'true',
    };
    expect(warnings(env)).toEqual([expect.stringMatching(/^TAKEOUT_WEBHOOK_LEGACY_SIGNATURE is on/)]);
  });
});
