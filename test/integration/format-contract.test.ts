import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import * as XLSX from 'xlsx';
import { builtinFormats } from '../../src/formats/index.js';
import { type FormatReader, formatContract } from '../contracts/formats.js';

// Independent readers, one per registered format.
const readers: Record<string, FormatReader> = {
  csv: (bytes) => parse(bytes, { columns: true, bom: true }),
  tsv: (bytes) => parse(bytes, { columns: true, bom: true, delimiter: '\t' }),
  json: (bytes) => JSON.parse(bytes.toString('utf8')),
  ndjson: (bytes) =>
    bytes
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line)),
  xlsx: (bytes) => {
    const book = XLSX.read(bytes, { type: 'buffer' });
    return XLSX.utils.sheet_to_json(book.Sheets[book.SheetNames[0]!]!, { defval: '' });
  },
};

const formats = builtinFormats().all();

describe('format contract coverage', () => {
  it('has a reader for every registered format', () => {
    expect(formats.map((f) => f.name).filter((name) => !readers[name])).toEqual([]);
  });
});

for (const format of formats) formatContract(format, readers[format.name]!);
