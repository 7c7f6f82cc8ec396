import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { exportRows, prepareExport } from '../../src/pipeline.js';
import { rowsSource } from '../../src/sources/rows.js';
import type { Progress } from '../../src/types.js';
import { collect, exportText, readCsv, streamError } from './support/export.js';

/** A generator of `total` rows that records how far it got and whether it was released. */
function countingRows(total: number) {
  const state = { produced: 0, released: false };
  function* rows() {
    try {
      for (let i = 0; i < total; i++) {
        state.produced++;
        yield { id: i, name: `row ${i}`, note: 'some text to make the line longer' };
      }
    } finally {
      state.released = true;
    }
  }
  return { state, rows: rows() };
}

/** Reads one chunk, then lets the stream sit unread. */
async function readOneChunk(stream: Readable): Promise<Buffer> {
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  return first.value as Buffer;
}

describe('exportRows inputs', () => {
  const expected = [
    ['id', 'name'],
    ['1', 'a'],
    ['2', 'b'],
    ['3', 'c'],
  ];
  const objects = [
    { id: 1, name: 'a' },
    { id: 2, name: 'b' },
    { id: 3, name: 'c' },
  ];
  const arrays = objects.map((o) => [o.id, o.name]);

  async function* asyncOf<T>(items: T[]) {
    for (const item of items) {
      await sleep(1);
      yield item;
    }
  }
  function* syncOf<T>(items: T[]) {
    yield* items;
  }

  it.each([
    ['an array of objects', () => objects, undefined],
    ['an Iterable of objects', () => syncOf(objects), undefined],
    ['an AsyncIterable of objects', () => asyncOf(objects), undefined],
    ['batches of objects', () => [objects.slice(0, 2), objects.slice(2)], undefined],
    ['async batches of objects', () => asyncOf([objects.slice(0, 1), [], objects.slice(1)]), undefined],
    ['an array of arrays', () => arrays, ['id', 'name']],
    ['an Iterable of arrays', () => syncOf(arrays), ['id', 'name']],
    ['an AsyncIterable of arrays', () => asyncOf(arrays), ['id', 'name']],
    ['async batches of arrays', () => asyncOf([arrays.slice(0, 2), arrays.slice(2)]), ['id', 'name']],
  ])('accepts %s', async (_name, input, columns) => {
    const text = await exportText(input() as never, columns ? { format: 'csv', columns } : { format: 'csv' });
    expect(readCsv(text)).toEqual(expected);
  });

  it('uses batchSize for single rows and passes large batches through', async () => {
    const sizes: number[] = [];
    const source = rowsSource(
      Array.from({ length: 2500 }, (_, i) => ({ i })),
      { batchSize: 1000 },
    );
    for await (const batch of source.batches()) sizes.push(batch.length);
    expect(sizes).toEqual([1000, 1000, 500]);
  });

  it('honours batched: false for array rows whose first cell is an object', async () => {
    const rows = [
      [{ a: 1 }, 'x'],
      [{ a: 2 }, 'y'],
    ];
    const text = await exportText(rows, { format: 'csv', columns: ['obj', 's'], batched: false });
    expect(readCsv(text).slice(1)).toEqual([
      ['{"a":1}', 'x'],
      ['{"a":2}', 'y'],
    ]);
  });

  it('fails with unknown_format on a format it does not know', async () => {
    expect(await streamError(exportRows(objects, { format: 'pdf' }))).toMatchObject({
      name: 'TakeoutError',
      code: 'unknown_format',
    });
  });

  it('rejects setup errors in prepareExport before any byte', async () => {
    await expect(
      prepareExport(rowsSource(objects), { format: 'csv', timezone: 'Nowhere/Land' }),
    ).rejects.toMatchObject({ code: 'invalid_timezone' });
  });
});

