/**
 * Which hosts a per-export webhook may call (TAKEOUT_WEBHOOK_ALLOW), so that a caller cannot
 * make the server reach arbitrary (internal) addresses. Entries are host names or addresses,
 * `*.example.com` for subdomains, each optionally with `:port`; without a port only the
 * scheme's default port is allowed. There is no `*` for any host: it is refused.
 */
import { domainToASCII, domainToUnicode } from 'node:url';
import { TakeoutError } from '../errors.js';

export interface HostPattern {
  /** Lowercase host name or address (IPv6 in brackets), without a leading `*.`. */
  host: string;
  /** Subdomains of `host` (not `host` itself). */
  subdomains: boolean;
  /** An explicit port, or undefined for the scheme's default. */
  port: string | undefined;
}

export function parseAllowList(raw: string, name = 'TAKEOUT_WEBHOOK_ALLOW'): HostPattern[] {
  const mail = name === 'TAKEOUT_MAIL_ALLOW';
  const accepted = mail
    ? 'list domains (example.com, *.example.com, or * for any)'
    : 'list hosts (host, *.domain, host:port)';
  return raw
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((entry) => {
      // Userinfo may hold a password: say what is wrong without echoing the entry.
      if (entry.includes('@')) {
        throw new TakeoutError(
          'config_error',
          `${name}: an entry holds an @ (an address, or credentials); ${accepted} only`,
        );
      }
      const subdomains = entry.startsWith('*.');
      const host = subdomains ? entry.slice(2) : entry;
      if (host.includes('*')) {
        // `*` is no wildcard for webhooks: any host would let callers reach internal addresses.
        throw new TakeoutError(
          'config_error',
          mail
            ? `${name}: ${JSON.stringify(entry)} is not a domain: * stands alone (any address) or starts *.domain`
            : `${name}: ${JSON.stringify(entry)} is not accepted: webhooks have no "any host"; ${accepted}`,
        );
      }
      const bad = () =>
        new TakeoutError('config_error', `${name}: ${JSON.stringify(entry)} is not valid; ${accepted}`);
      let url: URL;
      try {
        url = new URL(`http://${host}`);
      } catch {
        throw bad();
      }
      if (url.pathname !== '/' || url.search || url.hash) throw bad();
      // `new URL` drops the default port 80: keep what the entry said.
      const port = /:(\d+)$/.exec(entry)?.[1];
      return { host: url.hostname, subdomains, port };
    });
}

const defaultPort = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');

/** Whether `url` (already parsed, http or https) names an allowed host and port. */
export function isAllowed(url: URL, allow: readonly HostPattern[]): boolean {
  const host = url.hostname.toLowerCase();
  return allow.some((pattern) => {
    const hostMatches = pattern.subdomains ? host.endsWith(`.${pattern.host}`) : host === pattern.host;
    const portMatches = pattern.port === undefined ? url.port === '' : defaultPort(url) === pattern.port;
    return hostMatches && portMatches;
  });
}

/**
 * Control characters (NUL, NEL ...: nodemailer drops them, so `a\u0000b@example.com` would be
 * checked and stored, but `ab@example.com` mailed), lone surrogates (mailed as U+FFFD) and
 * format characters (bidi overrides, soft hyphens, tags: an address read other than it is
 * mailed), anywhere in an address. Except ZWNJ and ZWJ (U+200C, U+200D) in the local part:
 * some scripts write names with them, and they are mailed as given (the domain takes neither).
 */
const UNPRINTABLE = /[\p{Cc}\p{Cs}]|(?![\u200c\u200d])\p{Cf}/u;

/**
 * An email address in its canonical form, or undefined when it holds a control or format
 * character (`UNPRINTABLE`) or its domain is malformed (an empty label: `a@example..com`,
 * `a@.example.com`, `a@example.com..`). The domain is lowercased and loses the one trailing dot
 * of a fully qualified name (`Ada@Example.COM.` is `Ada@example.com`: the same mailbox, as mail
 * servers resolve it); the local part is kept as given, since it may be case-sensitive.
 */
export function canonicalEmail(address: string): string | undefined {
  if (UNPRINTABLE.test(address)) return undefined;
  const at = address.lastIndexOf('@');
  if (at <= 0) return undefined;
  const given = address
    .slice(at + 1)
    .replace(/\.$/, '')
    .toLowerCase();
  if (given === '' || given.split('.').some((label) => label === '')) return undefined;
  // Letters (any script), marks, digits, dots and hyphens: no escapes the mapping would decode.
  if (!/^[\p{L}\p{M}\p{N}.-]+$/u.test(given)) return undefined;
  // As resolvers and mail servers read it (UTS #46: `ｅxample.com` is `example.com`), so the
  // domain checked against TAKEOUT_MAIL_ALLOW is the one mailed; IDNs stay in Unicode.
  const ascii = domainToASCII(given);
  if (ascii === '') return undefined;
  return `${address.slice(0, at)}@${domainToUnicode(ascii)}`;
}

/** The domain of an email address, canonical (see `canonicalEmail`), or undefined if malformed. */
export function emailDomain(address: string): string | undefined {
  const canonical = canonicalEmail(address);
  return canonical?.slice(canonical.lastIndexOf('@') + 1);
}

/**
 * Whether the domain of an email address is one `TAKEOUT_MAIL_ALLOW` lists (`example.com`,
 * `*.example.com` for subdomains; `*`: any), so that a caller cannot make the service mail
 * arbitrary addresses. The domain is compared in its canonical form (`canonicalEmail`): the
 * form the address is stored and mailed in.
 */
export function isMailAllowed(address: string, allow: readonly HostPattern[] | '*'): boolean {
  if (allow === '*') return true;
  const domain = emailDomain(address);
  // Letters (any script: IDN compare in punycode, as the entries do), digits, dots, hyphens.
  if (domain === undefined || !/^[\p{L}\p{N}.-]+$/u.test(domain)) return false;
  let url: URL;
  try {
    url = new URL(`http://${domain}`);
  } catch {
    return false;
  }
  return isAllowed(url, allow);
}
