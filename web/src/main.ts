/** The export page: sign-in, the export form, the running export and "My exports". */

import { clearError, clearTransientError, isTransient, problemFrom, showError } from './alert.js';
import { ApiError, type DatasetDescription, getExport, type JobDocument, listDatasets } from './api.js';
import { downloadJob, saveBlob } from './download.js';
import { ExportForm } from './export-form.js';
import { requestExport } from './exporter.js';
import { bytes } from './format.js';
import { History } from './history.js';
import { JobFollower } from './job-follow.js';
import { linkedExportId } from './linked-export.js';
import { principalKey } from './principal.js';
import { acceptTokenFromParent, currentToken, setToken, takeTokenFromFragment } from './session.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const signIn = byId<HTMLElement>('sign-in');
const exportSection = byId<HTMLElement>('export');
const sessionNote = byId<HTMLElement>('session-note');
const signOut = byId<HTMLButtonElement>('sign-out');
const exportButton = byId<HTMLButtonElement>('export-button');
const exportState = byId<HTMLElement>('export-state');
/** "Loading datasets…" while the page has nothing to show yet (a polite live region). */
const pageStatus = byId<HTMLElement>('page-status');

/** Pause before the page asks again for what it may export, while the server does not answer. */
const START_RETRY_MS = 5000;

const form = new ExportForm();
let starts = 0;
/** Bumped when the user changes: answers asked for by the previous one are not shown. */
let session = 0;
/** Aborted when the user changes: a file asked for by the previous one is never saved. */
let sessionRequests = new AbortController();
/** Whose exports the page shows (principalKey); null: nobody's (nothing user-specific is shown). */
let shownFor: string | null = null;
/**
 * The export an emailed link (`#/exports/<id>`) points at, until someone is signed in to see it:
 * the sign-in that the link may ask for first must not lose it.
 */
let pendingLink: string | undefined;

const download = (job: JobDocument) => downloadJob(job, sessionRequests.signal);
const history = new History({
  download,
  changed: (job) => follower.updateIfShown(job),
  failed: (error) => handleError(error),
  recovered: () => clearTransientError(),
});
const follower = new JobFollower(
  { failed: (error) => handleError(error), changed: () => void history.refresh(), download },
  exportButton,
);

function handleError(error: unknown): void {
  if ((error as Error)?.name === 'AbortError') return;
  const problem = problemFrom(error);
  if (problem.code === 'unauthorized' && currentToken()) {
    setToken(undefined);
    showSignIn();
  }
  // A parameter is named as its field's label says, not as the request does.
  showError(error, (param) => form.paramLabel(param));
}

/**
 * Takes away everything of the user's: the next one must not see any of it, even briefly.
 * `signedOut`: the user left (Sign out, another user's token), so the address's link to their
 * export goes too; a refused or missing token keeps it, to be followed after the sign-in.
 */
function forgetUser(signedOut: boolean): void {
  session++;
  starts++; // a start under way was the previous user's
  sessionRequests.abort();
  sessionRequests = new AbortController();
  shownFor = null;
  if (signedOut) pendingLink = undefined;
  else pendingLink ??= linkedExportId(location.hash);
  follower.stop({ keepAddress: !signedOut });
  history.clear();
  form.clear();
  exportState.textContent = '';
  // A start under way is dropped with the user: its "Loading datasets…" goes too.
  pageStatus.textContent = '';
}

function showSignIn(signedOut = false): void {
  forgetUser(signedOut);
  signIn.hidden = false;
  exportSection.hidden = true;
  signOut.hidden = true;
  sessionNote.textContent = 'This server needs you to sign in.';
  byId<HTMLInputElement>('token').focus();
}

