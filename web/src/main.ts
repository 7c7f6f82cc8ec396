/** The export page: sign-in, the export form, the running export and "My exports". */

import { clearError, clearTransientError, problemFrom, showError } from './alert.js';
import {
  ACTIVE_STATUSES,
  ApiError,
  cancelExport,
  type DatasetDescription,
  getExport,
  type JobDocument,
  listDatasets,
} from './api.js';
import { ColumnPicker } from './column-picker.js';
import { downloadJob } from './download.js';
import { type ExportBody, requestExport, timeZones } from './exporter.js';
import { bytes } from './format.js';
import { History, rememberFormat } from './history.js';
import { JobPanel } from './job-panel.js';
import { watchJob } from './job-watch.js';
import { ParamsForm } from './params-form.js';
import { acceptTokenFromParent, currentToken, setToken, takeTokenFromFragment } from './session.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const signIn = byId<HTMLElement>('sign-in');
const exportSection = byId<HTMLElement>('export');
const sessionNote = byId<HTMLElement>('session-note');
const signOut = byId<HTMLButtonElement>('sign-out');
const datasetSelect = byId<HTMLSelectElement>('dataset');
const datasetDescription = byId<HTMLElement>('dataset-description');
const paramsFieldset = byId<HTMLFieldSetElement>('params-fieldset');
const columnsFieldset = byId<HTMLFieldSetElement>('columns-fieldset');
const columnsError = byId<HTMLElement>('columns-error');
const formatSelect = byId<HTMLSelectElement>('format');
const timezoneSelect = byId<HTMLSelectElement>('timezone');
const filenameInput = byId<HTMLInputElement>('filename');
const exportButton = byId<HTMLButtonElement>('export-button');
const exportState = byId<HTMLElement>('export-state');

const params = new ParamsForm(byId('params'));
const columns = new ColumnPicker(byId('columns'));
const panel = new JobPanel();
let datasets: DatasetDescription[] = [];
let watching: AbortController | undefined;
let starts = 0;

const history = new History({
  download: (job) => downloadJob(job),
  changed: (job) => {
    if (panel.job?.id === job.id) panel.update(job);
  },
  failed: (error) => handleError(error),
  recovered: () => clearTransientError(),
});

function handleError(error: unknown): void {
  if ((error as Error)?.name === 'AbortError') return;
  const problem = problemFrom(error);
  if (problem.code === 'unauthorized' && currentToken()) {
    setToken(undefined);
    showSignIn();
  }
  showError(error);
}

function showSignIn(): void {
  history.stop();
  signIn.hidden = false;
  exportSection.hidden = true;
  byId('history').hidden = true;
  signOut.hidden = true;
  sessionNote.textContent = 'This server needs you to sign in.';
  byId<HTMLInputElement>('token').focus();
}

function selectDataset(name: string): void {
  const dataset = datasets.find((d) => d.name === name);
  if (!dataset) return;
  datasetDescription.textContent = dataset.description ?? '';
  params.render(dataset.params);
  paramsFieldset.hidden = params.empty;
  byId('required-note').hidden = !dataset.params.some((p) => p.required);
  columns.render(dataset.columns ?? []);
  columnsFieldset.hidden = columns.empty;
  columnsError.hidden = true;
  filenameInput.placeholder = `${dataset.name}-${new Date().toISOString().slice(0, 10)}`;
}

/** Loads what the caller may export; a 401 means this server wants a token. */
async function start(): Promise<void> {
  // A token can arrive (postMessage) while an earlier look is under way: only the last counts.
  const run = ++starts;
  const token = currentToken();
  clearError();
  try {
    const answer = await listDatasets();
    if (run !== starts) return;
    datasets = answer.datasets;
  } catch (error) {
    if (run !== starts) return;
    if (error instanceof ApiError && error.problem.code === 'unauthorized') {
      setToken(undefined);
      showSignIn();
      if (token) showError(error);
      return;
    }
    showError(error);
    return;
  }
  signIn.hidden = true;
  exportSection.hidden = false;
  signOut.hidden = !currentToken();
  sessionNote.textContent = currentToken()
    ? 'Signed in for this browser tab.'
    : 'Local development mode: no sign-in needed.';
  datasetSelect.replaceChildren(
    ...datasets.map((d) => {
      const option = document.createElement('option');
      option.value = d.name;
      option.textContent = d.title;
      return option;
    }),
  );
  if (datasets.length === 0) datasetDescription.textContent = 'There is nothing you may export yet.';
  exportButton.disabled = datasets.length === 0;
  if (datasets[0]) selectDataset(datasets[0].name);
  history.show();
  await history.refresh();
  await openLinkedExport();
}

/**
 * `#/exports/<id>`, the link of the "your export is ready" email: that export is shown with its
 * progress or its Download button, as if this tab had started it. The fragment is only a
 * pointer: the API still decides (404 for anyone but the owner).
 */
