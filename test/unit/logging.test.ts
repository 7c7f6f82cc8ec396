import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions, scrubber, secretsOf } from '../../src/logging.js';

describe('log scrubbing', () => {
  const env = {
    DATABASE_URL: 'postgres://app:p%40ss-word-123@db.internal:5432/app',
    REDIS_URL: 'redis://:redis-pass-456@cache:6379',
    TAKEOUT_SECRET: 'signing-secret-0123456789abcdef0123',
    TAKEOUT_API_TOKENS: 'tok-alice-0123456789=alice:acme,tok-bob-0123456789ab=bob',
    AWS_SECRET_ACCESS_KEY: 'aws/secret+key=0123',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE0000',
    SMTP_URL: 'smtps://mailer:smtp-pass-789@smtp.example.com',
    TAKEOUT_JWT_SECRET: 'short',
    HOME: '/root/some/home/dir',
  };

  it('finds the secrets the environment holds, and nothing else', () => {
    const secrets = secretsOf(env);
    for (const secret of [
      'p%40ss-word-123',
      'p@ss-word-123',
      'redis-pass-456',
      'signing-secret-0123456789abcdef0123',
      'tok-alice-0123456789',
      'tok-bob-0123456789ab',
      'aws/secret+key=0123',
      'smtp-pass-789',
    ]) {
      expect(secrets).toContain(secret);
    }
    expect(secrets).not.toContain('AKIAEXAMPLE0000');
    expect(secrets).not.toContain('/root/some/home/dir');
    expect(secrets).not.toContain('short'); // too short to tell from ordinary text
  });

  it.each([
    ['a URL password', 'connect to postgres://u:hunter2hunter@h/db failed', 'postgres://u:[redacted]@h/db'],
    [
      'a SigV4 signature',
      'GET /b/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=abc123 ok',
      'X-Amz-Signature=[redacted]',
    ],
    ['a disk link signature', '/files/generated/x.csv?exp=1&sig=Zm9vYmFy', 'sig=[redacted]'],
    ['a bearer token', 'header Bearer eyJhbGciOi.eyJzdWIi.sig', 'Bearer [redacted]'],
    ['a known secret', 'secret is signing-secret-0123456789abcdef0123!', 'secret is [redacted]!'],
  ])('removes %s', (_what, line, expected) => {
    const out = scrubber(secretsOf(env))(line);
    expect(out).toContain(expected);
    expect(out).not.toMatch(/hunter2hunter|abc123|Zm9vYmFy|eyJhbGciOi|signing-secret/);
  });

  it.each([
    [
      'a pg password query member',
      'connect postgres://h/db?password=hunter2&sslmode=require',
      '?password=[redacted]&sslmode',
    ],
    ['a pass query member', 'GET /x?user=u&pass=hunter2 ok', '&pass=[redacted] ok'],
    ['a secret query member', 'redirect to /cb?client_secret=hunter2', '?client_secret=[redacted]'],
    ['an API key query member', 'GET /v1?key=hunter2&api_key=hunter2', '?key=[redacted]&api_key=[redacted]'],
    [
      'a signature whose name is percent-encoded (the server decodes it)',
      'GET /files/x.csv?exp=1&%73ig=hunter2&%53%49G=hunter2&api%5fkey=hunter2',
      '&%73ig=[redacted]&%53%49G=[redacted]&api%5fkey=[redacted]',
    ],
    ['Basic credentials', '{"authorization":"Basic dXNlcjpodW50ZXIy"}', '"Basic [redacted]"'],
    [
      "an owner's webhook secret (derived, in no environment variable)",
      '{"secrets":["whsec_aHVudGVyMmh1bnRlcjJodW50ZXIyaHVudGVyMg=="]}',
      '{"secrets":["[redacted]"]}',
    ],
    [
      'a bare JWT',
      'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJodW50ZXIyIn0.c2lnbmF0dXJl was refused',
      'token [redacted] was refused',
    ],
  ])('removes %s', (_what, line, expected) => {
    const out = scrubber([])(line);
    expect(out).toContain(expected);
    expect(out).not.toMatch(/hunter2|dXNlcjpodW50ZXIy|eyJzdWIi|c2lnbmF0dXJl/);
  });

  it.each([
    'password authentication failed for user "app"',
    'the key=value pairs, a passkey, secret=? in prose',
    'Basic authentication is not supported',
    'GET /v1/exports?keys=2&passes=3',
  ])('leaves ordinary text alone: %s', (line) => {
    expect(scrubber([])(line)).toBe(line);
  });

  it('scrubs in time linear in the line: a client chooses what some lines hold', () => {
    // A request's URL is logged before authentication. Patterns that backtracked took 0.6 s
    // for 16 KB of letters (quadratic: about 20 s for these 100 KB); linear ones take ms.
    const scrub = scrubber(secretsOf(env));
    const size = 100_000;
    const units = [
      'a',
      '-eyJ',
      '-eyJ.eyJ',
      'aeyJ%2E',
      '%2EeyJ',
      '%2E',
      'a%2E',
      '%2Ea',
      '%2e-',
      '%22',
      '://a:',
      'Basic ',
      'Bearer ',
      '?sig',
      '+whsec_',
      '%73',
    ];
    for (const unit of units) {
      const line = unit.repeat(Math.ceil(size / unit.length));
      const started = performance.now();
      scrub(line);
      expect(performance.now() - started, unit).toBeLessThan(1_500);
    }
    // JWTs are still found where they start a token: after a space, a quote, an equals sign.
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJodW50ZXIyIn0.c2lnbmF0dXJl';
    expect(scrub(`a ${jwt} "${jwt}" ?t=${jwt}`)).toBe('a [redacted] "[redacted]" ?t=[redacted]');
    // After a `-` too (a word boundary), and in a run of dotted words.
    expect(scrub(`x-${jwt} a.${jwt}.b`)).toBe('x-[redacted] a.[redacted].b');
    // Glued to a letter or `_`, or percent-encoded in a query (`%20`, `%22`, dots as `%2E`):
    // each of these reached the logs whole.
    const encoded = jwt.replaceAll('.', '%2E');
    expect(scrub(`?x=a${jwt}&y=_${jwt}`)).toBe('?x=a[redacted]&y=_[redacted]');
    expect(scrub(`?q=Bearer%20${jwt}&r=%22${jwt}%22`)).toBe('?q=Bearer%20[redacted]&r=%22[redacted]%22');
    expect(scrub(`?auth=${encoded}`)).toBe('?auth=[redacted]');
    expect(scrub(`/x/${encoded}%2Emore`)).toBe('/x/[redacted]%2Emore');
  });

  it('finds JWTs exactly where a one-pattern search does, on random text', () => {
    // A quadratic pattern as the reference (a token's header may start anywhere, even glued to
    // a word): same redactions, in linear time.
    const reference = /eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
    const pieces = ['eyJ', 'a', '-', '.', '_', ' ', 'x', '=', '"', 'eyJ.', '.eyJ'];
    const scrub = scrubber([]);
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    for (let n = 0; n < 20_000; n++) {
      let text = '';
      for (let i = 1 + next(12); i > 0; i--) text += pieces[next(pieces.length)];
      expect(scrub(text), JSON.stringify(text)).toBe(text.replace(reference, '[redacted]'));
    }
  });

  it('finds each of several rotating webhook secrets, with and without their prefix', () => {
    const current = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const previous = 'whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY';
    const scrub = scrubber(secretsOf({ TAKEOUT_WEBHOOK_SECRET: `${current}  ${previous}` }));
    expect(scrub(`signing with ${previous}`)).toBe('signing with [redacted]');
    expect(scrub(`key ${current.slice('whsec_'.length)}.`)).toBe('key [redacted].');
  });

  it('scrubs the finished JSON line of a pino logger, escaped secrets included', () => {
    let written = '';
    const out = new Writable({
      write(chunk, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    const { stream, ...options } = loggerOptions('info', env, out);
    const log = pino(options, stream);
    log.info(
      { err: new Error('auth failed for "aws/secret+key=0123"'), req: { headers: { cookie: 'sid=1' } } },
      'login with tok-alice-0123456789',
    );
    expect(written).toContain('[redacted]');
    for (const secret of ['aws/secret+key=0123', 'tok-alice-0123456789', 'sid=1']) {
      expect(written).not.toContain(secret);
    }
    expect(() => JSON.parse(written)).not.toThrow();
  });
});
