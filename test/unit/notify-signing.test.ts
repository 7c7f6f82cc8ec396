import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifyWebhook } from '../../src/notify/signing.js';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;

describe('Standard Webhooks signatures', () => {
  const body = JSON.stringify({ type: 'export.succeeded', data: { id: 'exp_x' } });

  it('signs as the reference implementation verifies, with every secret while they rotate', () => {
    const [old, current] = [secret(), secret()];
    const now = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(now),
      'webhook-signature': signatureHeader([old, current], 'msg_1', now, body),
    };
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(old).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret()).verify(body, headers)).toThrow();
  });

  it('verifies what the reference implementation signs, and refuses tampering and old timestamps', () => {
    const key = secret();
    const at = new Date();
    const signature = new Webhook(key).sign('msg_2', at, body);
    const headers = new Headers({
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
    });
    expect(verifyWebhook(key, headers, body)).toEqual(JSON.parse(body));
    expect(verifyWebhook([secret(), key], headers, Buffer.from(body))).toEqual(JSON.parse(body));
    const refused = { code: 'webhook_signature_invalid', status: 401 };
    expect(() => verifyWebhook(key, headers, body.replace('exp_x', 'exp_y'))).toThrow(
      expect.objectContaining(refused),
    );
    expect(() => verifyWebhook(secret(), headers, body)).toThrow(expect.objectContaining(refused));
    expect(() => verifyWebhook(key, headers, body, { now: Math.floor(at.getTime() / 1000) + 301 })).toThrow(
      expect.objectContaining(refused),
    );
    expect(() => verifyWebhook(key, {}, body)).toThrow(expect.objectContaining(refused));
  });

  it('refuses a secret that is not whsec_ + base64 of enough bytes', () => {
    expect(() => signatureHeader(['whsec_c2hvcnQ='], 'id', 1, body)).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
  });
});