describe('invalid rows', () => {
  it.each([
    ['a number among objects', [{ a: 1 }, 5], 2],
    ['null among objects', [{ a: 1 }, { a: 2 }, null], 3],
    ['a string among objects', [{ a: 1 }, 'text'], 2],
    ['an array among objects', [{ a: 1 }, [1]], 2],
    ['an object among arrays', [[1], { a: 1 }], 2],
  ])('fails with invalid_rows on %s, naming the row', async (_name, rows, rowNumber) => {
    const options = Array.isArray(rows[0]) ? { format: 'csv', columns: ['a'] } : { format: 'csv' };
    const error = await streamError(exportRows(rows as never, options));
    expect(error).toMatchObject({ code: 'invalid_rows', details: { row: rowNumber } });
  });

  it('fails with invalid_rows when the first row is not an object or array', async () => {
    expect(await streamError(exportRows([42] as never, { format: 'csv' }))).toMatchObject({
      code: 'invalid_rows',
    });
    expect(await streamError(exportRows([new Date()] as never, { format: 'json' }))).toMatchObject({
      code: 'invalid_rows',
    });
  });

  it('fails with invalid_rows on a bad row far past the first batch', async () => {
    function* rows() {
      for (let i = 0; i < 5000; i++) yield i === 4321 ? ('oops' as never) : { i };
    }
    expect(await streamError(exportRows(rows(), { format: 'ndjson' }))).toMatchObject({
      code: 'invalid_rows',
      details: { row: 4322 },
    });
  });

  it('fails with sync_limit_exceeded past maxRows', async () => {
    const { rows, state } = countingRows(10_000);
    const error = await streamError(exportRows(rows, { format: 'csv', maxRows: 2500 }));
    expect(error).toMatchObject({ code: 'sync_limit_exceeded' });
    expect(state.produced).toBeLessThan(10_000);
    expect(state.released).toBe(true);
  });
});

describe('backpressure', () => {
  it('stops pulling rows when the consumer stops reading', async () => {
    const total = 1_000_000;
    const { rows, state } = countingRows(total);
    const stream = exportRows(rows, { format: 'csv' });
    const chunk = await readOneChunk(stream);
    expect(chunk.toString('utf8').startsWith('id,name,note\r\n')).toBe(true);
    await sleep(100);
    const afterPause = state.produced;
    await sleep(100);
    // Nothing more was pulled while nobody read, and only a few chunks' worth was produced.
    expect(state.produced).toBe(afterPause);
    expect(state.produced).toBeLessThan(20_000);
    stream.destroy();
    await sleep(20);
    expect(state.released).toBe(true);
    expect(state.produced).toBeLessThan(20_000);
  });

  it('pulls at the pace of a slow consumer', async () => {
    const { rows, state } = countingRows(1_000_000);
    const stream = exportRows(rows, { format: 'ndjson' });
    let chunks = 0;
    for await (const _ of stream) {
      if (++chunks === 5) break;
      await sleep(10);
    }
    await sleep(20);
    expect(state.produced).toBeLessThan(30_000);
    expect(state.released).toBe(true);
  });
});

describe('slow sources', () => {
  it.each(['csv', 'ndjson'])(
    '%s: sends the rows that are ready instead of waiting for a full chunk',
    async (format) => {
      async function* slow() {
        for (let i = 0; i < 10; i++) {
          await sleep(40);
          yield [{ i }];
        }
      }
      const started = Date.now();
      // Typed columns: nothing to infer, so the source is not sampled for 100 rows first.
      const stream = exportRows(slow(), { format, columns: [{ key: 'i', type: 'integer' }] });
      const first = (await readOneChunk(stream)).toString('utf8');
      const elapsed = Date.now() - started;
      // The source needs 400 ms; the first rows go out after about FLUSH_MS (100 ms).
      expect(elapsed).toBeLessThan(330);
      expect(first).toContain('0');
      expect(first).not.toContain('9');
      stream.destroy();
    },
  );
});

