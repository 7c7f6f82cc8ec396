/**
 * A seeded xorshift32 generator for randomized tests: the same seed gives the same values, so
 * a failure reproduces. `random()` is in [0, 1); `pick` chooses one of `items`.
 */
export function seeded(seed: number): { random: () => number; pick: <T>(items: readonly T[]) => T } {
  let x = seed | 0;
  const random = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  return { random, pick };
}