async function openLinkedExport(): Promise<void> {
  const match = /^#\/exports\/([^/?#]+)$/.exec(location.hash);
  if (!match) return;
  try {
    const job = await getExport(decodeURIComponent(match[1] as string));
    exportState.textContent = '';
    void follow(job);
  } catch (error) {
    // The panel of another export would read as this one's.
    watching?.abort();
    panel.hide();
    handleError(error);
  }
}

function body(): ExportBody {
  const values = params.values();
  const picked = columns.selected();
  const filename = filenameInput.value.trim();
  return {
    dataset: datasetSelect.value,
    format: formatSelect.value,
    ...(Object.keys(values).length > 0 ? { params: values } : {}),
    ...(picked ? { columns: picked } : {}),
    timezone: timezoneSelect.value,
    ...(filename ? { filename } : {}),
  };
}

async function follow(job: JobDocument): Promise<void> {
  watching?.abort();
  watching = new AbortController();
  panel.show(job);
  void history.refresh();
  try {
    const final = await watchJob(
      job,
      (current) => panel.update(current),
      // The server restarting or out of reach: say so while the watch keeps trying.
      (trouble) => (trouble ? showError(trouble) : clearTransientError()),
      watching.signal,
    );
    void history.refresh();
    if (final.status === 'succeeded') panel.download.focus();
  } catch (error) {
    handleError(error);
  }
}

async function submit(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  // Busy, not disabled: a disabled button loses the keyboard focus.
  if (exportButton.getAttribute('aria-disabled') === 'true') return;
  clearError();
  params.clearErrors();
  columnsError.hidden = true;
  if (!params.checkInputs()) return;
  if (!columns.hasSelection()) {
    columnsError.textContent = 'Pick at least one column.';
    columnsError.hidden = false;
    byId<HTMLInputElement>('column-0').focus();
    return;
  }
  const request = body();
  exportButton.setAttribute('aria-disabled', 'true');
  exportButton.setAttribute('aria-busy', 'true');
  exportState.textContent = 'Preparing your file…';
  try {
    const outcome = await requestExport(request, byId<HTMLInputElement>('background').checked);
    if (outcome.kind === 'file') {
      // A background export still under way keeps its panel.
      if (!panel.job || !ACTIVE_STATUSES.includes(panel.job.status)) panel.hide();
      exportState.textContent = `Downloaded ${outcome.filename} (${bytes(outcome.size)}).`;
    } else {
      rememberFormat(outcome.job.id, request.format);
      exportState.textContent = byId<HTMLInputElement>('background').checked
        ? 'Your export is prepared in the background.'
        : 'This export is large: it is prepared in the background.';
      void follow(outcome.job);
    }
  } catch (error) {
    exportState.textContent = '';
    const problem = problemFrom(error);
    if (problem.code === 'invalid_params' && problem.param && problem.detail) {
      params.showError(problem.param, problem.detail);
    }
    handleError(error);
  } finally {
    exportButton.removeAttribute('aria-disabled');
    exportButton.removeAttribute('aria-busy');
  }
}

function setUp(): void {
  const { zones, own } = timeZones();
  timezoneSelect.replaceChildren(
    ...zones.map((zone) => {
      const option = document.createElement('option');
      option.value = zone;
      option.textContent = zone.replaceAll('_', ' ');
      return option;
    }),
  );
  timezoneSelect.value = own;
  datasetSelect.addEventListener('change', () => selectDataset(datasetSelect.value));
  byId<HTMLFormElement>('export-form').addEventListener('submit', (event) => void submit(event));
  byId<HTMLFormElement>('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>('token');
    const token = input.value.trim();
    if (!token) return;
    setToken(token);
    input.value = '';
    void start();
  });
  signOut.addEventListener('click', () => {
    watching?.abort();
    panel.hide();
    setToken(undefined);
    clearError();
    showSignIn();
  });
  panel.cancel.addEventListener('click', async () => {
    const job = panel.job;
    if (!job || panel.cancel.getAttribute('aria-disabled') === 'true') return;
    panel.cancel.setAttribute('aria-disabled', 'true');
    try {
      panel.update(await cancelExport(job));
    } catch (error) {
      handleError(error);
    } finally {
      panel.cancel.removeAttribute('aria-disabled');
    }
    // The button is gone once the export is canceling: the keyboard goes on from the panel.
    if (panel.cancel.hidden) panel.focus();
  });
  panel.download.addEventListener('click', () => {
    const job = panel.job;
    if (!job) return;
    downloadJob(job).catch(async (error: unknown) => {
      handleError(error);
      // Expired or deleted meanwhile: show the export as it is now.
      const current = await getExport(job.id).catch(() => undefined);
      if (current && panel.job?.id === job.id) panel.update(current);
      void history.refresh();
    });
  });
  takeTokenFromFragment();
  acceptTokenFromParent(() => void start());
  window.addEventListener('hashchange', () => {
    // A token handed over by a changed fragment (an app that points its frame at #token=...).
    if (takeTokenFromFragment()) void start();
    else if (!exportSection.hidden) void openLinkedExport();
  });
  void start();
}

setUp();
