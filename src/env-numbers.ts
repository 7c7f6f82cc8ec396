/** Whole-number settings read one way everywhere: digits, `_` allowed between groups (`1_000_000`). */
export function wholeNumber(raw: string): number | undefined {
  const text = raw.trim();
  if (!/^\d+(?:_\d+)*$/.test(text)) return undefined;
  const n = Number(text.replaceAll('_', ''));
  return Number.isSafeInteger(n) ? n : undefined;
}
