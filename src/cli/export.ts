import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { loadDatasetsFile } from '../datasets/config-file.js';
import { DatasetRegistry, openDatasetSource } from '../datasets/registry.js';
import { exportSource } from '../pipeline.js';
import { rowsSource } from '../sources/rows.js';
import { sqliteSource } from '../sources/sqlite.js';
import type { Source } from '../types.js';
import { readRows } from './input.js';
import { progressPrinter } from './progress.js';
import { type CliIo, UsageError } from './usage.js';

export const EXPORT_USAGE = `Usage: takeout export --format csv|tsv|json|ndjson|xlsx --out FILE [source] [options]

Sources (one):
  [--input FILE]                rows as NDJSON or a JSON array (default: stdin)
  --sqlite DB --query SQL       a query on a SQLite file (opened read-only)
  --postgres URL --query SQL    a query on PostgreSQL (URL also from DATABASE_URL when given as "env")
  --config FILE --dataset NAME  a dataset from a config file
  --param NAME=VALUE            a query or dataset parameter (repeatable)
  --copy                        PostgreSQL: stream CSV/TSV through COPY where it applies (docs/postgres.md)

Options:
  --out FILE          output file, "-" for stdout (written to a temp name, renamed when complete)
  --columns a,b,c     columns to write, in order
  --timezone ZONE     IANA zone for datetimes (default UTC)
  --delimiter CHAR    CSV delimiter          --locale TAG   decimal comma locales use ";"
  --line-ending lf|crlf                      --bom          start with a UTF-8 BOM
  --no-header         no header row          --excel        BOM + CRLF (Excel preset)
  --no-escape-formulas  write formula-looking text as it is
  --sheet-name NAME   XLSX sheet name`;

function paramsOf(entries: string[] = []): Record<string, string> {
  const params: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes NAME=VALUE, got ${JSON.stringify(entry)}`);
    params[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return params;
}

async function sourceOf(
  values: Record<string, string | string[] | boolean | undefined>,
  io: CliIo,
): Promise<Source> {
  const params = paramsOf(values.param as string[] | undefined);
  const query = values.query as string | undefined;
  const chosen = ['sqlite', 'postgres', 'config', 'input'].filter((k) => values[k] !== undefined);
  if (chosen.length > 1)
    throw new UsageError(`Give one source, not ${chosen.map((k) => `--${k}`).join(' and ')}`);
  if (values.sqlite !== undefined || values.postgres !== undefined) {
    if (!query) throw new UsageError('--query is required with --sqlite or --postgres');
    if (values.sqlite !== undefined)
      return sqliteSource({ database: values.sqlite as string, sql: query, params });
    const url = values.postgres === 'env' ? io.env.DATABASE_URL : (values.postgres as string);
    if (!url) throw new UsageError('--postgres env needs DATABASE_URL');
    const { postgresSource } = await import('../sources/postgres.js');
    return postgresSource({
      connectionString: url,
      sql: query,
      params,
      ...(values.copy ? { copy: true } : {}),
    });
  }
  if (values.config !== undefined) {
    if (!values.dataset) throw new UsageError('--dataset is required with --config');
    const registry = new DatasetRegistry(await loadDatasetsFile(values.config as string));
    const principal = { id: 'cli' };
    const dataset = registry.get(values.dataset, principal);
    return openDatasetSource(dataset, params, principal, { estimateCap: 0, env: io.env });
  }
  if (query) throw new UsageError('--query needs --sqlite or --postgres');
  return rowsSource(readRows(values.input as string | undefined, io.stdin));
}

export async function exportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      format: { type: 'string', short: 'f' },
      out: { type: 'string', short: 'o' },
      input: { type: 'string', short: 'i' },
      sqlite: { type: 'string' },
      postgres: { type: 'string' },
      config: { type: 'string' },
      dataset: { type: 'string' },
      query: { type: 'string', short: 'q' },
      param: { type: 'string', multiple: true, short: 'p' },
      columns: { type: 'string' },
      timezone: { type: 'string' },
      delimiter: { type: 'string' },
      locale: { type: 'string' },
      'line-ending': { type: 'string' },
      bom: { type: 'boolean' },
      'no-header': { type: 'boolean' },
      excel: { type: 'boolean' },
      'no-escape-formulas': { type: 'boolean' },
      'sheet-name': { type: 'string' },
      copy: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${EXPORT_USAGE}\n`);
    return 0;
  }
  if (!values.format) throw new UsageError('--format is required');
  if (!values.out) throw new UsageError('--out is required ("-" for stdout)');
  const lineEnding = values['line-ending'];
  if (lineEnding !== undefined && lineEnding !== 'lf' && lineEnding !== 'crlf') {
    throw new UsageError('--line-ending is lf or crlf');
  }
  const source = await sourceOf(values, io);
  const stream = exportSource(source, {
    format: values.format,
    ...(values.columns ? { columns: values.columns.split(',').map((s) => s.trim()) } : {}),
    ...(values.timezone ? { timezone: values.timezone } : {}),
    ...(values.delimiter ? { delimiter: values.delimiter } : {}),
    ...(values.locale ? { locale: values.locale } : {}),
    ...(lineEnding ? { lineEnding: lineEnding === 'lf' ? '\n' : '\r\n' } : {}),
    ...(values.bom ? { bom: true } : {}),
    ...(values['no-header'] ? { header: false } : {}),
    ...(values.excel ? { preset: 'excel' } : {}),
    ...(values['no-escape-formulas'] ? { escapeFormulas: false } : {}),
    ...(values['sheet-name'] ? { sheetName: values['sheet-name'] } : {}),
    onProgress: progressPrinter(io.stderr),
  });
  if (values.out === '-') {
    await pipeline(stream, io.stdout, { end: false });
    return 0;
  }
  const temp = `${values.out}.${process.pid}.partial`;
  try {
    await pipeline(stream, createWriteStream(temp));
    await rename(temp, values.out);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return 0;
}
