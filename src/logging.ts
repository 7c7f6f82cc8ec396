/**
 * The logger settings `takeout serve` (as Fastify's) and `takeout worker` share: JSON lines
 * (pino) whose every line is scrubbed of secrets before it is written. Field redaction alone
 * cannot know where a secret may turn up (an error message, a URL, a driver's text), so the
 * finished line is checked: passwords in URLs, secret query values, bearer and basic
 * credentials, JWTs, and the values of every secret the environment holds.
 */
import type { LoggerOptions } from 'pino';

const REDACTED = '[redacted]';

/** Environment variables whose values are secrets by their name. */
const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|(^|_)API_?KEY$|SIGNING_?KEY/i;
/** Settings that hold several whitespace-separated secrets (old and new while they rotate). */
const SECRET_LISTS = new Set(['TAKEOUT_WEBHOOK_SECRET']);
/**
 * Shorter values are left alone: they would match ordinary text. The config refuses short
 * tokens and keys (TAKEOUT_METRICS_TOKEN and API tokens 16+, TAKEOUT_SECRET and
 * TAKEOUT_JWT_SECRET 32+, webhook secrets 24+ bytes); only URL passwords may be shorter, and
 * the URL patterns below remove those wherever they appear in a URL.
 */
const MIN_SECRET_LENGTH = 8;

/**
 * `scheme://user:password@`, matched from the `://`: a pattern that also spelt out the scheme
 * (`[a-z][a-z0-9+.-]*://`) backtracked through every run of letters in a line, quadratic in
 * its length, and a client decides what some lines hold (a request's URL is logged before
 * authentication): 16 KB of letters took 0.6 s of the event loop.
 */