/** Loads what the caller may export; a 401 means this server wants a token. */
async function start(): Promise<void> {
  const token = currentToken();
  const principal = principalKey(token);
  // Another user's token (handed over by the embedding app or a fragment): theirs starts empty.
  // The same user's again (a renewed JWT) keeps the export followed and what was typed.
  if (shownFor !== null && shownFor !== principal) forgetUser(true);
  const same = shownFor === principal;
  // A token can arrive (postMessage) while an earlier look is under way: only the last counts.
  const run = ++starts;
  // A problem shown stays until the answer: one that is still there is not announced again.
  let datasets: DatasetDescription[];
  // Nothing to use yet (the page opened, a sign-in): say that it is on its way. It stays while
  // the page tries again by itself, so that it is not announced at every try.
  if (exportSection.hidden) pageStatus.textContent = 'Loading datasets…';
  try {
    datasets = (await listDatasets()).datasets;
    if (run !== starts) return;
    pageStatus.textContent = '';
    clearError();
  } catch (error) {
    if (run !== starts) return;
    const problem = problemFrom(error);
    if (!isTransient(problem)) pageStatus.textContent = '';
    if (error instanceof ApiError && error.problem.code === 'unauthorized') {
      setToken(undefined);
      showSignIn();
      if (token) showError(error);
      else clearError();
      return;
    }
    showError(error);
    // The server restarting or out of reach when the page opened: it tries again by itself.
    if (isTransient(problem)) {
      const retry = Math.max(START_RETRY_MS, (problem.retryAfter ?? 0) * 1000);
      setTimeout(() => {
        if (run === starts) void start();
      }, retry);
    }
    return;
  }
  shownFor = principal;
  signIn.hidden = true;
  exportSection.hidden = false;
  signOut.hidden = !currentToken();
  sessionNote.textContent = currentToken()
    ? 'Signed in for this browser tab.'
    : 'Local development mode: no sign-in needed.';
  if (!same) {
    form.load(datasets);
    exportButton.disabled = datasets.length === 0;
  }
  // A token taken from the fragment took the address's link to the followed export with it.
  follower.pointAddress();
  history.show();
  await history.refresh();
  if (run !== starts) return;
  const link = pendingLink;
  pendingLink = undefined;
  if (link !== undefined) await openLinkedExport(link);
}

/**
 * `#/exports/<id>`, the link of the "your export is ready" email: that export is shown with its
 * progress or its Download button, as if this tab had started it. The fragment is only a
 * pointer: the API still decides (404 for anyone but the owner).
 */
async function openLinkedExport(id: string): Promise<void> {
  const at = session;
  try {
    if (id === 'invalid') throw new ApiError({ status: 0, code: 'invalid_link' });
    const job = await getExport(id);
    if (at !== session) return;
    exportState.textContent = '';
    void follower.follow(job);
  } catch (error) {
    if (at !== session) return;
    // The panel of another export would read as this one's.
    follower.stop();
    handleError(error);
  }
}

async function submit(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  // Busy, not disabled: a disabled button loses the keyboard focus.
  if (exportButton.getAttribute('aria-disabled') === 'true') return;
  clearError();
  const read = form.read();
  if ('problem' in read) {
    exportState.textContent = read.problem;
    return;
  }
  const request = read.body;
  const background = form.background;
  const at = session;
  // The previous export's "ready" would read as this one's while it is being asked for.
  follower.hideFinished();
  exportButton.setAttribute('aria-disabled', 'true');
  exportButton.setAttribute('aria-busy', 'true');
  exportState.textContent = 'Preparing your file…';
  try {
    const outcome = await requestExport(request, background, sessionRequests.signal);
    // Signed out meanwhile: the previous user's file is not saved, their export not shown.
    if (at !== session) return;
    if (outcome.kind === 'file') {
      saveBlob(outcome.blob, outcome.filename);
      // A background export that ended meanwhile gives way too; one still under way keeps its panel.
      follower.hideFinished();
      exportState.textContent = `Downloaded ${outcome.filename} (${bytes(outcome.size)}).`;
    } else {
      exportState.textContent = background
        ? 'Your export is prepared in the background.'
        : 'This export is large: it is prepared in the background.';
      void follower.follow(outcome.job);
    }
  } catch (error) {
    if (at !== session) return;
    exportState.textContent = '';
    const problem = problemFrom(error);
    if (problem.code === 'invalid_params' && problem.param && problem.detail) {
      form.showParamError(problem.param, problem.detail);
    }
    handleError(error);
  } finally {
    exportButton.removeAttribute('aria-disabled');
    exportButton.removeAttribute('aria-busy');
  }
}

function setUp(): void {
  byId<HTMLFormElement>('export-form').addEventListener('submit', (event) => void submit(event));
  byId<HTMLFormElement>('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>('token');
    const token = input.value.trim();
    if (!token) return;
    setToken(token);
    input.value = '';
    // The sign-in form goes: the keyboard continues at the export form's first field.
    void start().then(() => {
      if (!exportSection.hidden && document.activeElement === document.body) byId('dataset').focus();
    });
  });
  signOut.addEventListener('click', () => {
    setToken(undefined);
    clearError();
    showSignIn(true);
  });
  pendingLink = linkedExportId(location.hash);
  takeTokenFromFragment();
  acceptTokenFromParent(() => void start());
  window.addEventListener('hashchange', () => {
    // A token handed over by a changed fragment (an app that points its frame at #token=...).
    if (takeTokenFromFragment()) {
      void start();
      return;
    }
    const link = linkedExportId(location.hash);
    if (link === undefined) return;
    // Not signed in (yet): followed once someone is.
    if (exportSection.hidden) pendingLink = link;
    else void openLinkedExport(link);
  });
  void start();
}

setUp();
