/**
 * `takeout export --async`: the flags of an export run as a job of the service at `--url`
 * (or `--attach` to one that exists), checked before any request; remote-export.ts runs it.
 * Loaded only for `--async`, with the HTTP client.
 */
import { parseDurationMs } from '../durations.js';
import { builtinFormats } from '../formats/index.js';
import { paramsOf, type Values } from './export-origin.js';
import { rawRequestOf, refuseFlagsOfOtherFormats } from './export-request.js';
import { outTargetOf, refuseBinaryOnTerminal } from './output.js';
import { RemoteProblem, serviceUrl } from './remote-client.js';
import { remoteExport } from './remote-export.js';
import { type CliIo, invalidFlag, UsageError } from './usage.js';

/** What an export request is made of: with --attach the request is the existing job's. */
const REQUEST_FLAGS = [
  'format',
  'dataset',
  'param',
  'columns',
  'timezone',
  'delimiter',
  'locale',
  'line-ending',
  'bom',
  'no-header',
  'excel',
  'no-escape-formulas',
  'sheet-name',
  'options',
] as const;

/** `--retry-for DURATION`: how long a request is retried through an outage (0: not at all). */
function retryForOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  if (ms === undefined || ms < 0) {
    throw invalidFlag('retry-for', '--retry-for is a duration, like 30s, 5m or 0 (no retries)');
  }
  return ms;
}

/** `--async`: the export runs as a job of the service at `--url`, for one of its datasets. */
export async function asyncExport(values: Values, io: CliIo): Promise<number> {
  const fromFlag = values.url !== undefined;
  const url = (values.url as string | undefined) ?? io.env.TAKEOUT_URL;
  if (!url) throw new UsageError('--async needs the service: --url URL or TAKEOUT_URL');
  const local = ['sqlite', 'postgres', 'config', 'input', 'query', 'copy', 'principal'].filter(
    (k) => values[k] !== undefined,
  );
  if (local.length > 0) {
    throw new UsageError(
      `--async exports a dataset of the service; ${local.map((k) => `--${k}`).join(', ')} ${local.length === 1 ? 'does' : 'do'} not apply${local.includes('principal') ? ' (the service knows the caller from --token)' : ''}`,
    );
  }
  const attach = values.attach as string | undefined;
  if (attach !== undefined) {
    const given = REQUEST_FLAGS.filter((k) => values[k] !== undefined);
    if (given.length > 0) {
      throw new UsageError(
        `--attach follows an export that exists, as it was asked; ${given.map((k) => `--${k}`).join(', ')} ${given.length === 1 ? 'does' : 'do'} not apply`,
      );
    }
  } else if (!values.dataset) {
    throw new UsageError("--async needs --dataset NAME (one of the service's datasets)");
  }
  // Said as the flag typed, as a local export says it (the service would name the option).
  if (values.format !== undefined) refuseFlagsOfOtherFormats(values, builtinFormats());
  const retryForMs = retryForOf(values['retry-for'] as string | undefined);
  // Refused before any request: a URL's password would be sent, and echoed by fetch's errors.
  serviceUrl(url, fromFlag ? '--url' : 'TAKEOUT_URL');
  const out = values.out === undefined ? undefined : await outTargetOf(values.out as string);
  // With --attach the format is the job's: XLSX to a terminal is refused once it is known.
  if (values.format !== undefined) refuseBinaryOnTerminal(values.format as string, out, io);
  const token = (values.token as string | undefined) ?? io.env.TAKEOUT_TOKEN;
  const tokenFrom = values.token !== undefined ? '--token' : 'TAKEOUT_TOKEN';
  return remoteExport(
    {
      url,
      token,
      job:
        attach !== undefined
          ? { attach }
          : {
              body: rawRequestOf(values, {
                dataset: values.dataset as string,
                params: paramsOf(values.param as string[] | undefined),
              }),
            },
      out,
      ...(retryForMs !== undefined ? { retryForMs } : {}),
      ...(io.interrupt ? { interrupt: io.interrupt } : {}),
    },
    io,
  ).catch((error: unknown) => {
    throw withTokenHint(error, token === undefined ? undefined : tokenFrom);
  });
}

/** A 401 said in the CLI's words: which flag gives a token, or which one was refused. */
function withTokenHint(error: unknown, tokenFrom: string | undefined): unknown {
  if (!(error instanceof RemoteProblem) || error.code !== 'unauthorized') return error;
  const hint =
    tokenFrom === undefined
      ? 'give a token with --token or TAKEOUT_TOKEN (an operator makes one with takeout token)'
      : `the token of ${tokenFrom} was refused`;
  return new RemoteProblem(error.code, `${hint}: ${error.message}`, error.status);
}
