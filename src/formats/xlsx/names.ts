/**
 * Sheet names as Excel accepts them (docs/xlsx.md, "Sheet names"): at most 31 characters, none
 * of `[ ] : * ? / \` (each becomes `_`), no control characters, not starting or ending with an
 * apostrophe, not the reserved `History`, never empty, and unique in the workbook ignoring case.
 */

export const MAX_SHEET_NAME = 31;
const FORBIDDEN = /[[\]:*?/\\]/g;
const INVISIBLE =
  /[\u0000-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Cuts to `max` UTF-16 units without splitting a surrogate pair. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** One name made valid on its own; `fallback` when nothing usable is left. */
export function sanitizeSheetName(name: unknown, fallback: string): string {
  let s = typeof name === 'string' ? name : '';
  s = s.replace(INVISIBLE, '').replace(FORBIDDEN, '_').trim();
  s = s.replace(/^'+|'+$/g, '').trim();
  if (s.toLowerCase() === 'history') s = `${s}_`;
  s = cut(s, MAX_SHEET_NAME).replace(/'+$/, '').trim();
  return s.length > 0 ? s : fallback;
}

/**
 * Hands out unique names: a taken name gets ` (2)`, ` (3)`... cut so the whole fits. Each base
 * name remembers the next number to try, so a rollover into thousands of sheets probes each
 * number once instead of counting up from 2 every time (which made it quadratic).
 */
export class SheetNames {
  private readonly taken = new Set<string>();
  private readonly next = new Map<string, number>();

  unique(name: string): string {
    const base = name.toLowerCase();
    let candidate = name;
    let n = this.next.get(base) ?? 2;
    while (this.taken.has(candidate.toLowerCase())) {
      const suffix = ` (${n++})`;
      candidate = cut(name, MAX_SHEET_NAME - suffix.length).trimEnd() + suffix;
    }
    this.next.set(base, n);
    this.taken.add(candidate.toLowerCase());
    return candidate;
  }
}

/** A sheet name quoted for a formula reference: `'My sheet'!$A$1`. */
export function quotedSheetRef(name: string): string {
  return `'${name.replace(/'/g, "''")}'`;
}
