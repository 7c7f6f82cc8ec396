/**
 * Rewrites JSON text outside its strings. `at(i)` is asked at each position outside a string
 * (and not inside one, escapes included): undefined to go on, a position to skip to, or
 * `[end, replacement]` to replace `text[i, end)`. Undefined when nothing was replaced. Shared
 * by the minifier of database documents (raw-json.ts) and the big-integer marker of request
 * bodies (json-exact.ts); the text is assumed to be JSON (or is parsed afterwards).
 */
export function rewriteOutsideStrings(
  text: string,
  at: (i: number) => number | readonly [number, string] | undefined,
): string | undefined {
  let out = '';
  let start = 0;
  let replaced = false;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // a backslash escapes the next character, a quote too
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    const step = at(i);
    if (step === undefined) continue;
    if (typeof step === 'number') {
      i = step - 1;
      continue;
    }
    out += text.slice(start, i) + step[1];
    start = step[0];
    replaced = true;
    i = step[0] - 1;
  }
  return replaced ? out + text.slice(start) : undefined;
}
