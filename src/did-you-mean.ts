/**
 * What a mistyped option or command was likely meant to be. Small enough to keep here: the
 * option lists are a few dozen words, and the rules (prefixes first, then at most two edits)
 * were first the CLI's, and serve library options too.
 */

/** Edit distance with adjacent swaps counted as one edit (`fromat` is one from `format`). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The words of `known` that `typed` was most likely meant to be: the one it begins (`--col`
 * for `--columns`) or that begins it (`--output` for `--out`), else the nearest by edit
 * distance when that is close (at most 2 edits, 1 for words of 4 letters or fewer). None when
 * nothing is close: a far-fetched guess would mislead.
 */
export function nearest(typed: string, known: readonly string[]): string[] {
  const word = typed.toLowerCase();
  const candidates = [...new Set(known)].filter((k) => k !== typed);
  // Case does not count: `lockduration` is as close to `lockDurationMs` as `lockDuration`.
  const bare = (w: string) => w.replace(/^-+/, '').toLowerCase();
  if (bare(word).length >= 2) {
    const prefixed = candidates.filter((k) => k.toLowerCase().startsWith(word));
    if (prefixed.length === 1) return prefixed;
    // `--output` for `--out`: the longest known word it begins with.
    const begun = candidates.filter((k) => bare(k).length >= 3 && word.startsWith(k.toLowerCase()));
    if (begun.length > 0) return [begun.reduce((a, b) => (b.length > a.length ? b : a))];
  }
  const typedBare = bare(word);
  const limit = typedBare.length <= 4 ? 1 : 2;
  let best: string[] = [];
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    // Lengths further apart than the limit are that many edits at least: no table is built
    // (a request may name a column of a megabyte).
    const candidateBare = bare(candidate);
    if (Math.abs(typedBare.length - candidateBare.length) > limit) continue;
    const distance = editDistance(typedBare, candidateBare);
    if (distance > limit) continue;
    if (distance < bestDistance) [best, bestDistance] = [[candidate], distance];
    else if (distance === bestDistance) best.push(candidate);
  }
  return best;
}

/** ` (did you mean --format?)`, or nothing when no known word is close. */
export function didYouMean(typed: string, known: readonly string[]): string {
  const close = nearest(typed, known);
  return close.length === 0 ? '' : ` (did you mean ${close.join(' or ')}?)`;
}
