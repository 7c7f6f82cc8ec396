/**
 * Authentication built-ins over real HTTP (issue 11): JWTs with a shared secret and from a
 * JWKS served on loopback, SHA-256 hashed tokens in the config file, the development mode's
 * refusal of other addresses, and the per-principal rate limit in memory and in Redis.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticatorFrom } from '../../src/auth/settings.js';
import { startService } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { defineDataset } from '../../src/datasets/define.js';
import { DatasetRegistry } from '../../src/datasets/registry.js';
import { bearerTokens } from '../../src/http/auth.js';
import { buildServer } from '../../src/http/server.js';
import { rowsSource } from '../../src/sources/rows.js';
import { runCli } from '../support/cli.js';
import { startServe } from '../support/serve-process.js';

const run = promisify(execFile);

const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'takeout-api';
const SECRET = 'jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** A dataset that echoes who asked: its rows are the principal's id and tenant. */
const whoami = () =>
  new DatasetRegistry([
    defineDataset({
      name: 'whoami',
      source: ({ params }) => rowsSource([{ id: params.id, tenant: params.tenant }]),
      scope: { id: 'id', tenant: 'tenant' },
    }),
    defineDataset({
      name: 'me',
      source: ({ params }) => rowsSource([{ id: params.id }]),
      scope: { id: 'id' },
    }),
  ]);

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

function baseOf(app: FastifyInstance): string {
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

async function ask(base: string, token: string | undefined, body = { dataset: 'whoami', format: 'csv' }) {
  const response = await fetch(`${base}/v1/exports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, headers: response.headers };
}

function jwt(claims: Record<string, unknown> = {}) {
  return new SignJWT({ org: 'acme', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('5m');
}

describe('JWT bearer tokens with a shared secret (HS256)', () => {
  let app: FastifyInstance;
  let base: string;
  const key = new TextEncoder().encode(SECRET);

  beforeAll(async () => {
    const authenticate = authenticatorFrom({
      tokens: [],
      jwt: {
        secret: SECRET,
        issuer: ISSUER,
        audience: AUDIENCE,
        tenantClaim: 'org',
        clockToleranceSeconds: 30,
      },
    });
    app = await buildServer({ datasets: whoami(), ...(authenticate ? { authenticate } : {}) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = baseOf(app);
  });
  afterAll(() => app.close());

  it('accepts a valid token: sub is the principal, the tenant claim its tenant', async () => {
    const answer = await ask(base, await jwt().sign(key));
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('id,tenant\r\nalice,acme\r\n');
    // Within the clock tolerance an expired token still passes.
    const late = await jwt()
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(key);
    expect((await ask(base, late)).status).toBe(200);
    // A numeric tenant id is its decimal text.
    expect((await ask(base, await jwt({ org: 42 }).sign(key))).text).toBe('id,tenant\r\nalice,42\r\n');
  });

  it('refuses a wrong signature, issuer, audience, expiry and missing claims with a 401 problem', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, RegExp][] = [
      ['signature', await jwt().sign(new TextEncoder().encode(`${SECRET}-other`)), /signature/],
      ['issuer', await jwt().setIssuer('https://evil.test/').sign(key), /"iss"/],
      ['audience', await jwt().setAudience('someone-else').sign(key), /"aud"/],
      [
        'expiry',
        await jwt()
          .setExpirationTime(now - 120)
          .sign(key),
        /expired/,
      ],
      [
        'not yet valid',
        await jwt()
          .setNotBefore(now + 600)
          .sign(key),
        /"nbf"/,
      ],
      ['tenant claim', await jwt({ org: undefined }).sign(key), /has no "org" claim/],
      [
        'tenant claim of another type',
        await jwt({ org: ['acme'] }).sign(key),
        /"org" claim must be a non-empty string/,
      ],
      ['tenant claim not whole', await jwt({ org: 4.5 }).sign(key), /"org" claim must be/],
      [
        'algorithm',
        await new SignJWT({ org: 'acme' })
          .setProtectedHeader({ alg: 'HS512' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setSubject('alice')
          .setExpirationTime('5m')
          .sign(key),
        /algorithm/,
      ],
      ['tampered', `${(await jwt().sign(key)).slice(0, -4)}AAAA`, /signature/],
    ];
    for (const [name, token, reason] of cases) {
      const answer = await ask(base, token);
      expect(answer.status, name).toBe(401);
      expect(answer.headers.get('content-type'), name).toContain('application/problem+json');
      expect(answer.headers.get('www-authenticate'), name).toBe('Bearer error="invalid_token"');
      const problem = JSON.parse(answer.text) as { code: string; detail: string };
      expect(problem.code, name).toBe('unauthorized');
      expect(problem.detail, name).toMatch(reason);
    }
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: now + 60, org: 'acme' }),
    ).toString('base64url')}.`;
    expect((await ask(base, unsigned)).status).toBe(401);
    expect((await ask(base, undefined)).status).toBe(401);
  });
});

