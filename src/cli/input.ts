import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parser } from 'stream-json/parser.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { TakeoutError } from '../errors.js';
import { markedBigInteger, parseJsonExact, restoreBigIntegers } from '../json-exact.js';
import type { Row } from '../types.js';

/** How much of the first line is looked at to tell NDJSON of array rows from one JSON array. */
const PEEK_BYTES = 1024 * 1024;

/**
 * Peeks the start of the input (its first non-blank line, up to PEEK_BYTES, and the next
 * non-blank character), then replays the whole input to the caller.
 */
async function peek(stream: Readable): Promise<{ head: string; replay: Readable }> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  const pieces: string[] = [];
  const decoder = new StringDecoder('utf8');
  let bytes = 0;
  let ended = false;
  // Enough: the first non-blank character, and after a `[` the end of that line and whether
  // anything follows it (or the end, or PEEK_BYTES). Each piece of text is looked at once, so
  // input that comes a few bytes at a time (a pipe) costs no more than one large chunk.
  let first: string | undefined;
  let lineEnded = false;
  const enoughWith = (piece: string): boolean => {
    let from = 0;
    if (first === undefined) {
      const at = piece.search(/\S/);
      if (at === -1) return false;
      first = piece[at];
      if (first !== '[') return true;
      from = at;
    }
    if (!lineEnded) {
      const end = piece.indexOf('\n', from);
      if (end === -1) return false;
      lineEnded = true;
      from = end;
    }
    return /\S/.test(from === 0 ? piece : piece.slice(from));
  };
  let enough = false;
  while (bytes < PEEK_BYTES && !enough) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = Buffer.from(next.value);
    chunks.push(chunk);
    bytes += chunk.length;
    let piece = decoder.write(chunk);
    if (pieces.length === 0 && piece.charCodeAt(0) === 0xfeff) piece = piece.slice(1);
    pieces.push(piece);
    enough = enoughWith(piece);
  }
  const text = pieces.join('');
  async function* all(): AsyncGenerator<Buffer> {
    yield* chunks;
    if (ended) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      yield Buffer.from(next.value);
  }
  return {
    head: ended ? text : text.slice(0, PEEK_BYTES),
    replay: Readable.from(all(), { objectMode: false }),
  };
}

/**
 * Whether input starting with `[` is NDJSON whose rows are arrays (`["a",1]` a line) rather
 * than one JSON array: its first line is a whole JSON value and another value follows it, or
 * it is the only line and holds a scalar (a JSON array of rows holds objects or arrays only).
 */
function arrayRowsPerLine(head: string): boolean {
  const start = head.search(/\S/);
  const end = head.indexOf('\n', start);
  const first = (end === -1 ? head.slice(start) : head.slice(start, end)).trim();
  let value: unknown;
  try {
    value = JSON.parse(first);
  } catch {
    return false; // a JSON array spread over lines (or a first line past the peek)
  }
  if (end !== -1 && /\S/.test(head.slice(end))) return true;
  return Array.isArray(value) && value.some((v) => v === null || typeof v !== 'object');
}

/** Said when the first row is not JSON at all: the input is likely CSV or other text. */
const ROWS_ARE_JSON =
  'rows are read as NDJSON (one JSON object or array a line) or one JSON array, not CSV or other text';

async function* ndjsonRows(stream: Readable): AsyncGenerator<Row> {
  let line = 0;
  let first = true;
  for await (const text of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    const trimmed = (text as string).trim();
    if (trimmed === '') continue;
    let row: Row;
    try {
      row = parseJsonExact(line === 1 ? trimmed.replace(/^\uFEFF/, '') : trimmed) as Row;
    } catch {
      throw new TakeoutError(
        'invalid_rows',
        `line ${line} is not valid JSON${first ? `: ${ROWS_ARE_JSON}` : ''}`,
      );
    }
    first = false;
    yield row;
  }
}

/** stream-json tokens, with integers a double does not hold as marked strings (json-exact.ts). */
function exactNumbers(): Transform {
  return new Transform({
    objectMode: true,
    transform(token: { name: string; value?: string }, _encoding, done) {
      const marked = token.name === 'numberValue' ? markedBigInteger(token.value!) : undefined;
      done(null, marked === undefined ? token : { name: 'stringValue', value: marked });
    },
  });
}

async function* jsonArrayRows(stream: Readable): AsyncGenerator<Row> {
  const tokens = stream.pipe(parser.asStream());
  const pipeline = tokens.pipe(exactNumbers()).pipe(streamArray.asStream());
  // pipe() forwards data, not errors: a parse error must end the rows.
  tokens.on('error', (error) => pipeline.destroy(error));
  try {
    for await (const item of pipeline as AsyncIterable<{ value: Row }>)
      yield restoreBigIntegers(item.value) as Row;
  } catch (error) {
    throw new TakeoutError(
      'invalid_rows',
      `The input is not a valid JSON array: ${(error as Error).message}`,
    );
  }
}

/**
 * Rows from a file or stdin, as NDJSON (one JSON value a line) or one JSON array, told
 * apart by the first character (and, after a `[`, by its first line: arrayRowsPerLine).
 * Both are parsed as streams: memory stays constant (the peek is at most PEEK_BYTES).
 */
export async function* readRows(path: string | undefined, stdin: Readable): AsyncGenerator<Row> {
  const stream = path && path !== '-' ? createReadStream(path) : stdin;
  const { head, replay } = await peek(stream);
  const char = head.trimStart()[0];
  if (char === undefined) return;
  yield* char === '[' && !arrayRowsPerLine(head) ? jsonArrayRows(replay) : ndjsonRows(replay);
}
