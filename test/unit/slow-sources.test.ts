/**
 * Rows that are ready go out within about FLUSH_MS even when the source then stalls: a
 * part-filled batch (rows handed over one at a time) and written bytes waiting for the next
 * batch are both sent, not held until more rows come.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { exportRows } from '../../src/pipeline.js';
import type { Row } from '../../src/types.js';

/** A gate the test opens: the source waits on it in the middle of its rows. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/** The first chunk of a stream, or undefined when none comes within `ms`. */
async function firstChunk(stream: NodeJS.ReadableStream, ms: number): Promise<Buffer | undefined> {
  const iterator = stream[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    iterator.next(),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]);
  clearTimeout(timer);
  return result && !result.done ? Buffer.from(result.value as Buffer) : undefined;
}

describe('a source that stalls', () => {
  for (const [name, batched] of [
    ['one row at a time', false],
    ['a batch at a time', true],
  ] as const) {
    it(`sends the rows it gave before stalling (${name})`, async () => {
      const stall = gate();
      async function* rows(): AsyncGenerator<Row | Row[]> {
        const first = [
          { id: 1, name: 'a' },
          { id: 2, name: 'b' },
          { id: 3, name: 'c' },
        ];
        if (batched) yield first;
        else yield* first;
        await stall.opened;
        if (batched) yield [{ id: 4, name: 'd' }];
        else yield { id: 4, name: 'd' };
      }
      const stream = exportRows(rows() as AsyncIterable<Row>, {
        format: 'csv',
        // Typed: nothing is sampled (an untyped column waits for 100 rows to infer its type).
        columns: [
          { key: 'id', type: 'integer' },
          { key: 'name', type: 'string' },
        ],
      });
      const started = Date.now();
      const chunk = await firstChunk(stream, 2000);
      expect(chunk, 'nothing came while the source stalled').toBeDefined();
      expect(Date.now() - started).toBeLessThan(1500);
      stall.open();
      const rest: Buffer[] = [chunk!];
      for await (const part of stream) rest.push(Buffer.from(part as Buffer));
      expect(parse(Buffer.concat(rest), { columns: true })).toEqual([
        { id: '1', name: 'a' },
        { id: '2', name: 'b' },
        { id: '3', name: 'c' },
        { id: '4', name: 'd' },
      ]);
    });
  }

  it('stops a stalled source at once when the stream is destroyed', async () => {
    let finalized = false;
    async function* rows(): AsyncGenerator<Row> {
      try {
        yield { id: 1 };
        await new Promise(() => {}); // never
      } finally {
        finalized = true;
      }
    }
    const stream = exportRows(rows(), { format: 'ndjson', columns: [{ key: 'id', type: 'integer' }] });
    const chunk = await firstChunk(stream, 2000);
    expect(chunk?.toString()).toBe('{"id":1}\n');
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.destroy();
    await closed; // does not wait for the row that never comes
    expect(finalized).toBe(false); // its generator is still stuck in the await: nothing to run yet
  });
});
