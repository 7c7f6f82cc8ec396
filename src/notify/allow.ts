/**
 * Which hosts a per-export webhook may call (TAKEOUT_WEBHOOK_ALLOW), so that a caller cannot
 * make the server reach arbitrary (internal) addresses. Entries are host names or addresses,
 * `*.example.com` for subdomains, each optionally with `:port`; without a port only the
 * scheme's default port is allowed.
 */
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
  return raw
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((entry) => {
      const subdomains = entry.startsWith('*.');
      let url: URL;
      try {
        url = new URL(`http://${subdomains ? entry.slice(2) : entry}`);
      } catch {
        throw new TakeoutError('config_error', `${name}: ${JSON.stringify(entry)} is not a host[:port]`);
      }
      if (url.pathname !== '/' || url.username || url.search) {
        throw new TakeoutError('config_error', `${name}: ${JSON.stringify(entry)} is not a host[:port]`);
      }
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
 * Whether the domain of an email address is one `TAKEOUT_MAIL_ALLOW` lists (`example.com`,
 * `*.example.com` for subdomains; `*`: any), so that a caller cannot make the service mail
 * arbitrary addresses.
 */
export function isMailAllowed(address: string, allow: readonly HostPattern[] | '*'): boolean {
  if (allow === '*') return true;
  const domain = address.slice(address.lastIndexOf('@') + 1).replace(/\.+$/, '');
  // Letters (any script: IDN compare in punycode, as the entries do), digits, dots, hyphens.
  if (!/^[\p{L}\p{N}.-]+$/u.test(domain)) return false;
  let url: URL;
  try {
    url = new URL(`http://${domain}`);
  } catch {
    return false;
  }
  return isAllowed(url, allow);
}
