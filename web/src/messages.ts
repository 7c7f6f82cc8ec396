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
  source_query_error: 'The data source refused the query for these filters.',
  export_not_found: 'This export no longer exists.',
  invalid_link: 'This link to an export is not valid. Check that it was copied whole.',
  export_not_ready: 'The file is not ready yet.',
  export_not_downloadable: 'This export has no file to download (it failed or was canceled).',
  export_expired: 'The file was deleted after its retention period. Please export again.',
  job_timeout: 'The export took longer than allowed and was stopped. Narrow it down and try again.',
  body_too_large: 'The request is too large.',
  internal: 'Something went wrong on the server. Please try again; if it persists, contact support.',
};

/** The sentence for a problem: a known code's own, else the server's detail, else its title. */
export function sentenceFor(problem: Problem): string {
  let sentence = SENTENCES[problem.code] ?? problem.detail ?? problem.title ?? 'Something went wrong.';
  if (problem.retryAfter && /try again/i.test(sentence)) {
    sentence += ` (in about ${problem.retryAfter} s)`;
  }
  return sentence;
}

/** Why an export failed, as the panel and the list show it: the sentence and the code for support. */
export function failureText(error: { code: string; message: string }): string {
  return `${sentenceFor({ status: 0, code: error.code, detail: error.message })} (code ${error.code})`;
}
