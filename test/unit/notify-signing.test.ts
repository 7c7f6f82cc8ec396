import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  decodeSecret,
  ownerWebhookSecret,
  ownerWebhookSecrets,
  signatureHeader,
  verifyWebhook,
  type WebhookHeaders,
} from '../../src/notify/signing.js';

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

  it('verifies with several secrets, as a list or one whitespace-separated string, against several signatures', () => {
    const [old, current, other] = [secret(), secret(), secret()];
    const now = Math.floor(Date.now() / 1000);
    const headers = (signature: string) => ({
      'webhook-id': 'msg_3',
      'webhook-timestamp': String(now),
      'webhook-signature': signature,
    });
    const byCurrent = headers(signatureHeader([current], 'msg_3', now, body));
    const event = JSON.parse(body);
    // The receiver holds the secrets as TAKEOUT_WEBHOOK_SECRET does while they rotate.
    expect(verifyWebhook(`${old} ${current}`, byCurrent, body)).toEqual(event);
    expect(verifyWebhook(`  ${old}\n\t${current} `, byCurrent, body)).toEqual(event);
    expect(verifyWebhook([old, `${other} ${current}`], byCurrent, body)).toEqual(event);
    // The sender signs with both (rotation on its side); the receiver knows only one of them.
    const byBoth = headers(signatureHeader([old, current], 'msg_3', now, body));
    expect(verifyWebhook(current, byBoth, body)).toEqual(event);
    expect(verifyWebhook(`${other} ${old}`, byBoth, body)).toEqual(event);
    // Other versions are skipped; a v1 signature among them still matches.
    const [, signature] = byCurrent['webhook-signature'].split(',');
    expect(verifyWebhook(current, headers(`v2,xyz v1a,${signature} v1,${signature}`), body)).toEqual(event);
    const refused = expect.objectContaining({ code: 'webhook_signature_invalid', status: 401 });
    expect(() => verifyWebhook(`${other} ${old}`, byCurrent, body)).toThrow(refused);
    // A bad secret is the receiver's configuration, whatever the request.
    for (const bad of ['', '  ', [], `${current} whsec_c2hvcnQ=`]) {
      expect(() => verifyWebhook(bad, byCurrent, body)).toThrow(
        expect.objectContaining({ code: 'config_error' }),
      );
    }
  });

  it('refuses every malformed or mismatched request with webhook_signature_invalid, never another error', () => {
    const now = Math.floor(Date.now() / 1000);
    // A key whose signature has a `+` or `/`, so that its url-safe form differs (1 in 4 has none).
    let key: string;
    let good: string;
    do {
      key = secret();
      good = signatureHeader([key], 'msg_4', now, body);
    } while (!/[+/]/.test(good.slice(3)));
    const [, signature = ''] = good.split(',');
    const base = { 'webhook-id': 'msg_4', 'webhook-timestamp': String(now), 'webhook-signature': good };
    const cases: [string, Record<string, unknown>, unknown][] = [
      ['no signature header', { ...base, 'webhook-signature': undefined }, body],
      ['an empty signature', { ...base, 'webhook-signature': '' }, body],
      ['no version', { ...base, 'webhook-signature': signature }, body],
      ['only a version', { ...base, 'webhook-signature': 'v1' }, body],
      ['an empty v1', { ...base, 'webhook-signature': 'v1,' }, body],
      ['commas', { ...base, 'webhook-signature': ',,, v1,,' }, body],
      ['another version only', { ...base, 'webhook-signature': `v2,${signature}` }, body],
      ['unpadded base64', { ...base, 'webhook-signature': `v1,${signature.replace(/=+$/, '')}` }, body],
      ['junk after the padding', { ...base, 'webhook-signature': `${good}AAAA` }, body],
      [
        'url-safe base64',
        { ...base, 'webhook-signature': `v1,${signature.replace(/\+/g, '-').replace(/\//g, '_')}` },
        body,
      ],
      ['a number as the signature', { ...base, 'webhook-signature': 42 }, body],
      ['an object as the id', { ...base, 'webhook-id': { toString: () => 'msg_4' } }, body],
      ['a timestamp that is not a number', { ...base, 'webhook-timestamp': 'soon' }, body],
      ['a timestamp with a suffix', { ...base, 'webhook-timestamp': `${now}s` }, body],
      ['a negative timestamp', { ...base, 'webhook-timestamp': `-${now}` }, body],
      ['a huge timestamp', { ...base, 'webhook-timestamp': '9'.repeat(400) }, body],
      ['a parsed body', base, JSON.parse(body)],
      ['no body', base, undefined],
    ];
    for (const [why, headers, given] of cases) {
      let thrown: unknown;
      try {
        verifyWebhook(key, headers as WebhookHeaders, given as string);
      } catch (error) {
        thrown = error;
      }
      expect({ why, thrown }).toEqual({
        why,
        thrown: expect.objectContaining({ code: 'webhook_signature_invalid', status: 401 }),
      });
    }
    // Signed, but not JSON: refused the same way, not a SyntaxError.
    const text = 'not json';
    const signedText = { ...base, 'webhook-signature': signatureHeader([key], 'msg_4', now, text) };
    expect(() => verifyWebhook(key, signedText, text)).toThrow(
      expect.objectContaining({ code: 'webhook_signature_invalid' }),
    );
    expect(() => verifyWebhook(key, null as unknown as WebhookHeaders, body)).toThrow(
      expect.objectContaining({ code: 'webhook_signature_invalid' }),
    );
    // Duplicated headers (a list): the first value counts.
    expect(verifyWebhook(key, { ...base, 'webhook-signature': [good, 'v1,x'] }, body)).toEqual(
      JSON.parse(body),
    );
    expect(
      verifyWebhook(key, { ...base, 'Webhook-Signature': good, 'webhook-signature': undefined }, body),
    ).toEqual(JSON.parse(body));
  });

  it('refuses a secret that is not whsec_ + base64 of enough bytes', () => {
    expect(() => signatureHeader(['whsec_c2hvcnQ='], 'id', 1, body)).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
  });
});

