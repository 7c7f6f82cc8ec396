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
  return `${base}-${stampOf(now)}.${extension}`;
}

/** The last stamp made, by its second: a server answering many exports a second makes it once. */
let last = { second: Number.NaN, stamp: '' };

/** `20240131-235959`: the UTC time to the second. */
function stampOf(now: Date): string {
  const second = Math.floor(now.getTime() / 1000);
  if (second !== last.second) {
    last = { second, stamp: now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-') };
  }
  return last.stamp;
}
