/** A file name for the download: the caller's (with the right extension) or `<name>-<UTC time>.<ext>`. */
export function downloadName(
  requested: string | undefined,
  base: string,
  extension: string,
  now = new Date(),
): string {
  if (requested) {
    return requested.toLowerCase().endsWith(`.${extension}`) ? requested : `${requested}.${extension}`;
  }
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return `${base}-${stamp}.${extension}`;
}
