/**
 * The options of a built-in format are typed by its name: a misspelled or misplaced option
 * is a compile error (`npm run typecheck` fails when a `@ts-expect-error` below stops being
 * one), and still a clear `invalid_option` at run time for callers without types.
 */
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { getFormat } from '../../src/formats/index.js';
import type { XlsxOptions } from '../../src/formats/xlsx/options.js';
import { checkFormatOptions, type ExportOptions, exportRows } from '../../src/pipeline.js';
import type { FormatOptions, FormatWriter } from '../../src/types.js';

const rows = [{ a: 1 }];
const read = async (stream: Readable) => Buffer.concat(await stream.toArray()).toString('utf8');

describe('typed format options', () => {
  it('accepts each format’s own options', async () => {
    expect(
      await read(exportRows(rows, { format: 'csv', delimiter: ';', lineEnding: '\n', bom: false })),
    ).toBe('a\n1\n');
    expect(await read(exportRows(rows, { format: 'ndjson', timezone: 'Europe/Paris' }))).toBe('{"a":1}\n');
    const xlsx = exportRows(rows, { format: 'xlsx', sheetName: 'Data', freezeHeader: false, header: true });
    expect((await xlsx.toArray()).length).toBeGreaterThan(0);
  });

  it('refuses a misspelled option at compile time and at run time', async () => {
    // @ts-expect-error `delimeter` is no CSV option
    const misspelled = exportRows(rows, { format: 'csv', delimeter: ';' });
    await expect(read(misspelled)).rejects.toMatchObject({ code: 'invalid_option' });
    // @ts-expect-error `sheetName` belongs to XLSX, not CSV
    const misplaced = exportRows(rows, { format: 'csv', sheetName: 'x' });
    await expect(read(misplaced)).rejects.toMatchObject({ code: 'invalid_option' });
    // @ts-expect-error JSON has no header row
    const json = exportRows(rows, { format: 'json', header: false });
    await expect(read(json)).rejects.toMatchObject({ code: 'invalid_option' });
    // @ts-expect-error a line ending is CRLF or LF
    const ending = exportRows(rows, { format: 'csv', lineEnding: '\r' });
    await expect(read(ending)).rejects.toMatchObject({ code: 'invalid_option' });
  });

  it('keeps XlsxOptions assignable to FormatOptions, as it was', () => {
    const options: XlsxOptions = { sheetName: 'Data', custom: 1 };
    const open: FormatOptions = options;
    expect(checkFormatOptions(getFormat('xlsx'), { sheetName: open.sheetName })).toEqual({
      sheetName: 'Data',
    });
  });

  it('leaves options open for a format known only at run time or a writer of your own', async () => {
    const name: string = 'csv';
    const loose: ExportOptions = { format: name, delimiter: ';' };
    expect(await read(exportRows(rows, loose))).toBe('a\r\n1\r\n');
    const custom: FormatWriter = {
      name: 'lines',
      contentType: 'text/plain',
      extension: 'txt',
      options: { prefix: { type: 'string' } },
      async *write(batches, ctx) {
        for await (const batch of batches) {
          for (const row of batch) yield Buffer.from(`${ctx.options.prefix}${JSON.stringify(row)}\n`);
        }
      },
    };
    expect(await read(exportRows(rows, { format: custom, prefix: '> ' }))).toBe('> {"a":1}\n');
  });
});