describe('progress', () => {
  it('reports rows and bytes, throttled, ending with done: true and the totals', async () => {
    const reports: Progress[] = [];
    const { rows } = countingRows(50_000);
    const bytes = await collect(
      exportRows(rows, { format: 'csv', batchSize: 100, onProgress: (p) => reports.push(p) }),
    );
    const last = reports.at(-1)!;
    expect(last).toMatchObject({ rows: 50_000, bytes: bytes.byteLength, done: true });
    expect(reports.filter((p) => p.done)).toHaveLength(1);
    // 500 batches, but reports at most every 250 ms: a handful, not hundreds.
    expect(reports.length).toBeLessThan(20);
    for (let i = 1; i < reports.length; i++) {
      expect(reports[i]!.rows).toBeGreaterThanOrEqual(reports[i - 1]!.rows);
      expect(reports[i]!.bytes).toBeGreaterThanOrEqual(reports[i - 1]!.bytes);
      expect(reports[i]!.elapsedMs).toBeGreaterThanOrEqual(reports[i - 1]!.elapsedMs);
    }
  });

  it('reports as often as progressIntervalMs allows', async () => {
    const reports: Progress[] = [];
    async function* slowRows() {
      for (let i = 0; i < 6; i++) {
        await sleep(15);
        yield [{ i }];
      }
    }
    await collect(
      exportRows(slowRows(), { format: 'json', progressIntervalMs: 0, onProgress: (p) => reports.push(p) }),
    );
    expect(reports.filter((p) => !p.done).map((p) => p.rows)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(reports.at(-1)).toMatchObject({ rows: 6, done: true });
  });
});

describe('abort', () => {
  it("ends the stream with code 'aborted' and releases the source", async () => {
    const { rows, state } = countingRows(1_000_000);
    const controller = new AbortController();
    const stream = exportRows(rows, { format: 'csv', signal: controller.signal });
    await readOneChunk(stream);
    controller.abort();
    const error = await streamError(stream);
    expect(error).toMatchObject({ name: 'TakeoutError', code: 'aborted' });
    await sleep(20);
    expect(state.released).toBe(true);
    expect(state.produced).toBeLessThan(20_000);
  });

  it('aborts while the source is waiting for rows', async () => {
    const state = { released: false, produced: 0 };
    async function* slow() {
      try {
        for (let i = 0; ; i++) {
          await sleep(5);
          state.produced++;
          yield [{ i }];
        }
      } finally {
        state.released = true;
      }
    }
    const controller = new AbortController();
    const stream = exportRows(slow(), { format: 'ndjson', signal: controller.signal });
    setTimeout(() => controller.abort(), 60);
    const error = await streamError(stream);
    expect(error).toMatchObject({ code: 'aborted' });
    await sleep(30);
    expect(state.released).toBe(true);
    expect(state.produced).toBeLessThan(40);
  });

  it('fails at once with an already aborted signal, without reading rows', async () => {
    const { rows, state } = countingRows(100);
    const error = await streamError(exportRows(rows, { format: 'csv', signal: AbortSignal.abort() }));
    expect(error).toMatchObject({ code: 'aborted' });
    expect(state.produced).toBe(0);
  });

  it('releases the source when the consumer destroys the stream', async () => {
    const { rows, state } = countingRows(1_000_000);
    const stream = exportRows(rows, { format: 'json' });
    await readOneChunk(stream);
    stream.destroy();
    await sleep(20);
    expect(state.released).toBe(true);
  });
});

describe('memory', () => {
  it('stays constant in the number of rows (2M rows streamed)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heapAt: Record<number, number> = {};
    const total = 2_000_000;
    const checkpoints = new Set([200_000, 1_000_000, 1_999_999]);
    function* rows() {
      for (let i = 0; i < total; i++) {
        if (checkpoints.has(i)) {
          gc();
          heapAt[i] = process.memoryUsage().heapUsed;
        }
        yield [i, 'some name, with a comma', i * 0.25, i % 3 === 0 ? null : 'note'];
      }
    }
    let bytes = 0;
    for await (const chunk of exportRows(rows(), {
      format: 'csv',
      columns: ['id', 'name', 'amount', 'note'],
    })) {
      bytes += (chunk as Buffer).byteLength;
    }
    expect(bytes).toBeGreaterThan(total * 30);
    const growth = heapAt[1_999_999]! - heapAt[200_000]!;
    // Holding even 1 byte per row would be 1.8 MB; allow noise well below that.
    expect(Math.abs(growth)).toBeLessThan(1_500_000);
    expect(Math.abs(heapAt[1_999_999]! - heapAt[1_000_000]!)).toBeLessThan(1_500_000);
  });
});
