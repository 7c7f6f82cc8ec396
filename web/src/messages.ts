/** Problems as sentences a person understands; the code stays visible for support. */
import type { Problem } from './api.js';

const SENTENCES: Record<string, string> = {
  network_error: 'The server cannot be reached. Check your connection and try again.',
  unauthorized: 'Your sign-in was not accepted. Please sign in again.',
  auth_unavailable: 'Sign-in cannot be checked right now. Please try again in a minute.',
  forbidden: 'You are not allowed to do this.',
  host_not_allowed:
    'This address is not allowed in development mode. Open the page at 127.0.0.1 or localhost.',
  rate_limited: 'You made too many requests in a short time. Please wait a moment and try again.',
  too_many_exports: 'You already have several exports downloading. Wait for one to finish, then try again.',
  too_busy: 'The server is busy right now. Please try again in a moment.',
  invalid_params: 'Some filters are not valid. Please correct the highlighted field.',
  invalid_columns: 'The chosen columns are not valid for this dataset.',
  invalid_timezone: 'The time zone is not known to the server. Please pick another one.',
  unknown_dataset: 'This dataset is not available (any more). Reload the page to see the current list.',
  unknown_format: 'This file format is not available on this server.',
  sync_limit_exceeded:
    'This export is too large to download at once. Narrow it down with the filters or columns.',
  source_timeout: 'The data took too long to start arriving. Please try again or narrow the export.',
  source_error: 'The data source failed while the file was being made. Please try again later.',
  source_query_error: 'The data source could not produce this export.',
  export_not_found: 'This export no longer exists.',
  invalid_link: 'This link to an export is not valid. Check that it was copied whole.',
  export_not_ready: 'The file is not ready yet.',
  export_not_downloadable: 'This export has no file to download (it failed or was canceled).',
  export_expired:
    'The file is no longer available: it was deleted, or its retention period ended. Please export again.',
  download_interrupted:
    'The download stopped before the end of the file. Please try again, or tick "Prepare in the background".',
  job_timeout: 'The export took longer than allowed and was stopped. Narrow it down and try again.',
  body_too_large: 'The request is too large.',
  internal: 'Something went wrong on the server. Please try again; if it persists, contact support.',
};

/** For an answer without a problem document (a proxy's page, an empty 503): what its status says. */
const BY_STATUS: Record<number, string | undefined> = {
  429: SENTENCES.rate_limited,
  502: SENTENCES.network_error,
  503: SENTENCES.too_busy,
  504: SENTENCES.network_error,
};

/**
 * The sentence for a problem: a known code's own, else the server's detail, else its title,
 * else what its status says.
 */
export function sentenceFor(problem: Problem): string {
  let sentence =
    SENTENCES[problem.code] ??
    problem.detail ??
    problem.title ??
    BY_STATUS[problem.status] ??
    'Something went wrong.';
  if (problem.retryAfter && /try again/i.test(sentence)) {
    sentence += ` (in about ${problem.retryAfter} s)`;
  }
  return sentence;
}

/**
 * Codes whose server detail speaks to the developer (how to send a token, which host header),
 * not to the person using the page: their sentence says it all.
 */
const DEVELOPER_DETAIL = new Set(['unauthorized', 'host_not_allowed']);

/**
 * The server's own words about a problem, when they are for the page's user. The parameter it
 * is about is named by its field's label (`paramLabel`), when the form has that field.
 */
export function detailFor(
  problem: Problem,
  paramLabel?: (param: string) => string | undefined,
): string | undefined {
  if (DEVELOPER_DETAIL.has(problem.code)) return undefined;
  const label = problem.param === undefined ? undefined : paramLabel?.(problem.param);
  return problem.detail && problem.param && label
    ? withLabel(problem.detail, problem.param, label)
    : problem.detail;
}

/**
 * The API names a parameter as the request does (`Parameter "min_amount" must…`): the page
 * says it as its label does ("Min amount must…").
 */
export function withLabel(text: string, param: string, label: string): string {
  const quoted = JSON.stringify(param);
  return text.replace(`Parameter ${quoted}`, label).replaceAll(quoted, `"${label}"`);
}

/**
 * Why an export failed, as the panel and the list show it: the sentence, the server's reason
 * (which row, which value: what the sentence cannot know) and the code for support.
 */
export function failureText(error: { code: string; message: string }): string {
  const sentence = sentenceFor({ status: 0, code: error.code, detail: error.message });
  // An internal error's message is only "Internal error": the sentence says more.
  const told = error.code === 'internal' || !error.message || sentence.includes(error.message);
  const reason = told ? '' : ` ${error.message}`;
  return `${sentence}${reason} (code ${error.code})`;
}
