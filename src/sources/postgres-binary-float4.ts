/**
 * float4 in binary -> the number the cursor path makes of PostgreSQL's float4 text. With
 * extra_float_digits > 0 PostgreSQL writes the shortest decimal that reads back as the same
 * float4 (Ryu); the cursor path reads that text as a double (`+text`). So: find that decimal
 * (the closest p-digit decimal for p = 1, 2, ...; at a power of two the rounding interval is
 * narrower toward zero than away from it, so the next p-digit decimal away is tried too) and
 * read it as a double. "Reads back as the same float4" is decided exactly: reading a decimal
 * as a double and then rounding to float4 can round twice, which is wrong when the double
 * lands exactly halfway between two float4s.
 */
const view = new DataView(new ArrayBuffer(8));

export function shortestFloat4(f: number): number {
  if (f === 0 || !Number.isFinite(f)) return f;
  for (let p = 1; p < 9; p++) {
    const text = f.toExponential(p - 1);
    const v = +text;
    if (toFloat32(text, v) === f) return evenTie(f, p, v);
    if (Math.abs(v) < Math.abs(f)) {
      const at = text.indexOf('e');
      const digits = Number(text.slice(0, at).replace('.', '').replace('-', '')) + 1;
      const away = `${f < 0 ? '-' : ''}${digits}e${Number(text.slice(at + 1)) - (p - 1)}`;
      const u = +away;
      if (Math.abs(u) > Math.abs(f) && toFloat32(away, u) === f) return u;
    }
  }
  return +f.toExponential(8); // nine digits always read back as the same float4
}

/**
 * JavaScript rounds a tie (the float4 exactly halfway between two p-digit decimals) away
 * from zero; Ryu takes the even one when it also reads back as the float4.
 */
function evenTie(f: number, p: number, v: number): number {
  const exact = Math.abs(f).toExponential(p + 19);
  const at = exact.indexOf('e');
  const digits = exact.slice(0, at).replace('.', '');
  if (digits[p] !== '5' || !/^0*$/.test(digits.slice(p + 1))) return v;
  if (Number(digits[p - 1]) % 2 !== 0) return v;
  const kept = `${f < 0 ? '-' : ''}${digits.slice(0, p)}e${Number(exact.slice(at + 1)) - (p - 1)}`;
  const k = +kept;
  return toFloat32(kept, k) === f ? k : v;
}

/**
 * The float4 nearest to the decimal `text` (whose nearest double is `v`), or NaN when the
 * decimal lies exactly halfway between two float4s: PostgreSQL's shortest output never picks
 * such a decimal (its Ryu does not accept the interval's bounds).
 */
function toFloat32(text: string, v: number): number {
  const r = Math.fround(v);
  if (r === v) return r;
  const other = neighbour(r, v > r);
  if ((r + other) / 2 !== v) return r; // v is not halfway: rounding v rounds the decimal
  const cmp = compareWithDouble(text, v);
  if (cmp === 0) return Number.NaN;
  return cmp > 0 === other > r ? other : r;
}

function bits32(x: number): number {
  view.setFloat32(0, x);
  return view.getUint32(0);
}

/** The float4 next to `r` upwards or downwards. */
function neighbour(r: number, up: boolean): number {
  if (r === 0) return up ? 1.401298464324817e-45 : -1.401298464324817e-45;
  const b = bits32(r);
  view.setUint32(0, up === r > 0 ? b + 1 : b - 1);
  return view.getFloat32(0);
}

/** Sign of (decimal `text` - double `d`), exactly, with integers. */
function compareWithDouble(text: string, d: number): number {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(text);
  if (!m) return Math.sign(+text - d);
  const negative = m[1] === '-';
  const fractionDigits = m[3] ?? '';
  let digits = BigInt(`${m[2]}${fractionDigits}`);
  let exp10 = Number(m[4] ?? 0) - fractionDigits.length;
  // d = mantissa * 2^exp2
  view.setFloat64(0, Math.abs(d));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = hi >>> 20;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) mantissa |= 1n << 52n;
  let exp2 = (biased === 0 ? 1 : biased) - 1075;
  if (negative !== d < 0) return negative ? -1 : 1;
  // Compare |decimal| with |d| as integers: move negative exponents to the other side.
  if (exp10 < 0) {
    mantissa *= 10n ** BigInt(-exp10);
    exp10 = 0;
  }
  if (exp2 < 0) {
    digits <<= BigInt(-exp2);
    exp2 = 0;
  }
  const left = digits * 10n ** BigInt(exp10);
  const right = mantissa << BigInt(exp2);
  const sign = left === right ? 0 : left > right ? 1 : -1;
  return negative ? -sign : sign;
}
