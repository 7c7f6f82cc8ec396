/**
 * The code that reads one column's value from row `r` in compiled row functions: `r[3]`
 * for array rows, `r["name"]` for objects. A key that Object.prototype also has
 * (`constructor`, `toString`, `__proto__` ...) is read only when the row has it as its own:
 * a row lacking it must give an empty cell, not a function.
 */
export function readExpression(
  column: { key: string; index?: number },
  i: number,
  rowShape: 'array' | 'object',
): string {
  if (rowShape === 'array') return `r[${(column.index ?? i) | 0}]`;
  const key = JSON.stringify(column.key);
  return column.key in Object.prototype ? `(Object.hasOwn(r, ${key}) ? r[${key}] : undefined)` : `r[${key}]`;
}

/** The value of one column in a row, by the same rule as readExpression (for code that is not compiled). */
export function readCell(
  row: unknown,
  column: { key: string; index?: number },
  i: number,
  rowShape: 'array' | 'object',
): unknown {
  if (rowShape === 'array') return (row as readonly unknown[])[column.index ?? i];
  const { key } = column;
  // As readExpression: an inherited value counts (a class's getter), Object.prototype's does not.
  if (key in Object.prototype && !Object.hasOwn(row as object, key)) return undefined;
  return (row as Record<string, unknown>)[key];
}

/**
 * Bytes gathered before a chunk is yielded. Every chunk costs
 * a write downstream (a file write through the thread pool costs ~0.1 ms: 155 MB in 64 KiB
 * chunks takes about 1.5 times as long as in 128 KiB chunks), yet small enough that the few chunks in
 * flight between the writer and a slow consumer stay around a megabyte.
 */
export const CHUNK_BYTES = 128 * 1024;

/** A slow source's rows are still sent this often (ms), checked between batches. */
export const FLUSH_MS = 100;

/** Compiled factories kept, by their code; the least recently used go first past this. */
const MAX_FACTORIES = 256;
const factories = new Map<string, (...args: never[]) => unknown>();

/**
 * `new Function(...params, body)`, compiled once per distinct code and kept. A function made
 * afresh per export starts cold: V8 interprets it, then optimises it again on a background
 * thread, which for a small export (a server answering many) cost more than writing its rows;
 * closures made by one kept factory share what V8 learned and the optimised code.
 */
export function compiledFactory<F extends (...args: never[]) => unknown>(
  params: readonly string[],
  body: string,
): F {
  const key = `${params.join(',')}\n${body}`;
  let factory = factories.get(key);
  if (factory) {
    factories.delete(key); // most recently used last
  } else {
    factory = new Function(...params, body) as F;
    if (factories.size >= MAX_FACTORIES) factories.delete(factories.keys().next().value as string);
  }
  factories.set(key, factory);
  return factory as F;
}

/** Factories kept by the shape of the code (compiledByShape); bounded like `factories`. */
const byShape = new Map<string, (...args: never[]) => unknown>();

/**
 * As compiledFactory, for code that `shape` fully determines: the code is built (`body()`)
 * only the first time. Building it for a dozen columns costs ~13 µs, a noticeable part of a
 * small sync export; the shape key costs a tenth of that.
 */
export function compiledByShape<F extends (...args: never[]) => unknown>(
  shape: string,
  params: readonly string[],
  body: () => string,
): F {
  let factory = byShape.get(shape);
  if (factory) byShape.delete(shape);
  else {
    factory = compiledFactory<F>(params, body());
    if (byShape.size >= MAX_FACTORIES) byShape.delete(byShape.keys().next().value as string);
  }
  byShape.set(shape, factory);
  return factory as F;
}

/**
 * What compiled row code reads of a column set: the row shape, and each column's position,
 * type and key (length-prefixed, so that no key can make two column sets look alike).
 */
export function columnsShape(
  columns: readonly { key: string; index?: number; type?: string }[],
  rowShape: 'array' | 'object',
): string {
  let shape = rowShape;
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    shape += `|${c.index ?? i} ${c.type ?? ''} ${c.key.length}:${c.key}`;
  }
  return shape;
}

/**
 * Code writing the constant `bytes` into sink `o` (after one room check): separators, line
 * endings, JSON keys. Constant stores beat a loop copying them from an array.
 */
export function writeBytesCode(bytes: Uint8Array): string {
  const n = bytes.length;
  const stores = Array.from(bytes, (x) => `b[p++] = ${x};`).join(' ');
  return `if (o.pos + ${n} > o.buf.length) o.ensure(${n}); { const b = o.buf; let p = o.pos; ${stores} o.pos = p; }`;
}
