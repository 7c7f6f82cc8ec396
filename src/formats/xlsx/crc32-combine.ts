/**
 * crc32Combine: the CRC-32 of A followed by B from crc(A), crc(B) and B's length, as zlib's
 * crc32_combine (1.2.12+), which node:zlib does not expose. Chunks of a ZIP entry are deflated
 * (and checksummed) in parallel; their CRCs are chained in order with this. O(log length).
 */

/** The CRC-32 polynomial, reflected. */
const POLY = 0xedb88320;

/** a * b modulo the CRC polynomial (bit-reflected, as zlib's multmodp). */
function multiplyModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo P, for k = 0..31 (x^1, x^2, x^4, ...). */
const X2N = new Uint32Array(32);
X2N[0] = 0x40000000;
for (let k = 1; k < 32; k++) X2N[k] = multiplyModP(X2N[k - 1]!, X2N[k - 1]!);

/** x^(n * 2^k) modulo P. */
function xPowerModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multiplyModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

export function crc32Combine(first: number, second: number, secondLength: number): number {
  return (multiplyModP(xPowerModP(secondLength, 3), first) ^ second) >>> 0;
}
