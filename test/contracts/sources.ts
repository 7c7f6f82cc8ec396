/**
 * The source contract: every Source implementation (inline rows, SQLite, PostgreSQL) must
 * pass these tests. Call `sourceContract(name, makeHarness)` from an integration test file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG, TakeoutError } from '../../src/errors.js';
import type { ResolvedColumn, Row, Source } from '../../src/types.js';
import { eventually } from '../support/eventually.js';

export interface SourceHarness {
  /**
   * A source over the contract table (at least 50,000 rows): rows `{ id: i, name: 'name <i>' }`
   * for i = 1..n, in id order, in batches its own (small: 20,000 rows span several).
   */
  open(n: number): Promise<Source>;
  /** A source whose query (or input) is bad. */
  failing(): Promise<Source>;
  /** Connections (or readers) the harness's sources hold open right now. */
  busy(): Promise<number>;
  /** What `estimate()` answers: the exact count, a planner's guess, or nothing. */
  estimate: 'exact' | 'approximate' | 'none';
  close(): Promise<void>;
}

/** Rows as objects keyed by column key, whatever the source's row shape. */
function asObject(row: Row, columns: readonly ResolvedColumn[]): Record<string, unknown> {
  if (!Array.isArray(row)) return row as Record<string, unknown>;
  return Object.fromEntries(columns.map((c, i) => [c.key, (row as unknown[])[c.index ?? i]]));
}

export function sourceContract(name: string, makeHarness: () => Promise<SourceHarness>): void {
  describe(`source contract: ${name}`, () => {
    let harness: SourceHarness;
    beforeAll(async () => {
      harness = await makeHarness();
    });
    afterAll(async () => {
      await harness?.close();
    });

    it('declares its columns with types', async () => {
      const source = await harness.open(3);
      try {
        const columns = await source.columns();
        expect(columns.map((c) => [c.key, c.header, c.type])).toEqual([
          ['id', 'id', 'integer'],
          ['name', 'name', 'string'],
        ]);
      } finally {
        await source.close?.();
      }
    });

    it('yields every row once, in order, in non-empty batches of its row shape', async () => {
      const source = await harness.open(20_000);
      try {
        const shape = (await source.rowShape?.()) ?? 'object';
        const columns = await source.columns();
        const ids: number[] = [];
        let batches = 0;
        for await (const batch of source.batches()) {
          batches++;
          expect(batch.length).toBeGreaterThan(0);
          for (const row of batch) {
            expect(Array.isArray(row)).toBe(shape === 'array');
            const object = asObject(row, columns);
            expect(object.name).toBe(`name ${object.id}`);
            ids.push(Number(object.id));
          }
        }
        expect(ids).toEqual(Array.from({ length: 20_000 }, (_, i) => i + 1));
        expect(batches).toBeGreaterThan(1);
      } finally {
        await source.close?.();
      }
      expect(await eventually(async () => (await harness.busy()) === 0)).toBe(true);
    });

    it('estimates its rows as it promises', async () => {
      const source = await harness.open(2500);
      try {
        const estimate = await source.estimate?.();
        if (harness.estimate === 'none') expect(estimate).toBeUndefined();
        else if (harness.estimate === 'exact') expect(estimate).toBe(2500);
        else {
          expect(Number.isInteger(estimate)).toBe(true);
          expect(estimate).toBeGreaterThan(0);
        }
      } finally {
        await source.close?.();
      }
    });

    it('releases its connection when aborted mid-way', async () => {
      const source = await harness.open(50_000);
      const controller = new AbortController();
      let read = 0;
      let failure: unknown;
      try {
        for await (const batch of source.batches(controller.signal)) {
          read += batch.length;
          if (read >= 200) {
            expect(await harness.busy()).toBeGreaterThan(0);
            controller.abort(); // a plain AbortError reason: the source still answers `aborted`
          }
        }
      } catch (error) {
        failure = error;
      }
      expect(read).toBeLessThan(50_000);
      expect(failure).toBeInstanceOf(TakeoutError);
      expect((failure as TakeoutError).code).toBe('aborted');
      await source.close?.();
      expect(await eventually(async () => (await harness.busy()) === 0)).toBe(true);
    });

    it('releases its connection when the reader stops early, and on close() alone', async () => {
      const source = await harness.open(50_000);
      for await (const _batch of source.batches()) break;
      await source.close?.();
      expect(await eventually(async () => (await harness.busy()) === 0)).toBe(true);
      const unread = await harness.open(10);
      await unread.columns();
      await unread.close?.();
      await unread.close?.(); // twice: not an error
      expect(await eventually(async () => (await harness.busy()) === 0)).toBe(true);
    });

    it('fails with a catalog code, never a raw error', async () => {
      const source = await harness.failing();
      let failure: unknown;
      try {
        await source.rowShape?.();
        await source.columns();
        for await (const _batch of source.batches()) {
          // reading is where some sources fail
        }
      } catch (error) {
        failure = error;
      } finally {
        await source.close?.();
      }
      expect(failure).toBeInstanceOf(TakeoutError);
      const code = (failure as TakeoutError).code;
      expect(Object.hasOwn(ERROR_CATALOG, code)).toBe(true);
      expect(code).not.toBe('internal');
      expect(await eventually(async () => (await harness.busy()) === 0)).toBe(true);
    });
  });
}
