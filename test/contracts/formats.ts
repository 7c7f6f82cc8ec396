/**
 * The format contract: every registered FormatWriter must pass these tests. Call
 * `formatContract(format, read)` with an independent reader of the format's files (csv-parse,
 * JSON.parse, SheetJS ...), never Takeout's own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { FormatContext, FormatWriter, ResolvedColumn, Row } from '../../src/types.js';

/** Data rows of a file, keyed by header, values as the reader gives them. */
export type FormatReader = (bytes: Buffer) => Promise<Record<string, unknown>[]> | Record<string, unknown>[];

const COLUMNS: ResolvedColumn[] = [
  { key: 'id', header: 'id', type: 'integer' },
  { key: 'name', header: 'name', type: 'string' },
];

function context(signal?: AbortSignal): FormatContext {
  return { columns: COLUMNS, rowShape: 'object', options: {}, ...(signal ? { signal } : {}) };
}

function batchOf(start: number, size: number): Row[] {
  return Array.from({ length: size }, (_, i) => ({
    id: start + i,
    name: `row ${start + i} ${'x'.repeat(40)}`,
  }));
}

async function* batches(...list: Row[][]): AsyncGenerator<Row[]> {
  yield* list;
}

async function collect(bytes: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of bytes) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A source of `count` batches that says how many were pulled and whether it was closed. */
function trackedBatches(count: number, size = 100) {
  const state = { pulled: 0, closed: false };
  async function* gen(): AsyncGenerator<Row[]> {
    try {
      for (let i = 0; i < count; i++) {
        state.pulled++;
        yield batchOf(i * size, size);
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, batches: gen() };
}

export function formatContract(format: FormatWriter, read: FormatReader): void {
  describe(`format contract: ${format.name}`, () => {
    it('declares its name, type, extension and a JSON Schema of its options', () => {
      expect(format.name).toMatch(/^[a-z][a-z0-9]*$/);
      expect(format.contentType).toMatch(/^[a-z]+\/[\w.+-]+/);
      expect(format.extension).toMatch(/^[a-z0-9]+$/);
      for (const [name, schema] of Object.entries(format.options)) {
        expect(name).toMatch(/^[a-z][A-Za-z]*$/);
        expect(schema.type !== undefined || schema.enum !== undefined).toBe(true);
      }
    });

    it('writes an empty input as a valid file with no rows', async () => {
      const bytes = await collect(format.write(batches(), context()));
      expect(await read(bytes)).toEqual([]);
    });

    it('writes one row that an independent reader reads back', async () => {
      const bytes = await collect(format.write(batches([{ id: 7, name: 'seven' }]), context()));
      const rows = await read(bytes);
      expect(rows.map((r) => [String(r.id), String(r.name)])).toEqual([['7', 'seven']]);
    });

    it('keeps unicode text exact', async () => {
      const text = 'Zoë 😀 中文 ﬁ e\u0301 עברית';
      const bytes = await collect(format.write(batches([{ id: 1, name: text }]), context()));
      expect((await read(bytes))[0]?.name).toBe(text);
    });

    it('stops when aborted mid-way and closes what it reads', async () => {
      const controller = new AbortController();
      const source = trackedBatches(100_000);
      const iterator = format.write(source.batches, context(controller.signal))[Symbol.asyncIterator]();
      let failure: unknown;
      try {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          if (source.state.pulled >= 50) controller.abort(new Error('stop'));
        }
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeDefined();
      expect(source.state.pulled).toBeLessThan(100_000);
      expect(source.state.closed).toBe(true);
    });

    it('streams bytes before a slow source ends', async () => {
      let ended = false;
      // Batches arrive every 40 ms for about 1.2 s: the first bytes must not wait for the end.
      async function* slow(): AsyncGenerator<Row[]> {
        for (let i = 0; i < 30; i++) {
          await sleep(40);
          yield batchOf(i * 10, 10);
        }
        ended = true;
      }
      const chunks: Uint8Array[] = [];
      let endedAtFirstChunk: boolean | undefined;
      for await (const chunk of format.write(slow(), context())) {
        endedAtFirstChunk ??= ended;
        chunks.push(chunk);
      }
      expect(endedAtFirstChunk).toBe(false);
      expect(await read(Buffer.concat(chunks))).toHaveLength(300);
    });

    it('holds backpressure: a paused reader stops the source within a bounded lead', async () => {
      const source = trackedBatches(10_000);
      const iterator = format.write(source.batches, context())[Symbol.asyncIterator]();
      // Read until the writer has started on the rows (XLSX first writes parts of its own).
      while (source.state.pulled === 0) expect((await iterator.next()).done).toBe(false);
      await sleep(200); // the reader pauses: the writer may fill its small buffers, no more
      const paused = source.state.pulled;
      await sleep(200);
      expect(source.state.pulled).toBe(paused);
      expect(paused).toBeLessThan(200); // 200 batches of 100 rows: far beyond any chunk's worth
      await iterator.return?.();
      expect(source.state.closed).toBe(true);
    });
  });
}
