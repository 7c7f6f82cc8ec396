/** Decimal digits written straight into bytes, two at a time (XmlBytes). */

/** Integers below this are written with 32-bit integer arithmetic. */
export const SMALL = 2 ** 31;
/** "00" to "99": the digits of numbers are written two at a time. */
const PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  PAIRS[2 * i] = 48 + Math.floor(i / 10);
  PAIRS[2 * i + 1] = 48 + (i % 10);
}

/** Decimal digits of 0 <= v < 2^31. */
export function digitCount(v: number): number {
  if (v < 100_000) return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10_000 ? 4 : 5;
  return v < 1_000_000 ? 6 : v < 10_000_000 ? 7 : v < 100_000_000 ? 8 : v < 1_000_000_000 ? 9 : 10;
}

/** Writes 0 <= v < min(10^width, 2^31) as `width` digits ending at `end`; returns `end`. */
export function putDigits(b: Buffer, end: number, v: number, width: number): number {
  let p = end;
  while (width >= 2) {
    const rest = (v / 100) | 0;
    const pair = (v - rest * 100) * 2;
    b[--p] = PAIRS[pair + 1]!;
    b[--p] = PAIRS[pair]!;
    v = rest;
    width -= 2;
  }
  if (width === 1) b[p - 1] = 48 + v;
  return end;
}
