import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { loadDatasetsFile } from '../datasets/config-file.js';
import { defineDataset } from '../datasets/define.js';
import { DatasetRegistry } from '../datasets/registry.js';
import { isTakeoutError } from '../errors.js';
import { type ExportContext, type ExportPlan, planExport } from '../exports/plan.js';
import { type ExportRequest, parseExportRequest } from '../exports/request.js';
import { runExport } from '../exports/run.js';
import { builtinFormats } from '../formats/index.js';
import type { FormatRegistry } from '../formats/registry.js';
import { sqliteSource } from '../sources/sqlite.js';
import type { Row } from '../types.js';
import { readRows } from './input.js';
import { INTERRUPTED, onSigint, removedOnExit } from './interrupt.js';
import { progressPrinter } from './progress.js';
import { type CliIo, RequestError, UsageError } from './usage.js';

export const EXPORT_USAGE = `Usage: takeout export --format csv|tsv|json|ndjson|xlsx --out FILE [source] [options]
       takeout export --async --url URL [--token TOKEN] --format F --dataset NAME [--out FILE] [options]

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
  --sheet-name NAME   XLSX sheet name
  --options JSON      any format option, as in the HTTP request's "options" (docs/formats.md)

Background export on a running service (--async):
  --url URL           the service (also TAKEOUT_URL), e.g. https://takeout.example.com
  --token TOKEN       its API token or JWT (also TAKEOUT_TOKEN)
  --dataset NAME      one of the service's datasets (GET /v1/datasets), with --param
  --out FILE          default: the export's file name, in this directory (never replaced)
  Shows a progress bar, then downloads the file and checks its SHA-256. Exit 0 when it is
  written, 1 when the export failed, was canceled or expired (takeout: <code>: <reason>),
  130 on Ctrl-C, which cancels the job (a second Ctrl-C exits at once).`;

