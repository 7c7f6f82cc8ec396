/**
 * `Content-Disposition` for downloads (RFC 6266): an ASCII `filename` for old clients and an
 * RFC 5987 `filename*` with the real UTF-8 name. The name is sanitised first so a hostile
 * filename can neither break the header (CR/LF, quotes) nor spoof or escape on save (slashes,
 * control and bidi characters).
 */

/**
 * In UTF-8 bytes: file systems allow 255 per name, and a client saves under a longer temporary
 * name first (`<name>.<pid>.partial` by the CLI, `.crdownload` by browsers).
 */
const MAX_NAME_BYTES = 180;

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
  if (name.length <= MAX_NAME_BYTES && PLAIN.test(name)) return name;
  let clean = name
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(INVISIBLE, '')
    // After the removal: `e\u200B\u0301` only composes to `é` once the space between has gone.
    .normalize('NFC')
    .replace(PATH_AND_QUOTES, '_');
  // Leading dots hide the file on Unix; trailing dots and spaces are dropped by Windows.
  clean = clean.replace(/^[\s.]+/, '').replace(/[\s.]+$/, '');
  clean = truncateKeepingExtension(clean, MAX_NAME_BYTES);
  return clean === '' ? fallback : clean;
}

/** Bytes of one code point in UTF-8 (lone surrogates are gone by now). */
function utf8Bytes(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

function byteLength(text: string): number {
  let n = 0;
  for (const c of text) n += utf8Bytes(c.codePointAt(0)!);
  return n;
}

/** The name cut to `maxBytes` of UTF-8 between whole code points, its extension kept. */
export function truncateKeepingExtension(name: string, maxBytes: number): string {
  if (byteLength(name) <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
  let room = maxBytes - byteLength(ext);
  let kept = '';
  for (const c of name.slice(0, name.length - ext.length)) {
    room -= utf8Bytes(c.codePointAt(0)!);
    if (room < 0) break;
    kept += c;
  }
  return kept.trimEnd() + ext;
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
  return `${type}; filename="${readableFallback(name)}"; filename*=UTF-8''${encodeRfc5987(name)}`;
}

/**
 * The ASCII fallback, or `download` with the extension when it kept no letter or digit: a client
 * that ignores `filename*` (curl -OJ) would save an all-CJK name as `____.csv`.
 */
function readableFallback(name: string): string {
  const ascii = asciiFallback(name);
  // The extensions (`.tar.gz` too) are not what names the file.
  const extensions = /(\.[A-Za-z0-9]{1,10})+$/.exec(ascii)?.[0] ?? '';
  const stem = ascii.slice(0, ascii.length - extensions.length);
  return /[A-Za-z0-9]/.test(stem) ? ascii : `download${extensions}`;
}
