import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { defineDataset } from '../../src/datasets/define.js';
import { DatasetRegistry } from '../../src/datasets/registry.js';
import { TakeoutError } from '../../src/errors.js';
import { DEFAULT_EXPORT_LIMITS, parseExportRequest, planExport, runExport } from '../../src/exports/index.js';
import { builtinFormats } from '../../src/formats/index.js';
import type { Row, Source } from '../../src/types.js';

// A Writable handed to runExport (a file the caller opened) is the export's to close whichever
// way it ends: a failure before the first chunk must not leave its descriptor open.
const formats = builtinFormats();
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A source whose batches are `batches()`: its query fails once the export runs it. */
function sourceOf(batches: () => AsyncIterable<Row[]>): Source {
  return {
    columns: async () => [{ key: 'a', header: 'a', type: 'string' }],
    batches,
  };
}

async function* failing(): AsyncGenerator<Row[]> {
  yield* [];
  throw new TakeoutError('source_error', 'The database went away');
}

async function planOf(batches: () => AsyncIterable<Row[]>) {
  const datasets = new DatasetRegistry([defineDataset({ name: 'd', source: () => sourceOf(batches) })]);
  return planExport(
    parseExportRequest({ dataset: 'd', format: 'csv' }, formats),
    { id: 'u' },
    {
      datasets,
      formats,
      limits: DEFAULT_EXPORT_LIMITS,
    },
  );
}

function fileStream() {
  const dir = mkdtempSync(join(tmpdir(), 'takeout-run-sink-'));
  dirs.push(dir);
  const path = join(dir, 'out.csv');
  const stream = createWriteStream(path);
  // Closed within a second, or not at all (the descriptor leaked).
  const closed = () =>
    Promise.race([new Promise<void>((resolve) => stream.once('close', () => resolve())), sleep(1000)]);
  return { path, stream, closed };
}

describe('runExport into a Writable the caller opened', () => {
  it('closes it when the source fails before the first chunk', async () => {
    const plan = await planOf(failing);
    const { path, stream, closed } = fileStream();
    await expect(runExport(plan, stream)).rejects.toMatchObject({ code: 'source_error' });
    await closed();
    expect(stream.destroyed).toBe(true);
    expect(stream.closed).toBe(true);
    expect(existsSync(path)).toBe(true); // the partial file is the caller's to delete
  });

  it('closes it when the export is aborted before the first chunk', async () => {
    const plan = await planOf(async function* () {
      yield [{ a: 1 }];
    });
    const { stream, closed } = fileStream();
    await expect(runExport(plan, stream, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'aborted',
    });
    await closed();
    expect(stream.closed).toBe(true);
  });

  it('closes it when the plan was already run', async () => {
    const plan = await planOf(async function* () {
      yield [{ a: 1 }];
    });
    await runExport(plan, async (body) => {
      for await (const _ of body);
    });
    const { stream, closed } = fileStream();
    await expect(runExport(plan, stream)).rejects.toMatchObject({ code: 'internal' });
    await closed();
    expect(stream.closed).toBe(true);
  });

  it('closes it when the source fails after the first chunk, as before', async () => {
    const plan = await planOf(async function* () {
      // Enough bytes that chunks reach the file before the failure.
      for (let i = 0; i < 50; i++) yield Array.from({ length: 1000 }, () => ({ a: 'x'.repeat(100) }));
      throw new TakeoutError('source_error', 'The database went away');
    });
    const { stream, closed } = fileStream();
    await expect(runExport(plan, stream)).rejects.toMatchObject({ code: 'source_error' });
    await closed();
    expect(stream.closed).toBe(true);
  });
});