function paramsOf(entries: string[] = []): Record<string, string> {
  const params: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes NAME=VALUE, got ${JSON.stringify(entry)}`);
    params[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return params;
}

/** Where the rows come from: a dataset (named in the request) or the rows read from input. */
interface Origin {
  datasets: DatasetRegistry;
  dataset?: string;
  params?: Record<string, string>;
  rows?: AsyncIterable<Row>;
}

type Values = Record<string, string | string[] | boolean | undefined>;

async function originOf(values: Values, io: CliIo): Promise<Origin> {
  const params = paramsOf(values.param as string[] | undefined);
  const query = values.query as string | undefined;
  const chosen = ['sqlite', 'postgres', 'config', 'input'].filter((k) => values[k] !== undefined);
  if (chosen.length > 1)
    throw new UsageError(`Give one source, not ${chosen.map((k) => `--${k}`).join(' and ')}`);
  // An option its source does not use is a mistake to report, not to drop: `--dataset` alone
  // used to read rows from stdin and write an empty file.
  const database = values.sqlite !== undefined || values.postgres !== undefined;
  if (values.copy && values.postgres === undefined) throw new UsageError('--copy goes with --postgres');
  if (values.dataset !== undefined && database)
    throw new UsageError('--dataset names a dataset of --config; with --sqlite or --postgres give --query');
  // `--dataset` without `--config` reads the config file the service reads.
  const configFile =
    values.config ?? (values.dataset !== undefined ? io.env.TAKEOUT_CONFIG || undefined : undefined);
  if (values.dataset !== undefined && configFile === undefined)
    throw new UsageError('--dataset needs --config (or TAKEOUT_CONFIG) to say where the dataset is defined');
  if (configFile !== undefined && (query || values.input !== undefined))
    throw new UsageError(`${query ? '--query' : '--input'} does not go with a dataset of --config`);
  if (values.param !== undefined && !database && configFile === undefined)
    throw new UsageError(
      '--param binds a dataset or --query parameter: give --dataset or --sqlite/--postgres with --query',
    );
  if (database) {
    if (!query) throw new UsageError('--query is required with --sqlite or --postgres');
    const url = values.postgres === 'env' ? io.env.DATABASE_URL : (values.postgres as string | undefined);
    if (values.postgres !== undefined && !url) throw new UsageError('--postgres env needs DATABASE_URL');
    // A query on the command line is a dataset of its own, its parameters bound as given.
    const adHoc = defineDataset({
      name: 'query',
      source: async () => {
        if (values.sqlite !== undefined)
          return sqliteSource({ database: values.sqlite as string, sql: query, params });
        const { postgresSource } = await import('../sources/postgres.js');
        return postgresSource({
          connectionString: url,
          sql: query,
          params,
          ...(values.copy ? { copy: true } : {}),
        });
      },
    });
    return { datasets: new DatasetRegistry([adHoc]), dataset: 'query' };
  }
  if (configFile !== undefined) {
    if (!values.dataset) throw new UsageError('--dataset is required with --config');
    return {
      datasets: new DatasetRegistry(await loadDatasetsFile(configFile as string)),
      dataset: values.dataset as string,
      params,
    };
  }
  if (query) throw new UsageError('--query needs --sqlite or --postgres');
  return { datasets: new DatasetRegistry(), rows: readRows(values.input as string | undefined, io.stdin) };
}

function optionsJson(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('--options takes a JSON object, e.g. {"delimiter":";"}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError('--options takes a JSON object, e.g. {"delimiter":";"}');
  return parsed as Record<string, unknown>;
}

/** The export request the flags describe, as `POST /v1/exports` takes it (not checked yet). */
function rawRequestOf(values: Values, origin: Omit<Origin, 'datasets'>): Record<string, unknown> {
  const lineEnding = values['line-ending'];
  if (lineEnding !== undefined && lineEnding !== 'lf' && lineEnding !== 'crlf') {
    throw new UsageError('--line-ending is lf or crlf');
  }
  const options: Record<string, unknown> = {
    ...optionsJson(values.options as string | undefined),
    ...(values.delimiter ? { delimiter: values.delimiter } : {}),
    ...(lineEnding ? { lineEnding: lineEnding === 'lf' ? '\n' : '\r\n' } : {}),
    ...(values.bom ? { bom: true } : {}),
    ...(values['no-header'] ? { header: false } : {}),
    ...(values.excel ? { preset: 'excel' } : {}),
    ...(values['no-escape-formulas'] ? { escapeFormulas: false } : {}),
    ...(values['sheet-name'] ? { sheetName: values['sheet-name'] } : {}),
  };
  return {
    format: values.format,
    ...(origin.dataset ? { dataset: origin.dataset } : {}),
    ...(origin.params && Object.keys(origin.params).length > 0 ? { params: origin.params } : {}),
    ...(values.columns ? { columns: (values.columns as string).split(',').map((s) => s.trim()) } : {}),
    ...(values.timezone ? { timezone: values.timezone } : {}),
    ...(values.locale ? { locale: values.locale } : {}),
    ...(Object.keys(options).length > 0 ? { options } : {}),
  };
}

/** The export request the flags describe, checked by the same parser as HTTP requests. */
export function requestOf(values: Values, origin: Origin, formats: FormatRegistry): ExportRequest {
  const raw = rawRequestOf(values, origin);
  try {
    return parseExportRequest(raw, formats, { rowsApart: origin.rows !== undefined });
  } catch (error) {
    // A wrong option is a wrong command line (exit 2), with the message HTTP gives.
    if (isTakeoutError(error) && error.code === 'invalid_option') throw new RequestError(error);
    throw error;
  }
}

/**
 * Writes the plan to `out` ("-": stdout) through a temp file renamed when complete; an abort
 * (Ctrl-C) stops the export and removes the temp file.
 */
async function writeTo(out: string, plan: ExportPlan, io: CliIo, signal: AbortSignal): Promise<void> {
  const onProgress = progressPrinter(io.stderr);
  if (out === '-') {
    await runExport(plan, (body) => pipeline(body, io.stdout, { end: false }), { onProgress, signal });
    return;
  }
  const temp = `${out}.${process.pid}.partial`;
  const registered = removedOnExit(temp);
  try {
    await runExport(plan, createWriteStream(temp), { onProgress, signal });
    await rename(temp, out);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    registered();
  }
}

const UNLIMITED = {
  syncMaxRows: Number.MAX_SAFE_INTEGER,
  syncMaxCells: Number.MAX_SAFE_INTEGER,
  syncMaxBytes: Number.MAX_SAFE_INTEGER,
};

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
      options: { type: 'string' },
      async: { type: 'boolean' },
      url: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${EXPORT_USAGE}\n`);
    return 0;
  }
  if (!values.format) throw new UsageError('--format is required');
  if (values.async) return asyncExport(values, io);
  if (values.url || values.token) throw new UsageError('--url and --token go with --async');
  if (!values.out) throw new UsageError('--out is required ("-" for stdout)');
  const formats = builtinFormats();
  const origin = await originOf(values, io);
  const request = requestOf(values, origin, formats);
  const context: ExportContext = { datasets: origin.datasets, formats, limits: UNLIMITED, env: io.env };
  const plan = await planExport(request, { id: 'cli' }, context, { rows: origin.rows, estimate: false });
  const sigint = io.interrupt ? undefined : onSigint();
  const signal = io.interrupt ?? (sigint as { signal: AbortSignal }).signal;
  try {
    await writeTo(values.out, plan, io, signal);
  } catch (error) {
    if (!signal.aborted) throw error;
    io.stderr.write(`\ntakeout: interrupted${values.out === '-' ? '' : '; no file written'}\n`);
    return INTERRUPTED;
  } finally {
    sigint?.dispose();
    // An interrupted source may be stuck reading stdin, which stays open: not waited for.
    if (signal.aborted) void plan.close().catch(() => {});
    else await plan.close();
  }
  return 0;
}

/** `--async`: the export runs as a job of the service at `--url`, for one of its datasets. */
async function asyncExport(values: Values, io: CliIo): Promise<number> {
  const url = (values.url as string | undefined) ?? io.env.TAKEOUT_URL;
  if (!url) throw new UsageError('--async needs the service: --url URL or TAKEOUT_URL');
  const local = ['sqlite', 'postgres', 'config', 'input', 'query', 'copy'].filter(
    (k) => values[k] !== undefined,
  );
  if (local.length > 0) {
    throw new UsageError(
      `--async exports a dataset of the service; ${local.map((k) => `--${k}`).join(', ')} do not apply`,
    );
  }
  if (!values.dataset) throw new UsageError("--async needs --dataset NAME (one of the service's datasets)");
  const body = rawRequestOf(values, {
    dataset: values.dataset as string,
    params: paramsOf(values.param as string[] | undefined),
  });
  const { remoteExport } = await import('./remote-export.js');
  return remoteExport(
    {
      url,
      token: (values.token as string | undefined) ?? io.env.TAKEOUT_TOKEN,
      body,
      out: values.out as string | undefined,
      ...(io.interrupt ? { interrupt: io.interrupt } : {}),
    },
    io,
  );
}
