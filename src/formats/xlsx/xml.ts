/**
 * Text in SpreadsheetML (docs/xlsx.md, "Text"):
 * - `& < >` become entities;
 * - CR becomes the character reference `&#13;`: a literal CR would reach every XML parser as LF
 *   (line-end normalisation), the reference reaches it as CR, and unlike Excel's `_x000D_` it
 *   needs no reader that knows Excel's escapes (openpyxl and exceljs do not decode them);
 * - the other control characters XML 1.0 cannot carry (U+0000-U+001F but TAB, LF and CR) become
 *   Excel's `_xHHHH_` escapes, which Excel, LibreOffice and SheetJS decode;
 * - text that already looks like such an escape gets its `_` escaped as `_x005F_`, so it reads
 *   back unchanged;
 * - characters no XML document may hold and that have no escape (unpaired UTF-16 surrogates,
 *   U+FFFE, U+FFFF) are removed.
 */

/**
 * Any character that may need work: outside the plainly allowed set (TAB, LF, U+0020-U+D7FF and
 * U+E000-U+FFFD without `& < > _`). A negated class is the fastest test V8 runs on short text;
 * an `_` or an emoji then takes the exact (slower) path.
 */
export const NEEDS_ESCAPE = /[^\t\n\u0020-\u0025\u0027-\u003B=\u003F-\u005E\u0060-\uD7FF\uE000-\uFFFD]/;
const HEX_ESCAPE = /^_x[0-9A-Fa-f]{4}_/;

function hex4(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, '0');
}

/** Escapes the text of a cell (`<t>` content). Most text needs nothing and is returned as is. */
export function cellText(s: string): string {
  return NEEDS_ESCAPE.test(s) ? escapeText(s, true) : s;
}

/** Escapes an attribute value (sheet names, number formats): no `_x` escapes, controls removed. */
export function attrText(s: string): string {
  return escapeText(s, false);
}

function escapeText(s: string, cell: boolean): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c === 38) rep = '&amp;';
    else if (c === 60) rep = '&lt;';
    else if (c === 62) rep = '&gt;';
    else if (c === 34 && !cell) rep = '&quot;';
    else if (c < 32) {
      if (c === 13) rep = '&#13;';
      else if (cell) {
        if (c !== 9 && c !== 10) rep = `_x${hex4(c)}_`;
      } else rep = c === 9 || c === 10 ? `&#${c};` : '';
    } else if (c === 95) {
      if (cell && HEX_ESCAPE.test(s.slice(i, i + 7))) rep = '_x005F_';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair (emoji and other astral characters) stays
        continue;
      }
      rep = '';
    } else if (c === 0xfffe || c === 0xffff) rep = '';
    if (rep !== undefined) {
      out += s.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return start === 0 ? s : out + s.slice(start);
}

/** Whether `<t>` needs `xml:space="preserve"`: text starting or ending with white space (XML's four). */
export function needsPreserve(s: string): boolean {
  const first = s.charCodeAt(0);
  const last = s.charCodeAt(s.length - 1);
  return isSpace(first) || isSpace(last);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** A1-style column letters: 0 -> A, 25 -> Z, 26 -> AA, 16383 -> XFD. */
export function columnLetters(index: number): string {
  let n = index + 1;
  let out = '';
  while (n > 0) {
    const rem = (n - 1) % 26;
    out = String.fromCharCode(65 + rem) + out;
    n = Math.floor((n - 1) / 26);
  }
  return out;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
export const NS_MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
export const NS_REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
