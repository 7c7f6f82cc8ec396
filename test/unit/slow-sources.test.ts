/**
 * Rows that are ready go out within about FLUSH_MS even when the source then stalls: a
 * part-filled batch (rows handed over one at a time) and written bytes waiting for the next
 * batch are both sent, not held until more rows come.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { exportRows, prepareExport } from '../../src/pipeline.js';
import { rowsSource } from '../../src/sources/rows.js';
import type { Row, Source } from '../../src/types.js';

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += chunk.toString();
  return out;
}

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

  it('sends rows that come slowly without declared types, inferred from those that came', async () => {
    const stall = gate();
    async function* rows(): AsyncGenerator<Row> {
      // A row every 30 ms, as a feed or a pipe gives them: inference waits for no hundred.
      for (let id = 1; id <= 10; id++) {
        yield { id, name: `n${id}` };
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      await stall.opened;
      yield { id: 11, name: 'last' };
    }
    const stream = exportRows(rows(), { format: 'csv' });
    const started = Date.now();
    const chunk = await firstChunk(stream, 2000);
    expect(chunk, 'nothing came while the source stalled').toBeDefined();
    expect(Date.now() - started).toBeLessThan(1500);
    stall.open();
    const all: Buffer[] = [chunk!];
    for await (const part of stream) all.push(Buffer.from(part as Buffer));
    const records = parse(Buffer.concat(all), { columns: true }) as { id: string; name: string }[];
    expect(records.map((r) => r.id)).toEqual(Array.from({ length: 11 }, (_, i) => String(i + 1)));
    expect(records.at(-1)).toEqual({ id: '11', name: 'last' });
  });

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

  it('still fails before the first byte when the first rows are slow and then fail', async () => {
    for (const format of ['csv', 'json', 'ndjson']) {
      const source: Source = {
        rowShape: async () => 'object',
        columns: async () => [{ key: 'id', header: 'id', type: 'integer' }],
        async *batches() {
          await new Promise((resolve) => setTimeout(resolve, 400));
          throw new TakeoutError('invalid_params', 'no such rows');
        },
      };
      // The header (or `[`) alone is not a first chunk: setup errors still reject here.
      await expect(prepareExport(source, { format })).rejects.toMatchObject({ code: 'invalid_params' });
    }
  });

  it('writes each batch before asking for the next (an input may reuse its array)', async () => {
    async function* reused(): AsyncGenerator<Row[]> {
      const batch: Row[] = [];
      for (let b = 0; b < 10; b++) {
        batch.length = 0;
        for (let i = 0; i < 100; i++) batch.push({ id: b * 100 + i + 1 });
        yield batch;
      }
    }
    const out = await text(
      exportRows(reused(), { format: 'csv', batched: true, columns: [{ key: 'id', type: 'integer' }] }),
    );
    const ids = (parse(out, { columns: true }) as { id: string }[]).map((r) => Number(r.id));
    expect(ids).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it('keeps no batch it has written while it waits for the next (wide rows, little output)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const early: WeakRef<object>[] = [];
    let alive = -1;
    async function* rows(): AsyncGenerator<Row[]> {
      for (let b = 0; b < 300; b++) {
        const batch = [{ id: b, wide: 'x'.repeat(50_000) + b }];
        if (b < 100) early.push(new WeakRef(batch));
        if (b === 250) {
          gc();
          await new Promise((resolve) => setTimeout(resolve, 0));
          gc();
          alive = early.filter((ref) => ref.deref() !== undefined).length;
        }
        yield batch;
      }
    }
    await text(
      exportRows(rows(), { format: 'csv', batched: true, columns: [{ key: 'id', type: 'integer' }] }),
    );
    expect(alive).toBeGreaterThanOrEqual(0);
    expect(alive).toBeLessThan(5);
  });

  it('reports why an export failed, not a failing cleanup of its batches', async () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const source: Source = {
      rowShape: async () => 'object',
      columns: async () => [
        { key: 'id', header: 'id', type: 'integer' },
        { key: 'doc', header: 'doc', type: 'json' },
      ],
      async *batches() {
        try {
          yield [{ id: 1, doc: 1 }];
          yield [{ id: 2, doc: cycle }];
        } finally {
          // biome-ignore lint/correctness/noUnsafeFinally: batches whose cleanup fails, on purpose
          throw new Error('cleanup failed');
        }
      },
    };
    await expect(prepareExport(source, { format: 'csv' })).rejects.toMatchObject({ code: 'invalid_rows' });
  });

  it('closes a source at once while it still samples rows that do not come', async () => {
    async function* rows(): AsyncGenerator<Row> {
      yield { id: 1 };
      await new Promise(() => {}); // never
    }
    const source = rowsSource(rows()); // untyped: samples up to 100 rows
    void source.columns().catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 20));
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      Promise.resolve(source.close?.()).then(() => 'closed'),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('stuck'), 1000);
      }),
    ]);
    clearTimeout(timer);
    expect(closed).toBe('closed');
  });
});
