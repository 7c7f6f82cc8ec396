import { realpath } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Principal } from '../datasets/define.js';
import { isTakeoutError, TakeoutError } from '../errors.js';
import { type ExportContext, planExport } from '../exports/plan.js';
import { runExport } from '../exports/run.js';
import { builtinFormats } from '../formats/index.js';
import { originOf, type SourceFile } from './export-origin.js';
import { requestOf } from './export-request.js';
import { parsePrincipal, refuseEmpty } from './flags.js';
import { interruptedExit, interruptedText, onStopSignals } from './interrupt.js';
import { badOut, type OutTarget, outTargetOf, refuseBinaryOnTerminal, writeOut } from './output.js';
import { progressPrinter } from './progress.js';
import { type CliIo, RequestError, UsageError } from './usage.js';

export const EXPORT_USAGE = `Usage: takeout export --format csv|tsv|json|ndjson|xlsx --out FILE [source] [options]
       takeout export --async --url URL [--token TOKEN] --format F --dataset NAME [--out FILE] [options]
       takeout export --async --url URL [--token TOKEN] --attach ID [--out FILE]

Sources (one):
  [--input FILE]                rows as NDJSON or a JSON array (default: stdin)
  --sqlite DB --query SQL       a query on a SQLite file (opened read-only)
  --postgres URL --query SQL    a query on PostgreSQL (URL also from DATABASE_URL when given as "env")
  --config FILE --dataset NAME  a dataset from a config file
  --principal ID[:TENANT]       who exports it: binds a scoped dataset's scope (default: "cli", no tenant)
  --param NAME=VALUE            a query or dataset parameter (repeatable)
  --copy                        PostgreSQL: stream CSV/TSV through COPY where it applies: faster, but
                                dates, floats and JSON as PostgreSQL writes them (docs/postgres.md)

Options:
  --out FILE          output file, "-" for stdout (written to a temp name, renamed when complete,
                      keeping the old file's mode; devices and named pipes are written in place)
  --columns a,b,c     columns to write, in order
  --timezone ZONE     IANA zone for datetimes (default UTC)
  --delimiter CHAR    CSV delimiter (tab)    --locale TAG   decimal comma locales use ";"
  --line-ending lf|crlf                      --bom          start with a UTF-8 BOM
  --no-header         no header row          --excel        BOM + CRLF (Excel preset)
  --no-escape-formulas  write formula-looking text as it is
  --sheet-name NAME   XLSX sheet name
  --options JSON      any format option, as in the HTTP request's "options" (docs/formats.md)

Background export on a running service (--async):
  --url URL           the service (also TAKEOUT_URL), e.g. https://takeout.example.com (no
                      user:password@ in it: the token goes in --token)
  --token TOKEN       its API token or JWT (also TAKEOUT_TOKEN)
  --dataset NAME      one of the service's datasets (GET /v1/datasets), with --param
  --out FILE          default: the export's file name, in this directory (never replaced)
  --attach ID         follow export ID (yours, made before) and download its file, instead of
                      asking for a new one; Ctrl-C leaves it running
  --retry-for DUR     how long to keep trying a request while the service is unreachable or
                      answers 429, 502, 503 or 504 (default 2m; 0: never)
  Shows a progress bar, then downloads the file and checks its SHA-256. Exit 0 when it is
  written, 1 when the export failed, was canceled or expired (takeout: <code>: <reason>),
  130 on Ctrl-C, which cancels the job (a second Ctrl-C exits at once); SIGTERM and SIGHUP
  do the same, exiting 143 and 129. Given up on, a job that goes on is named, with the
  --attach that follows it again.`;

const UNLIMITED = {
  syncMaxRows: Number.MAX_SAFE_INTEGER,
  syncMaxCells: Number.MAX_SAFE_INTEGER,
  syncMaxBytes: Number.MAX_SAFE_INTEGER,
};

/** Who the CLI exports as, without --principal: datasets scoped to a tenant stay hidden. */
const CLI_PRINCIPAL: Principal = { id: 'cli' };