describe('JWT bearer tokens from a JWKS served on loopback (RS256, ES256)', () => {
  let jwks: Server;
  let jwksUrl: string;
  let app: FastifyInstance;
  let base: string;
  const keys: { kid: string; alg: string; privateKey: PrivateKey }[] = [];
  const published: JWK[] = [];
  let fetches = 0;

  beforeAll(async () => {
    for (const [kid, alg] of [
      ['rsa-1', 'RS256'],
      ['ec-1', 'ES256'],
    ] as const) {
      const pair = await generateKeyPair(alg);
      keys.push({ kid, alg, privateKey: pair.privateKey });
      published.push({ ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' });
    }
    jwks = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const address = jwks.address();
    jwksUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/.well-known/jwks.json`;
    const env = { TAKEOUT_JWT_JWKS_URL: jwksUrl, TAKEOUT_JWT_ISSUER: ISSUER, TAKEOUT_JWT_AUDIENCE: AUDIENCE };
    const authenticate = authenticatorFrom({ tokens: [], jwt: loadConfig(env).jwt });
    app = await buildServer({ datasets: whoami(), ...(authenticate ? { authenticate } : {}) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = baseOf(app);
  });
  afterAll(async () => {
    await app.close();
    await new Promise((resolve) => jwks.close(resolve));
  });

  const sign = (key: { kid: string; alg: string; privateKey: PrivateKey }, subject = 'bob') =>
    new SignJWT({})
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(subject)
      .setExpirationTime('5m')
      .sign(key.privateKey);

  it('accepts tokens signed by each published key, fetching the key set once', async () => {
    for (const key of keys) {
      const answer = await ask(base, await sign(key, `user-${key.alg}`), { dataset: 'me', format: 'csv' });
      expect(answer.status, key.alg).toBe(200);
      expect(answer.text).toBe(`id\r\nuser-${key.alg}\r\n`);
    }
    expect(fetches).toBe(1);
  });

  it('refuses a token signed by a key the issuer does not publish', async () => {
    const rogue = await generateKeyPair('ES256');
    const forged = await sign({ kid: 'ec-1', alg: 'ES256', privateKey: rogue.privateKey });
    const answer = await ask(base, forged, { dataset: 'me', format: 'csv' });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text)).toMatchObject({ code: 'unauthorized' });
    const wrongIssuer = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setIssuer('https://evil.test/')
      .setAudience(AUDIENCE)
      .setSubject('bob')
      .setExpirationTime('5m')
      .sign(keys[0]!.privateKey);
    expect((await ask(base, wrongIssuer, { dataset: 'me', format: 'csv' })).status).toBe(401);
  });

  it('answers 503 auth_unavailable when the key set cannot be fetched', async () => {
    const env = {
      TAKEOUT_JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json', // nothing listens on the discard port
      TAKEOUT_JWT_ISSUER: ISSUER,
      TAKEOUT_JWT_AUDIENCE: AUDIENCE,
    };
    const authenticate = authenticatorFrom({ tokens: [], jwt: loadConfig(env).jwt });
    const unreachable = await buildServer({ datasets: whoami(), ...(authenticate ? { authenticate } : {}) });
    await unreachable.listen({ host: '127.0.0.1', port: 0 });
    try {
      const answer = await ask(baseOf(unreachable), await sign(keys[0]!));
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.text)).toMatchObject({ code: 'auth_unavailable', retryable: true });
      // When to try again: the key set is fetched again at most every 5 s.
      expect(answer.headers.get('retry-after')).toBe('5');
    } finally {
      await unreachable.close();
    }
  });

  it('rejects JWT settings that are incomplete or unsafe', () => {
    const fails = (env: Record<string, string>) => expect(() => loadConfig(env)).toThrow(/TAKEOUT_JWT/);
    fails({ TAKEOUT_JWT_SECRET: SECRET, TAKEOUT_JWT_ISSUER: ISSUER }); // no audience
    fails({ TAKEOUT_JWT_SECRET: 'short', TAKEOUT_JWT_ISSUER: ISSUER, TAKEOUT_JWT_AUDIENCE: AUDIENCE });
    fails({
      TAKEOUT_JWT_JWKS_URL: 'http://keys.example/jwks',
      TAKEOUT_JWT_ISSUER: ISSUER,
      TAKEOUT_JWT_AUDIENCE: AUDIENCE,
    });
    fails({
      TAKEOUT_JWT_SECRET: SECRET,
      TAKEOUT_JWT_ISSUER: ISSUER,
      TAKEOUT_JWT_AUDIENCE: AUDIENCE,
      TAKEOUT_JWT_ALGORITHMS: 'RS256',
    });
  });
});

describe('the service: hashed tokens in the config file, development mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'takeout-auth-'));
  const fileToken = `tk_${randomBytes(24).toString('base64url')}`;
  const configFile = join(dir, 'takeout.config.json');
  const baseEnv = {
    PORT: '0',
    TAKEOUT_DATA_DIR: join(dir, 'data'),
    TAKEOUT_SWEEP_INTERVAL: '0',
    TAKEOUT_WORKERS: '0',
    LOG_LEVEL: 'error',
  };

  beforeAll(() => {
    // The service opens a dataset's SQLite file at start: it must exist (an empty one will do).
    new Database(join(dir, 'tiny.sqlite')).close();
    writeFileSync(
      configFile,
      JSON.stringify({
        datasets: [{ name: 'tiny', connection: { sqlite: 'tiny.sqlite' }, sql: 'SELECT 1 AS a' }],
        tokens: [
          { sha256: createHash('sha256').update(fileToken).digest('hex'), id: 'carol', tenant: 'acme' },
        ],
      }),
    );
  });

  it('`takeout token` makes a token and the config entry holding only its SHA-256', async () => {
    const { code, out } = await runCli(['token', '--id', 'erin', '--tenant', 'acme']);
    expect(code).toBe(0);
    const token = /^token: (tk_[\w-]{43})$/m.exec(out)?.[1];
    const entry = JSON.parse(/^config entry: (.*)$/m.exec(out)?.[1] ?? 'null') as Record<string, string>;
    expect(token).toBeDefined();
    expect(entry).toEqual({
      sha256: createHash('sha256').update(token!).digest('hex'),
      id: 'erin',
      tenant: 'acme',
    });
    expect(out).not.toContain(`"${token}"`);
  });

  it('accepts a token whose SHA-256 is in the config file, and not the digest itself', async () => {
    const env = { ...baseEnv, TAKEOUT_CONFIG: configFile, TAKEOUT_API_TOKENS: 'env-token-0123456789=dave' };
    const app = await startService(loadConfig(env), env);
    try {
      expect(app.developmentMode).toBe(false);
      const base = baseOf(app);
      const list = (token: string) =>
        fetch(`${base}/v1/datasets`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
      expect(await list(fileToken)).toBe(200);
      expect(await list('env-token-0123456789')).toBe(200);
      expect(await list(createHash('sha256').update(fileToken).digest('hex'))).toBe(401);
      expect(await list(`${fileToken}x`)).toBe(401);
      // Each caller's own list: no shared cache may keep it.
      const listed = await fetch(`${base}/v1/datasets`, {
        headers: { authorization: `Bearer ${fileToken}` },
      });
      expect(listed.headers.get('cache-control')).toBe('private, no-cache');
    } finally {
      await app.close();
    }
  });

  it('`takeout serve` suggests a first request that works here, with the token it needs', async () => {
    const server = await startServe({ ...baseEnv, TAKEOUT_CONFIG: configFile });
    try {
      const suggested = /^Try: (.*)$/m.exec(server.stderr())?.[1];
      expect(suggested).toContain('authorization: Bearer $TOKEN');
      const { stdout } = await run('sh', ['-c', suggested!], {
        env: { PATH: process.env.PATH, TOKEN: fileToken },
      });
      expect(JSON.parse(stdout).datasets.map((d: { name: string }) => d.name)).toEqual(['tiny']);
    } finally {
      await server.terminate();
    }
  });

  it('refuses a config file that holds a token in the clear', async () => {
    const bad = join(dir, 'bad.config.json');
    writeFileSync(bad, JSON.stringify({ datasets: [], tokens: [{ token: fileToken, id: 'carol' }] }));
    const env = { ...baseEnv, TAKEOUT_CONFIG: bad };
    await expect(startService(loadConfig(env), env)).rejects.toMatchObject({ code: 'config_error' });
  });

  it('refuses to serve a non-loopback address without authentication, unless told to', async () => {
    const env = { ...baseEnv, HOST: '0.0.0.0', TAKEOUT_DEMO: 'false' };
    const refused = await startService(loadConfig(env), env).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'config_error' });
    expect((refused as Error).message).toContain('--insecure-no-auth');

    const app = await startService(loadConfig(env), env, { insecureNoAuth: true });
    try {
      expect(app.developmentMode).toBe(true);
      // Deliberately open: any Host is answered.
      const port = new URL(baseOf(app)).port;
      const response = await fetch(`http://127.0.0.1:${port}/v1/datasets`);
      expect(response.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('`takeout serve` exits with the reason when HOST is not loopback and nothing authenticates', async () => {
    const env = { ...baseEnv, HOST: '0.0.0.0', TAKEOUT_DEMO: 'false' };
    const { code, err } = await runCli(['serve'], { env });
    expect(code).toBe(1);
    expect(err).toContain('config_error');
    expect(err).toContain('Refusing to serve 0.0.0.0 without authentication');
    const usage = await runCli(['serve', '--insecure'], { env });
    expect(usage.code).toBe(2);
  });

  it('serves loopback in development mode and refuses other Host names there', async () => {
    const env = { ...baseEnv, TAKEOUT_DEMO: 'false' };
    const app = await startService(loadConfig(env), env);
    try {
      expect(app.developmentMode).toBe(true);
      expect((await fetch(`${baseOf(app)}/v1/datasets`)).status).toBe(200);
      const port = Number(new URL(baseOf(app)).port);
      const { request } = await import('node:http');
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/v1/datasets', headers: { host: `rebound.example:${port}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(403);
    } finally {
      await app.close();
    }
  });
});

describe('per-principal rate limit', () => {
  const tokens = new Map([
    ['alice-token-0123456789', { id: 'alice' }],
    ['bob-token-0123456789', { id: 'bob' }],
  ]);

  async function hit(base: string, token: string) {
    const response = await fetch(`${base}/v1/datasets`, { headers: { authorization: `Bearer ${token}` } });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: await response.text(),
    };
  }

  it('answers 429 rate_limited with Retry-After past the limit, per principal (in memory)', async () => {
    const app = await buildServer({
      datasets: whoami(),
      authenticate: bearerTokens(tokens),
      rateLimit: { max: 3, windowMs: 60_000 },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const base = baseOf(app);
      for (let i = 0; i < 3; i++) expect((await hit(base, 'alice-token-0123456789')).status).toBe(200);
      const limited = await hit(base, 'alice-token-0123456789');
      expect(limited.status).toBe(429);
      expect(Number(limited.retryAfter)).toBeGreaterThan(0);
      expect(Number(limited.retryAfter)).toBeLessThanOrEqual(60);
      expect(JSON.parse(limited.body)).toMatchObject({
        code: 'rate_limited',
        status: 429,
        retryable: true,
        limit: 3,
        window_seconds: 60,
      });
      expect((await hit(base, 'bob-token-0123456789')).status).toBe(200); // bob has his own count
      // Health checks and unauthenticated requests are not counted against anyone.
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('holds across two API processes sharing Redis (REDIS_URL), with its own key prefix', async () => {
    const prefix = `takeout-test-rate-${randomBytes(6).toString('hex')}:`;
    const env = {
      PORT: '0',
      TAKEOUT_DATA_DIR: mkdtempSync(join(tmpdir(), 'takeout-rate-')),
      TAKEOUT_DEMO: 'false',
      TAKEOUT_SWEEP_INTERVAL: '0',
      LOG_LEVEL: 'error',
      TAKEOUT_API_TOKENS: 'alice-token-0123456789=alice,bob-token-0123456789=bob',
      TAKEOUT_RATE_LIMIT: '4',
      TAKEOUT_RATE_LIMIT_WINDOW: '1m',
      TAKEOUT_RATE_LIMIT_PREFIX: prefix,
      REDIS_URL: 'redis://127.0.0.1:6379',
      // REDIS_URL also selects BullMQ for jobs: no worker here may take another test's deliveries.
      TAKEOUT_WORKERS: '0',
    };
    const first = await startService(loadConfig(env), env);
    const second = await startService(loadConfig(env), env);
    const redis = new Redis('redis://127.0.0.1:6379');
    try {
      const [a, b] = [baseOf(first), baseOf(second)];
      const statuses = [];
      for (const base of [a, b, a, b, a, b])
        statuses.push((await hit(base, 'alice-token-0123456789')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      expect((await hit(b, 'bob-token-0123456789')).status).toBe(200);
      const keys = await redis.keys(`${prefix}*`);
      expect(keys.length).toBe(2); // alice's and bob's counters, under the test's prefix only
    } finally {
      await Promise.all([first.close(), second.close()]);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });
});
