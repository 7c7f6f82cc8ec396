/**
 * The logger settings `takeout serve` (as Fastify's) and `takeout worker` share: JSON lines
 * (pino) whose every line is scrubbed of secrets before it is written. Field redaction alone
 * cannot know where a secret may turn up (an error message, a URL, a driver's text), so the
 * finished line is checked: passwords in URLs, signed-link query values, bearer tokens, and
 * the values of every secret the environment holds.
 */
import type { LoggerOptions } from 'pino';

const REDACTED = '[redacted]';

/** Environment variables whose values are secrets by their name. */
const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|(^|_)API_?KEY$|SIGNING_?KEY/i;
/** Shorter values are left alone: they would match ordinary text. */
const MIN_SECRET_LENGTH = 8;

/** `scheme://user:password@` */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@"]*:)[^\s@/"]+@/gi;
/** Query members of signed links (Takeout's own and SigV4's) and tokens in query strings. */
const SIGNED_QUERY =
  /([?&](?:sig|signature|token|access_token|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&\s"\\]*/gi;
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/g;

/** The secret values `env` holds: by variable name, passwords in URLs, and each API token. */
export function secretsOf(env: NodeJS.ProcessEnv): string[] {
  const secrets = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (name === 'TAKEOUT_API_TOKENS') {
      // token=user[:tenant],...: the tokens are secret, the users are not.
      for (const entry of value.split(',')) secrets.add(entry.slice(0, entry.lastIndexOf('=')).trim());
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
      .replace(SIGNED_QUERY, `$1${REDACTED}`)
      .replace(BEARER, `$1${REDACTED}`);
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
