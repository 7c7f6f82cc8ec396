import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { parser } from 'stream-json/parser.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { TakeoutError } from '../errors.js';
import { markedBigInteger, parseJsonExact, restoreBigIntegers } from '../json-exact.js';
import type { Row } from '../types.js';

/** Peeks the first non-blank character, then replays the whole input to the caller. */
async function firstChar(stream: Readable): Promise<{ char: string | undefined; replay: Readable }> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let char: string | undefined;
  let ended = false;
  while (char === undefined) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = Buffer.from(next.value);
    head.push(chunk);
    const text = chunk
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .trimStart();
    if (text.length > 0) char = text[0];
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* head;
    if (ended) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      yield Buffer.from(next.value);
  }
  return { char, replay: Readable.from(all(), { objectMode: false }) };
}

async function* ndjsonRows(stream: Readable): AsyncGenerator<Row> {
  let line = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    const trimmed = (text as string).trim();
    if (trimmed === '') continue;
    try {
      yield parseJsonExact(line === 1 ? trimmed.replace(/^\uFEFF/, '') : trimmed) as Row;
    } catch {
      throw new TakeoutError('invalid_rows', `line ${line} is not valid JSON`);
    }
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
 * apart by the first character. Both are parsed as streams: memory stays constant.
 */
export async function* readRows(path: string | undefined, stdin: Readable): AsyncGenerator<Row> {
  const stream = path && path !== '-' ? createReadStream(path) : stdin;
  const { char, replay } = await firstChar(stream);
  if (char === undefined) return;
  yield* char === '[' ? jsonArrayRows(replay) : ndjsonRows(replay);
}
