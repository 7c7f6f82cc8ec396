/**
 * Whether `If-None-Match` names `etag` (RFC 9110 §13.1.2): the weak comparison, `W/` ignored on
 * either side, or the header is `*` alone. The job routes and the file route share it.
 */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return header.split(',').some((tag) => opaque(tag) === wanted);
}