const URL_PASSWORD = /(:\/\/[^\s:/@"]*:)[^\s@/"]+@/g;
/**
 * A pattern for a query member's name however a client spells it: a server decodes `%73ig`
 * to `sig`, so a signature sent that way works and must not reach the log either.
 */
function spelledAnyWay(name: string): string {
  return [...name]
    .map((c) => {
      const codes = new Set([c.toLowerCase(), c.toUpperCase()].map((x) => x.charCodeAt(0).toString(16)));
      return `(?:${c === '_' ? '_' : c}${[...codes].map((hex) => `|%${hex}`).join('')})`;
    })
    .join('');
}

/**
 * Query members that carry secrets: signed links (Takeout's own and SigV4's), tokens, and
 * passwords or keys in connection strings (`postgres://host/db?password=...`, which pg
 * accepts). Only as `?name=` / `&name=`: the words alone are ordinary text.
 */
const SECRET_QUERY = new RegExp(
  `([?&](?:${[
    'sig',
    'signature',
    'token',
    'access_token',
    'id_token',
    'jwt',
    'auth',
    'authorization',
    'X-Amz-Signature',
    'X-Amz-Credential',
    'X-Amz-Security-Token',
    'password',
    'passwd',
    'pwd',
    'pass',
    'sslpassword',
    'secret',
    'client_secret',
    'api_key',
    'apikey',
    'key',
  ]
    .map(spelledAnyWay)
    .join('|')})=)[^&\\s"\\\\]*`,
  'gi',
);
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/g;
/** `Basic` credentials: base64 of `user:password`. */
const BASIC = /\b(Basic\s+)([A-Za-z0-9+/]+={0,2})/gi;
/**
 * A Standard Webhooks secret anywhere: owners' secrets are derived per owner, so no list of
 * the environment's secrets holds them.
 */
const WEBHOOK_SECRET = /\bwhsec_[A-Za-z0-9+/]{16,}={0,2}/g;
/**
 * A run of base64url characters and dots (also percent-encoded, `%2E`) holding `eyJ`, matched
 * once from its start: a JWT's header and payload are JSON objects, so both start `eyJ` (`{"`).
 * `jwtsRedacted` finds the tokens inside. One pattern for the token itself searched again from
 * every `eyJ` of a run (`-eyJ-eyJ…`), quadratic in the line's length. A run starts only where
 * none goes on: not after a run character, nor inside a `%2E` (`%2E%2E…` tried from each `2`
 * was quadratic again).
 */
const JWT_RUN = /(?<![A-Za-z0-9_.-])(?<!%(?=2[Ee]))(?:[A-Za-z0-9_.-]|%2[Ee])*eyJ(?:[A-Za-z0-9_.-]|%2[Ee])*/g;

/**
 * `header.payload.signature` redacted wherever it stands in `run`: a segment holding `eyJ`
 * (anywhere: after `a`, `_`, or `%20` of an encoded query, it is still the token's start),
 * followed by one that starts `eyJ`, and one more (the signature, maybe empty).
 */
function jwtsRedacted(run: string): string {
  const parts = run.split(/(\.|%2[Ee])/); // segments at even indexes, their separators between
  let out = '';
  for (let i = 0; i < parts.length; i += 2) {
    const segment = parts[i]!;
    const at = i + 4 < parts.length && parts[i + 2]!.startsWith('eyJ') ? segment.indexOf('eyJ') : -1;
    if (at >= 0) {
      out += segment.slice(0, at) + REDACTED;
      i += 4; // the payload and the signature, with the separators between
    } else out += segment;
    if (i + 1 < parts.length) out += parts[i + 1];
  }
  return out;
}

/** A word after "Basic" in prose does not decode to `user:password`; credentials do. */
function isBasicCredential(encoded: string): boolean {
  return Buffer.from(encoded, 'base64').toString('latin1').includes(':');
}

/** The secret values `env` holds: by variable name, passwords in URLs, and each API token. */
export function secretsOf(env: NodeJS.ProcessEnv): string[] {
  const secrets = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (name === 'TAKEOUT_API_TOKENS') {
      // token=user[:tenant],...: the tokens are secret, the users are not.
      for (const entry of value.split(',')) secrets.add(entry.slice(0, entry.lastIndexOf('=')).trim());
    } else if (SECRET_LISTS.has(name)) {
      // Each alone (one may be logged without the others), also without its `whsec_` prefix.
      for (const secret of value.split(/\s+/)) {
        secrets.add(secret);
        secrets.add(secret.replace(/^whsec_/, ''));
      }
    } else if (SECRET_NAME.test(name)) {
      secrets.add(value);
    }
    for (const match of value.matchAll(/:\/\/[^\s:/@]*:([^\s@/]+)@/g)) {
      secrets.add(match[1]!);
      try {
        secrets.add(decodeURIComponent(match[1]!));
      } catch {}
    }
  }
  return [...secrets].filter((secret) => secret.length >= MIN_SECRET_LENGTH);
}

/** A function that removes secrets from a log line (or any text). */
export function scrubber(secrets: readonly string[]): (text: string) => string {
  // Each secret as written, and as JSON writes it inside a string.
  const literals = [...new Set(secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))].sort(
    (a, b) => b.length - a.length,
  );
  return (text) => {
    let out = text
      .replace(URL_PASSWORD, `$1${REDACTED}@`)
      .replace(SECRET_QUERY, `$1${REDACTED}`)
      .replace(JWT_RUN, jwtsRedacted)
      .replace(WEBHOOK_SECRET, REDACTED)
      .replace(BEARER, `$1${REDACTED}`)
      .replace(BASIC, (match, prefix: string, encoded: string) =>
        isBasicCredential(encoded) ? prefix + REDACTED : match,
      );
    for (const literal of literals) if (out.includes(literal)) out = out.replaceAll(literal, REDACTED);
    return out;
  };
}

/** A pino destination that scrubs every line before `out` gets it. */
export function scrubbingStream(out: NodeJS.WritableStream, scrub: (text: string) => string) {
  return { write: (line: string) => out.write(scrub(line)) };
}

/** pino options (Fastify's `logger` takes them too): level, redaction, scrubbed output. */
export function loggerOptions(
  level: string,
  env: NodeJS.ProcessEnv,
  out: NodeJS.WritableStream,
): LoggerOptions & { stream: { write(line: string): boolean } } {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      censor: REDACTED,
    },
    stream: scrubbingStream(out, scrubber(secretsOf(env))),
  };
}
