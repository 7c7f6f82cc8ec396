import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { exportRows } from '../../../src/pipeline.js';

type ExportArgs = Parameters<typeof exportRows>;

/** Every byte of a stream. */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The file `exportRows` produces, as UTF-8 text. */
export async function exportText(rows: ExportArgs[0], options: ExportArgs[1]): Promise<string> {
  return (await collect(exportRows(rows, options))).toString('utf8');
}

/** The error a stream ends with (fails when it ends without one). */
export async function streamError(stream: Readable): Promise<Error & { code?: string }> {
  try {
    await collect(stream);
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('the stream ended without an error');
}

/** Records of a CSV/TSV text, read by csv-parse (the independent reader). */
export function readCsv(text: string, delimiter = ','): string[][] {
  return parse(text, { delimiter, bom: false, relax_column_count: false }) as string[][];
}
