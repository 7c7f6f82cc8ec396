/** The shape of a column's cell writer (cell.ts makes them; sheet.ts and sources call them). */

/**
 * Writes one value of row `n` into the sheet's XML as a `<c>` element, and says whether it wrote
 * one (empty values write nothing). `gap`: the previous cell of the row was not written, so this
 * one carries its reference (`r="D7"`); the others follow without one.
 */
export type WriteCell<T> = (value: T, n: number, gap: boolean) => boolean;

/**
 * The writers of one column's cells: `any` for any value, and one per type for a value already
 * known to be of it, which the compiled row (sheet.ts) calls after its own inline type test, so
 * a cell of the column's usual type costs no type dispatch. Each gives what `any` would.
 */
export interface CellWriter {
  any: WriteCell<unknown>;
  /** Text in a column that is not numeric (numeric columns read numeric text as numbers). */
  text: WriteCell<string>;
  number: WriteCell<number>;
  date: WriteCell<Date>;
  boolean: WriteCell<boolean>;
  /*
   * For a source that writes cells from its own bytes (postgres-binary-xlsx.ts): each writes
   * what `any` writes for the value those bytes stand for, or returns false having written
   * nothing when it cannot, and the caller hands the decoded value to `any`.
   */
  /** Text given as its bytes: written when it is ASCII and takes textCell's fast path. */
  asciiText(bytes: Uint8Array, at: number, len: number, n: number, gap: boolean): boolean;
  /** A numeric's text as ASCII bytes, in a numeric column: written when it is a plain decimal. */
  plainDecimal(bytes: Uint8Array, start: number, end: number, n: number, gap: boolean): boolean;
  /** A Date given as its milliseconds (never NaN): always written. */
  instant: WriteCell<number>;
}
