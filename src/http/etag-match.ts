import { TakeoutError } from '../errors.js';

/**
 * Conditional requests (RFC 9110 §13): the job routes and the file route share these.
 */

/** An entity tag without its weakness mark. */
function opaque(tag: string): string {
  return tag.trim().replace(/^W\//, '');
}

/**
 * Whether `If-None-Match` names `etag`: the weak comparison, `W/` ignored on either side, or
 * the header is `*` alone.
 */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const wanted = opaque(etag);
  return header.split(',').some((tag) => opaque(tag) === wanted);
}

/**
 * Whether `If-Match` holds for a resource that exists with `etag`: `*`, or a listed tag equal
 * by the strong comparison (a weak tag on either side never is).
 */
function ifMatchHolds(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  if (etag.startsWith('W/')) return false;
  return header.split(',').some((tag) => tag.trim() === etag);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/**
 * RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient reads;
 * groups: day, month, year, hours, minutes, seconds.
 */
const HTTP_DATES = [
  new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`),
  new RegExp(
    `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`,
  ),
];
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * An HTTP date to the second, or undefined when it is not one: `Date.parse` alone would read
 * `1` or `2020` as dates, and roll `31 Feb` or `24:00:00` over, where RFC 9110 says a header
 * that is no date is ignored.
 */
function httpDate(text: string): number | undefined {
  const value = text.trim();
  let parts: [day: string, month: string, year: string, h: string, m: string, s: string] | undefined;
  for (const form of HTTP_DATES) {
    const m = form.exec(value);
    if (m) parts = [m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, m[6]!];
  }
  const asctime = parts ? undefined : ASCTIME_DATE.exec(value);
  if (asctime) parts = [asctime[2]!.trim(), asctime[1]!, asctime[6]!, asctime[3]!, asctime[4]!, asctime[5]!];
  if (!parts) return undefined;
  const [day, month, year, h, m, sec] = parts.map((part, i) =>
    i === 1 ? MONTHS.indexOf(part) : Number(part),
  );
  // RFC 850's two-digit year (two digits written, not a four-digit year below 100): the latest
  // with those digits not more than 50 years ahead (RFC 9110).
  const twoDigits = parts[2].length === 2;
  const thisYear = new Date().getUTCFullYear();
  const fullYear = !twoDigits ? year! : 2000 + year! - (2000 + year! > thisYear + 50 ? 100 : 0);
  // Date.UTC reads years 0-99 as 19xx: set the year apart.
  const at = new Date(Date.UTC(2000, month!, day!, h!, m!, sec!));
  at.setUTCFullYear(fullYear);
  const ms = at.getTime();
  const back = new Date(ms);
  const exact =
    back.getUTCDate() === day &&
    back.getUTCMonth() === month &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === m;
  return exact && back.getUTCSeconds() === sec ? ms : undefined;
}

/**
 * `If-Match`, else `If-Unmodified-Since` (RFC 9110 §13.2.2, steps 1 and 2): 412 when the
 * resource is not the one the client means to act on. A date that is not one is ignored.
 */
export function checkPreconditions(
  headers: { 'if-match'?: string | undefined; 'if-unmodified-since'?: string | undefined },
  current: { etag: string; lastModified?: Date },
): void {
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    if (!ifMatchHolds(ifMatch, current.etag)) {
      throw new TakeoutError(
        'precondition_failed',
        `If-Match does not name the current ETag ${current.etag}`,
      );
    }
    return;
  }
  const since = headers['if-unmodified-since'];
  const date = since === undefined ? undefined : httpDate(since);
  if (date !== undefined && current.lastModified && current.lastModified.getTime() >= date + 1000) {
    throw new TakeoutError(
      'precondition_failed',
      `Modified at ${current.lastModified.toUTCString()}, after If-Unmodified-Since`,
    );
  }
}

/**
 * Whether `If-Range` lets a range be sent (RFC 9110 §13.1.5): a strong ETag equal to the
 * current one, or the exact `Last-Modified` date when that date is strong (at least a second
 * before the response, so the file cannot have changed within it unseen).
 */
export function ifRangeHolds(
  header: string | string[] | undefined,
  current: { etag: string; lastModified: Date },
  now = Date.now(),
): boolean {
  if (header === undefined) return true;
  if (typeof header !== 'string') return false; // repeated: not one validator
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith('W/'))
    return value === current.etag && !value.startsWith('W/');
  const date = httpDate(value);
  const modified = Math.floor(current.lastModified.getTime() / 1000) * 1000;
  return date !== undefined && date === modified && modified + 1000 <= now;
}