const OPTIONS = {
  format: { type: 'string', short: 'f' },
  out: { type: 'string', short: 'o' },
  input: { type: 'string', short: 'i' },
  sqlite: { type: 'string' },
  postgres: { type: 'string' },
  config: { type: 'string' },
  dataset: { type: 'string' },
  principal: { type: 'string' },
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
  attach: { type: 'string' },
  'retry-for': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The library's "give columns" said in the CLI's words: the flag that gives them. */
const COLUMNS_WORDING: [RegExp, string][] = [
  [
    /^rows given as arrays need columns$/,
    'rows given as arrays need --columns a,b,c (a name for each cell, in order)',
  ],
  [/: give columns$/, ': give --columns a,b,c'],
];

function withFlagNames(error: unknown): unknown {
  if (!isTakeoutError(error) || error.code !== 'invalid_columns') return error;
  for (const [pattern, replacement] of COLUMNS_WORDING) {
    if (pattern.test(error.message))
      return new TakeoutError('invalid_columns', error.message.replace(pattern, replacement), {
        cause: error,
      });
  }
  return error;
}

/**
 * Codes that, while the export is planned, can only be about a flag (`--columns`, `--param`,
 * `--dataset`, `--timezone`, format options): a wrong command line, exit 2 (docs/errors.md).
 * The same codes later, on a row of the data, stay exit 1.
 */
const FLAG_CODES = new Set([
  'invalid_columns',
  'invalid_params',
  'unknown_dataset',
  'invalid_option',
  'invalid_timezone',
  'unknown_format',
]);

function asFlagError(error: unknown, codes: ReadonlySet<string> = FLAG_CODES): unknown {
  return isTakeoutError(error) && codes.has(error.code) ? new RequestError(error) : error;
}

/** What a source finds wrong as it runs that is still a flag's: --query's --param. */
const QUERY_PARAM_CODES: ReadonlySet<string> = new Set(['invalid_params']);

/**
 * `--out` naming a file the rows come from would replace it: one swapped word loses a
 * database. Whichever way it was named: a flag, TAKEOUT_CONFIG, a dataset's connection.
 */
async function refuseOutOverSource(
  target: OutTarget,
  out: string,
  files: readonly SourceFile[],
): Promise<void> {
  if (target.kind !== 'replace') return;
  for (const file of files) {
    const real = await realpath(file.path).catch(() => undefined);
    if (real === target.path) throw badOut(out, `is ${file.what}; give another file`);
  }
}

export async function exportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: OPTIONS });
  if (values.help) {
    io.stdout.write(`${EXPORT_USAGE}\n`);
    return 0;
  }
  refuseEmpty(values);
  if (values.attach !== undefined && !values.async) throw new UsageError('--attach goes with --async');
  if (values.async && values.attach !== undefined)
    return (await import('./export-async.js')).asyncExport(values, io);
  if (!values.format) throw new UsageError('--format is required');
  if (values.async) return (await import('./export-async.js')).asyncExport(values, io);
  if (values.url || values.token || values['retry-for'] !== undefined)
    throw new UsageError('--url, --token and --retry-for go with --async');
  if (!values.out) throw new UsageError('--out is required ("-" for stdout)');
  const principal = values.principal ? parsePrincipal(values.principal, '--principal') : CLI_PRINCIPAL;
  const formats = builtinFormats();
  const origin = await originOf(values, io, principal);
  const request = requestOf(values, origin, formats);
  // Checked before the export runs, not found wrong (as ENOENT on a temp name) after it.
  const target = await outTargetOf(values.out);
  await refuseOutOverSource(target, values.out, origin.files);
  refuseBinaryOnTerminal(request.format, target, io);
  const fromStdin = origin.rows && (values.input === undefined || values.input === '-');
  if (fromStdin && (io.stdin as { isTTY?: boolean }).isTTY) {
    // Without a source the rows come from stdin: on a terminal that looks like a hang.
    io.stderr.write(
      'takeout: reading rows from stdin (NDJSON or a JSON array; Ctrl-D ends them); give --input FILE or a source, see takeout export --help\n',
    );
  }
  const context: ExportContext = { datasets: origin.datasets, formats, limits: UNLIMITED, env: io.env };
  const plan = await planExport(request, principal, context, { rows: origin.rows, estimate: false }).catch(
    (error: unknown) => {
      throw asFlagError(withFlagNames(error));
    },
  );
  const stops = io.interrupt ? undefined : onStopSignals();
  const signal = io.interrupt ?? (stops as { signal: AbortSignal }).signal;
  // Rows printed on the terminal that shows the progress line would be torn by its rewrites.
  const dataOnTerminal = target.kind === 'stdout' && io.stdout.isTTY === true;
  const onProgress = dataOnTerminal ? () => {} : progressPrinter(io.stderr);
  try {
    await writeOut(target, { stdout: io.stdout, binary: plan.format.name === 'xlsx' }, async (sink) => {
      await runExport(plan, (body) => sink(body), { onProgress, signal });
    });
  } catch (error) {
    // A parameter the source finds missing as it runs can only be --query's --param.
    if (!signal.aborted)
      throw asFlagError(withFlagNames(error), values.query ? QUERY_PARAM_CODES : new Set());
    io.stderr.write(
      `\ntakeout: ${interruptedText(signal)}${target.kind === 'replace' ? '; no file written' : ''}\n`,
    );
    return interruptedExit(signal);
  } finally {
    stops?.dispose();
    // An interrupted source may be stuck reading stdin, which stays open: not waited for.
    if (signal.aborted) void plan.close().catch(() => {});
    else await plan.close();
  }
  return 0;
}
