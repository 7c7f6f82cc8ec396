/**
 * What is wrong with a PostgreSQL connection string, if anything, never echoing it (it may
 * hold a password): pg's own words for a malformed one are `Invalid URL`, or a failed lookup
 * of a host named `base`.
 */
export function postgresUrlProblem(url: string, name: string): string | undefined {
  if (url.startsWith('/')) return undefined; // pg's "/socket/dir database" form
  const example = 'give postgres://USER@HOST:5432/DATABASE';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const port = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*:(\d+)(?:[/?#]|$)/i.exec(url)?.[1];
    if (port !== undefined && Number(port) > 65535)
      return `${name}: port ${port} is out of range (1 to 65535)`;
    return `${name} is not a URL: ${example}`;
  }
  if (!['postgres:', 'postgresql:', 'socket:'].includes(parsed.protocol))
    return `${name} is not a postgres:// URL: ${example}`;
  if (parsed.port === '0') return `${name}: port 0 is out of range (1 to 65535)`;
  return undefined;
}
