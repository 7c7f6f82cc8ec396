import { randomBytes } from 'node:crypto';
import { rewriteOutsideStrings } from './json-scan.js';

/**
 * JSON whose integers keep every digit. JSON.parse rounds an integer beyond 2^53 to a nearby
 * double without a word (an id 12345678901234567891 in inline rows would be exported as
 * 12345678901234567168); here such integers become bigints, which every format writes
 * exactly. Node 20's JSON.parse cannot show a reviver the number's text, so the text is
 * scanned for them first, and only when it has a run of 16 digits at all. Used for HTTP
 * request bodies (http/json-body.ts) and the CLI's input rows.
 */

const LONG_DIGITS = /\d{16}/;
/** A JSON integer (no fraction or exponent, no leading zero). */
const INTEGER = /^-?(?:0|[1-9]\d*)$/;
/**
 * Stands in for a big integer as a string until parsing is done. Random per process: a string
 * the client sends cannot be taken for one.
 */
const MARK = `takeout-bigint-${randomBytes(8).toString('hex')}:`;

function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 69 || c === 101; // 0-9 - + . E e
}

/** `text` with every integer a double does not hold, outside strings, as a marked string; undefined when none. */
export function markBigIntegers(text: string): string | undefined {
  if (!LONG_DIGITS.test(text)) return undefined;
  return rewriteOutsideStrings(text, (i) => {
    const c = text.charCodeAt(i);
    if (c !== 45 && !(c >= 48 && c <= 57)) return undefined;
    let end = i + 1;
    while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
    // A number where a key should be is not JSON: left so, for the parser to refuse.
    const marked = isKey(text, end) ? undefined : markedBigInteger(text.slice(i, end));
    return marked === undefined ? end : [end, `"${marked}"`];
  });
}

/** Whether what follows position `at` (after blanks) is a `:`: the token before was used as a key. */
function isKey(text: string, at: number): boolean {
  let i = at;
  while (i < text.length && WHITESPACE.includes(text.charCodeAt(i))) i++;
  return text.charCodeAt(i) === 58;
}

const WHITESPACE = [32, 9, 10, 13];
const MARKED_DIGITS = /^-?\d+$/;

/** The bigint a marked string stands for, or undefined for any other value. */
function restored(value: unknown): bigint | undefined {
  if (typeof value !== 'string' || !value.startsWith(MARK)) return undefined;
  const digits = value.slice(MARK.length);
  return MARKED_DIGITS.test(digits) ? BigInt(digits) : undefined;
}

/**
 * Replaces the marked strings of a parsed value by bigints, in place. Walked with a stack, not
 * recursion: a body nested 100,000 deep is legal JSON and must not overflow the call stack.
 */
export function restoreBigIntegers(value: unknown): unknown {
  const top = restored(value);
  if (top !== undefined) return top;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    const object = node as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      const member = object[key];
      const big = restored(member);
      if (big !== undefined) object[key] = big;
      else if (typeof member === 'object' && member !== null) stack.push(member);
    }
  }
  return value;
}

/** The marked string standing in for `token` (a JSON number's text) when it is an integer a double does not hold. */
export function markedBigInteger(token: string): string | undefined {
  return INTEGER.test(token) && !Number.isSafeInteger(Number(token)) ? `${MARK}${token}` : undefined;
}

/** JSON.parse, with integers beyond 2^53 as bigints. */
export function parseJsonExact(text: string): unknown {
  const marked = markBigIntegers(text);
  return marked === undefined ? JSON.parse(text) : restoreBigIntegers(JSON.parse(marked));
}
