import { randomBytes } from 'node:crypto';
import { rewriteOutsideStrings } from './json-scan.js';

/**
 * JSON documents read from databases (PostgreSQL json/jsonb, SQLite JSON columns), kept as
 * their text. JSON.parse turns numbers beyond a double's precision into other numbers (an id
 * 12345678901234567891 becomes ...67000, a long decimal is rounded), and every writer wants
 * the document as text again anyway: CSV, TSV and XLSX write it as a cell's text, JSON and
 * NDJSON embed it. So an object, an array or a big integer stays text, exact and never parsed
 * twice.
 */

/**
 * A JSON document (an object, an array, or an integer a double does not hold) as its exact
 * text, without insignificant whitespace. Writers embed `text`; code that wants the value
 * reads `value` (numbers as doubles, as JSON.parse gives). JSON.stringify of a structure
 * holding one sees `value`; jsonText (formats/cells.ts) embeds the text there too.
 */
export class RawJson {
  constructor(
    /** Valid JSON text without whitespace outside strings. */
    readonly text: string,
  ) {}

  /** Whether the document is a bare number (`-0.10`, `1e400`, digits beyond 2^53). */
  get isNumber(): boolean {
    const c = this.text.charCodeAt(0);
    return c === 45 || (c >= 48 && c <= 57);
  }

  /** The document parsed, numbers as doubles. */
  get value(): unknown {
    return JSON.parse(this.text);
  }

  toJSON(): unknown {
    serialized++;
    return this.value;
  }
}

let serialized = 0;

/**
 * How many documents JSON.stringify has met (through toJSON) so far: a count that moved during
 * a call means the value held one, written there with its numbers parsed.
 */
export function rawJsonSerialized(): number {
  return serialized;
}

/** Stands in for a document during JSON.stringify; random, so that no string can be taken for one. */
const PLACEHOLDER = `\u0000raw-json-${randomBytes(8).toString('hex')}:`;
const PLACEHOLDERS = new RegExp(`"${PLACEHOLDER.replace('\u0000', '\\\\u0000')}(\\d+)"`, 'g');

/**
 * JSON text of any value: each RawJson inside (an array of jsonb) embedded as its exact text,
 * bigints as strings of their digits (a JSON reader would round a number beyond 2^53), bytes
 * (a Buffer or any Uint8Array, an element of a bytea[]) as base64, as they are in a cell.
 */
export function stringifyExactly(value: unknown): string | undefined {
  const documents: string[] = [];
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key, x: unknown) {
    // The holder's own value: `x` is what its toJSON gave (a RawJson's is its parsed value,
    // a Buffer's `{type, data}`).
    const own = this[key];
    const original = own instanceof RawJson ? own : x;
    if (original instanceof RawJson) {
      documents.push(original.text);
      return `${PLACEHOLDER}${documents.length - 1}`;
    }
    if (own instanceof Uint8Array) return base64(own);
    if (typeof own === 'object' && own !== null && !(own instanceof RawJson)) {
      const shown = collectionJson(own);
      if (shown !== undefined) return shown;
    }
    return typeof x === 'bigint' ? x.toString() : x;
  });
  if (documents.length === 0 || text === undefined) return text;
  return text.replace(PLACEHOLDERS, (_, n: string) => documents[Number(n)]!);
}

/**
 * What JSON.stringify would write as `{}` or as an object of indices, losing what it holds:
 * a Map as an object (its entries, when a key is not a string), a Set and a typed array as
 * arrays, other binary data (ArrayBuffer, DataView) as base64 like bytes.
 */
function collectionJson(v: object): unknown {
  if (v instanceof Map) {
    for (const key of v.keys()) if (typeof key !== 'string') return [...v];
    return Object.fromEntries(v);
  }
  if (v instanceof Set) return [...v];
  const bytes = bytesOf(v);
  if (bytes) return base64(bytes);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number | bigint>);
  return undefined;
}

/** The bytes of binary data: a Uint8Array (a Buffer), an ArrayBuffer or a DataView. */
export function bytesOf(v: object): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v;
  if (v instanceof DataView) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) return new Uint8Array(v);
  return undefined;
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const WHITESPACE = /[ \t\n\r]/;

/**
 * `text` without whitespace outside strings: what JSON.stringify would space it as, with
 * every number and escape spelt as it was. PostgreSQL writes jsonb as `{"a": 1, "b": [1, 2]}`.
 */
export function minifiedJson(text: string): string {
  if (!WHITESPACE.test(text)) return text;
  const minified = rewriteOutsideStrings(text, (i) => {
    const c = text.charCodeAt(i);
    return c === 32 || c === 9 || c === 10 || c === 13 ? ([i + 1, ''] as const) : undefined;
  });
  return minified ?? text;
}

/**
 * The value of a JSON document from a database: an object or array as RawJson, and so a
 * number a double would change (`2.50`, `1e400`, an integer beyond 2^53); any other scalar
 * parsed. `trusted`:
 * the database has checked the text (PostgreSQL's json/jsonb); otherwise it is parsed once
 * to be checked, and invalid JSON throws as JSON.parse does.
 */
export function jsonDocument(text: string, trusted: boolean): unknown {
  let i = 0;
  while (i < text.length && WHITESPACE.test(text[i]!)) i++;
  const first = text.charCodeAt(i);
  if (first === 123 || first === 91) {
    if (!trusted) JSON.parse(text);
    return new RawJson(minifiedJson(text));
  }
  const value: unknown = JSON.parse(text);
  if (typeof value === 'number') {
    // Kept as its text when a double would change it (`2.50`, `1e400`, digits beyond 2^53):
    // numbers as stored, written exactly in every format.
    const stored = text.trim();
    if (String(value) !== stored) return new RawJson(stored);
  }
  return value;
}
