/**
 * Which text a spreadsheet could run as a formula (docs/formats.md, "Formula injection").
 *
 * OWASP's list (`=` `+` `-` `@` TAB CR LF as the first character) plus what hides a formula
 * character from a first-character check: spreadsheets drop leading white space before they
 * look for `=` (Google Sheets and LibreOffice on import, Excel when a cell is edited), a BOM or
 * a zero-width character is invisible, and the full-width `＝ ＋ － ＠` (and the small forms
 * `﹦ ﹢ ﹣ ﹫`) become `= + - @` under the Unicode compatibility folding (NFKC) that some
 * importers and input methods apply. NUL leads too, as
 * OWASP ASVS 1.2.10 asks. Other control characters hide one too: import steps strip them
 * (Java's trim() drops everything up to U+0020, Python's strip() U+001C-U+001F and U+0085,
 * "remove control characters" clean-ups the whole Unicode Cc category, DEL included).
 */

/**
 * A decimal number's text (`-12.50`, `+1e400`, `.5`): never a formula, though it may start with
 * `-` or `+`; writers leave it unescaped in numeric columns.
 */
export const NUMBER_TEXT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** Not a formula start, and nothing that can hide one. */
const PLAIN = 0;
/** `=` `+` `-` `@` and their full-width forms. */
const FORMULA = 1;
/** White space, other control characters, BOM and zero-width or bidi marks: look at what follows. */
const HIDES = 2;
/** TAB CR LF NUL: escaped when first (OWASP), skipped like white space after that. */
const CONTROL = 3;

const ASCII = new Uint8Array(128);
for (const c of '=+-@') ASCII[c.charCodeAt(0)] = FORMULA;
for (const c of [0, 9, 10, 13]) ASCII[c] = CONTROL;
for (let c = 1; c < 32; c++) if (ASCII[c] === PLAIN) ASCII[c] = HIDES; // VT, FF and the other controls
ASCII[32] = HIDES;
ASCII[127] = HIDES; // DEL

/** Classes of characters from U+0080 on (NaN, past the end of a string, is PLAIN). */
function wide(c: number): number {
  // Full-width ＋ － ＝ ＠ and the small forms ﹢ ﹣ ﹦ ﹫: NFKC folds each to its ASCII form.
  if (c >= 0xfe62) {
    if (c === 0xff0b || c === 0xff0d || c === 0xff1d || c === 0xff20) return FORMULA;
    if (c === 0xfe62 || c === 0xfe63 || c === 0xfe66 || c === 0xfe6b) return FORMULA;
    return c === 0xfeff ? HIDES : PLAIN;
  }
  // U+0080-009F: the C1 controls (U+0085 next line among them).
  if (c < 0x2000)
    return c <= 0x9f || c === 0xa0 || c === 0xad || c === 0x1680 || c === 0x180e ? HIDES : PLAIN;
  // U+2000-200F spaces, zero-width and direction marks; U+2028-202F separators, embeddings,
  // narrow no-break space; U+205F-206F medium space, word joiner, invisible operators, isolates.
  if (c <= 0x206f) return c <= 0x200f || (c >= 0x2028 && c <= 0x202f) || c >= 0x205f ? HIDES : PLAIN;
  return c === 0x3000 ? HIDES : PLAIN;
}

function classOf(c: number): number {
  return c < 128 ? ASCII[c]! : wide(c);
}

/**
 * Whether text must be escaped. Hot (once per text cell): the first character decides almost
 * always, by one table read; only text that starts with white space or an invisible mark is
 * scanned, up to its first visible character.
 */
export function looksLikeFormula(s: string): boolean {
  const first = classOf(s.charCodeAt(0));
  if (first === PLAIN) return false;
  if (first !== HIDES) return true;
  for (let i = 1; i < s.length; i++) {
    const next = classOf(s.charCodeAt(i));
    if (next !== HIDES && next !== CONTROL) return next === FORMULA;
  }
  return false;
}

/** Whether a first character (a char code) lets text skip the check: most do. */
export function plainLead(c: number): boolean {
  return classOf(c) === PLAIN;
}

/**
 * The rule as lists of UTF-16 code units, for a check that runs elsewhere (the PostgreSQL COPY
 * fast path writes it in SQL). Derived from the classifier, so the two cannot drift apart.
 */
export function formulaRuleCodes(): { formula: number[]; control: number[]; hides: number[] } {
  const lists = { formula: [] as number[], control: [] as number[], hides: [] as number[] };
  for (let c = 0; c <= 0xffff; c++) {
    const cls = classOf(c);
    if (cls === FORMULA) lists.formula.push(c);
    else if (cls === CONTROL) lists.control.push(c);
    else if (cls === HIDES) lists.hides.push(c);
  }
  return lists;
}