describe("owners' webhook secrets", () => {
  const master = secret();
  const body = JSON.stringify({ type: 'export.succeeded', data: { id: 'exp_x' } });

  it('derives a whsec_ secret per owner: deterministic, different per owner and per tenant, never the master', () => {
    const ada = ownerWebhookSecret(master, { id: 'ada', tenant: 'acme' });
    expect(ada).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(decodeSecret(ada)).toHaveLength(32);
    expect(ownerWebhookSecret(master, { id: 'ada', tenant: 'acme' })).toBe(ada);
    // The same as the library's HMAC over the label and the owner as the job store keys it.
    const expected = createHmac('sha256', decodeSecret(master))
      .update('takeout/v1/owner-webhook-secret\n')
      .update(JSON.stringify(['acme', 'ada']))
      .digest('base64');
    expect(ada).toBe(`whsec_${expected}`);
    const others = [
      ownerWebhookSecret(master, { id: 'bob', tenant: 'acme' }),
      ownerWebhookSecret(master, { id: 'ada', tenant: 'globex' }),
      ownerWebhookSecret(master, { id: 'ada' }),
      // No confusion between the parts of the identity.
      ownerWebhookSecret(master, { id: 'acme', tenant: 'ada' }),
      ownerWebhookSecret(master, { id: '"acme","ada"' }),
      ownerWebhookSecret(secret(), { id: 'ada', tenant: 'acme' }),
    ];
    expect(new Set([master, ada, ...others]).size).toBe(2 + others.length);
    // No tenant and an empty one are the same owner to the job store: the same secret.
    expect(ownerWebhookSecret(master, { id: 'ada', tenant: '' })).toBe(
      ownerWebhookSecret(master, { id: 'ada' }),
    );
    // The prefix of the master is optional, as everywhere a secret is read.
    expect(ownerWebhookSecret(master.slice('whsec_'.length), { id: 'ada' })).toBe(
      ownerWebhookSecret(master, { id: 'ada' }),
    );
  });

  it('gives one secret per master while they rotate, in their order, each signing what its holder verifies', () => {
    const [current, old] = [secret(), secret()];
    const owner = { id: 'ada', tenant: 'acme' };
    const derived = ownerWebhookSecrets(`${current} ${old}`, owner);
    expect(derived).toEqual([ownerWebhookSecret(current, owner), ownerWebhookSecret(old, owner)]);
    expect(ownerWebhookSecrets([current, old], owner)).toEqual(derived);
    const now = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'msg_5',
      'webhook-timestamp': String(now),
      'webhook-signature': signatureHeader(derived, 'msg_5', now, body),
    };
    // An owner who still holds only the old derived secret, or already the new one, verifies.
    for (const held of derived) expect(new Webhook(held).verify(body, headers)).toEqual(JSON.parse(body));
    for (const other of [
      current,
      old,
      ...ownerWebhookSecrets([current, old], { id: 'bob', tenant: 'acme' }),
    ]) {
      expect(() => new Webhook(other).verify(body, headers)).toThrow();
    }
  });

  it('refuses a master that is not a whsec_ secret, and an owner without an id', () => {
    expect(() => ownerWebhookSecret('whsec_c2hvcnQ=', { id: 'ada' })).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
    expect(() => ownerWebhookSecrets([], { id: 'ada' })).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
    expect(() => ownerWebhookSecret(master, {} as { id: string })).toThrow(
      expect.objectContaining({ code: 'config_error' }),
    );
  });
});
