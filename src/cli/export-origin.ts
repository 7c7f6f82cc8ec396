/**
 * Where `takeout export` takes its rows from: `--input`/stdin, `--sqlite`/`--postgres` with
 * `--query`, or a dataset of `--config`; each flag checked before anything is opened.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { loadDatasetsFile } from '../datasets/config-file.js';
import { type Dataset, defineDataset, type Principal } from '../datasets/define.js';
import { checkDatasetConnections } from '../datasets/preflight.js';
import { DatasetRegistry, isVisible } from '../datasets/registry.js';
import { postgresUrlProblem } from '../sources/postgres-url.js';
import { sqliteSource } from '../sources/sqlite.js';
import type { Row } from '../types.js';
import { readRows } from './input.js';
import { type CliIo, invalidFlag, UsageError } from './usage.js';

export type Values = Record<string, string | string[] | boolean | undefined>;

/** Where the rows come from: a dataset (named in the request) or the rows read from input. */
export interface Origin {
  datasets: DatasetRegistry;
  dataset?: string;
  params?: Record<string, string>;
  rows?: AsyncIterable<Row>;
  /** The files the rows come from (and what they are to the user), which `--out` must not replace. */
  files: SourceFile[];
}

export interface SourceFile {
  path: string;
  /** As the user knows it: `the --sqlite file`, `dataset orders's SQLite database`. */
  what: string;
}

/**
 * `--param` values for SQLite: text that is a number written the way JavaScript writes it
 * (`25`, `-1.5`; not `007`, `1.50` or `1e3`) is bound as that number. PostgreSQL types an
 * untyped parameter from where it is used; SQLite compares a number with text as unequal
 * (`amount * 2 > '25'` is false for every row), and converting only canonical spellings keeps
 * text that merely looks numeric (`007`) as the text it is compared with.
 */
function numbersAsNumbers(params: Record<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [name, text] of Object.entries(params)) {
    const number = Number(text);
    out[name] = Number.isFinite(number) && String(number) === text ? number : text;
  }
  return out;
}

export function paramsOf(entries: string[] = []): Record<string, string> {
  const params: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes NAME=VALUE, got ${JSON.stringify(entry)}`);
    const name = entry.slice(0, eq);
    // A parameter has one value: the second would silently win over the first.
    if (Object.hasOwn(params, name)) throw new UsageError(`--param ${name} is given twice; give it once`);
    params[name] = entry.slice(eq + 1);
  }
  return params;
}

/** `--input`, `--sqlite`, `--config FILE` must be a readable file: said before the export, naming the flag. */
async function checkFile(flag: 'input' | 'sqlite' | 'config', path: string): Promise<void> {
  const found = await stat(path).catch(() => undefined);
  if (!found && /^[a-z][a-z\d+.-]*:\/\//i.test(path)) {
    // A URL (not a file that happens to be named like one): nothing is fetched.
    const instead =
      flag === 'input' ? 'pipe the rows in (curl -fsSL URL | takeout export ...)' : 'give a file';
    throw invalidFlag(flag, `--${flag} ${path} is a URL, and URLs are not fetched: ${instead}`);
  }
  if (!found) throw invalidFlag(flag, `--${flag} ${path}: no such file`);
  if (found.isDirectory()) throw invalidFlag(flag, `--${flag} ${path} is a directory`);
  try {
    await access(path, constants.R_OK);
  } catch {
    throw invalidFlag(flag, `--${flag} ${path} cannot be read (permission denied)`);
  }
}

/**
 * A dataset the principal cannot see: for want of an attribute its scope binds, say which flag
 * helps; refused by its `visibleTo`, say that.
 */
function scopedHint(datasets: Dataset[], name: string, principal: Principal, given: boolean): void {
  const dataset = datasets.find((d) => d.name === name);
  if (!dataset || isVisible(dataset, principal)) return;
  if (!(dataset.visibleTo?.(principal) ?? true)) {
    throw new UsageError(
      `--dataset ${name} is not visible to ${given ? 'this --principal' : `the CLI's principal (${principal.id})`}: its visibleTo refuses it`,
    );
  }
  const attributes = [...new Set(Object.values(dataset.scope))];
  if (attributes.length === 0) return;
  const needs = attributes.includes('tenant') ? 'ID:TENANT' : 'ID';
  throw new UsageError(
    `--dataset ${name} is scoped to the principal's ${attributes.join(', ')}: ${given ? 'this --principal has none' : `give --principal ${needs}`}`,
  );
}

export async function originOf(values: Values, io: CliIo, principal: Principal): Promise<Origin> {
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
  if (values.principal !== undefined && configFile === undefined)
    throw new UsageError('--principal goes with a dataset of --config (its scope is bound from it)');
  if (database) {
    if (!query) throw new UsageError('--query is required with --sqlite or --postgres');
    const url = values.postgres === 'env' ? io.env.DATABASE_URL : (values.postgres as string | undefined);
    if (values.postgres !== undefined && !url) throw new UsageError('--postgres env needs DATABASE_URL');
    const problem = url && postgresUrlProblem(url, values.postgres === 'env' ? 'DATABASE_URL' : '--postgres');
    if (problem) throw invalidFlag('postgres', problem);
    if (values.sqlite !== undefined) await checkFile('sqlite', values.sqlite as string);
    // A query on the command line is a dataset of its own, its parameters bound as given.
    const adHoc = defineDataset({
      name: 'query',
      source: async () => {
        if (values.sqlite !== undefined)
          return sqliteSource({
            database: values.sqlite as string,
            sql: query,
            params: numbersAsNumbers(params),
          });
        const { postgresSource } = await import('../sources/postgres.js');
        return postgresSource({
          connectionString: url,
          sql: query,
          params,
          ...(values.copy ? { copy: true } : {}),
        });
      },
    });
    const files =
      values.sqlite !== undefined ? [{ path: values.sqlite as string, what: 'the --sqlite file' }] : [];
    return { datasets: new DatasetRegistry([adHoc]), dataset: 'query', files };
  }
  if (configFile !== undefined) {
    if (!values.dataset) throw new UsageError('--dataset is required with --config');
    if (values.config !== undefined) await checkFile('config', configFile as string);
    const datasets = await loadDatasetsFile(configFile as string);
    scopedHint(datasets, values.dataset as string, principal, values.principal !== undefined);
    // As `serve` checks them at start, naming the file and the member: the chosen one only
    // (the others may need variables this shell does not have).
    const chosen = datasets.filter((dataset) => dataset.name === values.dataset);
    checkDatasetConnections(chosen, configFile as string, io.env);
    const files: SourceFile[] = [
      {
        path: configFile as string,
        what: values.config !== undefined ? 'the --config file' : 'the TAKEOUT_CONFIG file',
      },
    ];
    const connection = chosen[0]?.connection;
    if (connection && 'sqlite' in connection) {
      files.push({ path: connection.sqlite, what: `the SQLite database of dataset ${values.dataset}` });
    }
    return { datasets: new DatasetRegistry(datasets), dataset: values.dataset as string, params, files };
  }
  if (query) throw new UsageError('--query needs --sqlite or --postgres');
  const input = values.input as string | undefined;
  if (input !== undefined && input !== '-') await checkFile('input', input);
  const files = input !== undefined && input !== '-' ? [{ path: input, what: 'the --input file' }] : [];
  return { datasets: new DatasetRegistry(), rows: readRows(input, io.stdin), files };
}
