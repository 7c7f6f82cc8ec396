/**
 * The issuer's key set through its outages (src/auth/jwks.ts), against a JWKS served on
 * loopback whose answers the test switches, tokens minted with jose.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuerKeys } from '../../src/auth/jwks.js';

let server: Server;
let url: URL;
let up = true;
let fetches = 0;
let jwks: unknown;
let sign: (kid: string) => Promise<string>;
/** The issuer's keys by kid: `k1` is served at first, `k2` after a rotation. */
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const issuer = new Map<string, { jwk: unknown; privateKey: PrivateKey }>();
const serve = (...kids: string[]) => {
  jwks = { keys: kids.map((kid) => issuer.get(kid)!.jwk) };
};

beforeAll(async () => {
  for (const kid of ['k1', 'k2']) {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    issuer.set(kid, { jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }, privateKey });
  }
  serve('k1');
  const other = (await generateKeyPair('ES256')).privateKey;
  sign = (kid) =>
    new SignJWT({ sub: 'ann' })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setExpirationTime('5m')
      .sign(issuer.get(kid)?.privateKey ?? other);
  server = createServer((_req, res) => {
    fetches++;
    if (!up) res.writeHead(503).end('down');
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const verdict = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (error: { code?: string }) => error.code ?? 'error',
  );

describe('issuerKeys', () => {
  it('keeps the keys last fetched while the issuer is down, and asks it again only every retryMs', async () => {
    up = true;
    fetches = 0;
    const keys = issuerKeys(url, { maxAgeMs: 100, retryMs: 60_000 });
    const token = await sign('k1');
    expect(await verdict(jwtVerify(token, keys))).toBe('ok');
    expect(fetches).toBe(1);
    up = false;
    await sleep(150); // the set is stale: the next check fetches, and that fails
    const answers = await Promise.all(Array.from({ length: 30 }, () => verdict(jwtVerify(token, keys))));
    expect(answers.every((a) => a === 'ok')).toBe(true);
    expect(fetches).toBe(2); // one failed fetch, not one per request
    // A key it has not seen, while the issuer is down: not the token's fault, so retry later.
    expect(await verdict(jwtVerify(await sign('k9'), keys))).toBe('auth_unavailable');
    expect(fetches).toBe(2);
  });

  it('fetches once per retryMs while it never had keys, answering auth_unavailable', async () => {
    up = false;
    fetches = 0;
    const keys = issuerKeys(url, { retryMs: 60_000 });
    const token = await sign('k1');
    const answers = await Promise.all(Array.from({ length: 20 }, () => verdict(jwtVerify(token, keys))));
    expect(new Set(answers)).toEqual(new Set(['auth_unavailable']));
    expect(fetches).toBe(1); // concurrent checks share the one fetch
    expect(await verdict(jwtVerify(token, keys))).toBe('auth_unavailable');
    expect(fetches).toBe(1);
    up = true;
  });

  it('falls back to exactly the set fetched last: a key the issuer removed stays removed', async () => {
    up = true;
    serve('k1');
    const keys = issuerKeys(url, { maxAgeMs: 100, retryMs: 60_000 });
    expect(await verdict(jwtVerify(await sign('k1'), keys))).toBe('ok');
    serve('k2'); // the issuer rotates: k1 is revoked
    await sleep(150);
    expect(await verdict(jwtVerify(await sign('k2'), keys))).toBe('ok');
    expect(await verdict(jwtVerify(await sign('k1'), keys))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    up = false;
    await sleep(150);
    expect(await verdict(jwtVerify(await sign('k2'), keys))).toBe('ok');
    expect(await verdict(jwtVerify(await sign('k1'), keys))).toBe('auth_unavailable');
    up = true;
    serve('k1');
  });

  it('refuses a token whose kid the fetched set lacks (the token is at fault)', async () => {
    up = true;
    const keys = issuerKeys(url);
    expect(await verdict(jwtVerify(await sign('nope'), keys))).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });
});
