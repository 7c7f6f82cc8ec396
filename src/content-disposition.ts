/**
 * `Content-Disposition` for downloads (RFC 6266): an ASCII `filename` for old clients and an
 * RFC 5987 `filename*` with the real UTF-8 name. The name is sanitised first so a hostile
 * filename can neither break the header (CR/LF, quotes) nor spoof or escape on save (slashes,
 * control and bidi characters).
 */

const MAX_NAME_LENGTH = 180;

// C0/C1 controls and DEL; bidi overrides/isolates/marks (U+061C, U+200E/F, U+202A-E, U+2066-9);
// line/paragraph separators; zero-width space and BOM; the other invisible format characters
// (soft hyphen, Mongolian vowel separator, word joiner and invisible operators, the deprecated
// U+206A-F, interlinear annotation marks), which hide words in a name mailed to its owner.
// ZWJ/ZWNJ stay: emoji sequences use them.
const INVISIBLE =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
// Path separators and quotes, and what Windows refuses in a name (`< > : | ? *`).
const PATH_AND_QUOTES = /[/\\"<>:|?*]/g;
// A surrogate without its pair is not text: encodeURIComponent would throw on it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Printable ASCII without quotes, slashes, backslashes or `< > : | ? *`, not starting or ending
 * with a dot or space.
 */
const PLAIN = /^[!#-)+-\-0-9;=@-[\]-{}~](?:[ !#-)+-.0-9;=@-[\]-{}~]*[!#-)+-\-0-9;=@-[\]-{}~])?$/;

/** The name a browser should save: no path, no control, bidi or Windows-refused characters, bounded length. */
export function sanitizeFilename(name: string, fallback = 'download'): string {
  // Most names (every generated one) are plain ASCII and already clean: one test, not six passes.
  if (name.length <= MAX_NAME_LENGTH && PLAIN.test(name)) return name;
  let clean = name
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(INVISIBLE, '')
    // After the removal: `e\u200B\u0301` only composes to `é` once the space between has gone.
    .normalize('NFC')
    .replace(PATH_AND_QUOTES, '_');
  // Leading dots hide the file on Unix; trailing dots and spaces are dropped by Windows.
  clean = clean.replace(/^[\s.]+/, '').replace(/[\s.]+$/, '');
  clean = truncateKeepingExtension(clean, MAX_NAME_LENGTH);
  return clean === '' ? fallback : clean;
}

function truncateKeepingExtension(name: string, max: number): string {
  const chars = Array.from(name); // code points, so a surrogate pair is never split
  if (chars.length <= max) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
  const extLength = Array.from(ext).length;
  return (
    chars
      .slice(0, max - extLength)
      .join('')
      .trimEnd() + ext
  );
}

/**
 * Printable ASCII only; `%` too is replaced because some clients percent-decode `filename`.
 * Quotes, slashes, `;` and `=` are replaced after NFKD because it turns full-width forms
 * (＂ ＼ ／ ；＝) into their ASCII twins, which would end the quoted string or add parameters.
 */
export function asciiFallback(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]|[%"\\/;=]/gu, '_');
}

/** RFC 5987 `attr-char` encoding: everything but ALPHA DIGIT and !#$&+-.^_`|~ is percent-encoded. */
export function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const ATTR_SAFE = /^[\w.-]+$/;

/** `attachment; filename="report_.csv"; filename*=UTF-8''report%C3%A9.csv` */
export function contentDisposition(filename: string, type: 'attachment' | 'inline' = 'attachment'): string {
  const name = sanitizeFilename(filename);
  // Letters, digits, `.`, `_` and `-` (every generated name) stay as they are in both parameters.
  if (ATTR_SAFE.test(name)) return `${type}; filename="${name}"; filename*=UTF-8''${name}`;
  return `${type}; filename="${asciiFallback(name)}"; filename*=UTF-8''${encodeRfc5987(name)}`;
}
