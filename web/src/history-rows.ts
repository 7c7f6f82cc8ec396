/**
 * The rows of "My exports", one per export, keyed by its id. A refresh updates them in place:
 * only the cells whose text changed change, and a button stays the same element as long as its
 * action is offered, so the keyboard focus stays where it is and a screen reader does not hear
 * the row again every two seconds.
 */
import type { JobDocument } from './api.js';
import { bytes, count, dateTime } from './format.js';
import { shownStatus } from './job-status.js';
import { failureText } from './messages.js';

const STATUS_TEXT: Record<JobDocument['status'], string> = {
  queued: 'Queued',
  running: 'Running',
  canceling: 'Canceling',
  succeeded: 'Ready',
  failed: 'Failed',
  canceled: 'Canceled',
  expired: 'Expired',
};

const CELLS = ['File', 'Status', 'Format', 'Rows', 'Size', 'Created', 'Expires', 'Actions'] as const;
type CellLabel = (typeof CELLS)[number];
const CELL_CLASS: Partial<Record<CellLabel, string>> = {
  File: 'file',
  Rows: 'num',
  Size: 'num',
  Actions: 'row-actions',
};

/** How an export is named in the list: its file's name, or what and when it was asked for. */
export function fileName(job: JobDocument): string {
  if (job.result) return job.result.filename;
  const what = job.dataset ? `${job.dataset} (${job.format.toUpperCase()})` : job.format.toUpperCase();
  return `Export of ${what}, ${dateTime(job.created_at)}`;
}

export class HistoryRows {
  private readonly shown = new Map<string, HTMLTableRowElement>();

  constructor(private readonly body: HTMLTableSectionElement) {}

  /** Shows `exports` in this order: new rows are added, gone ones removed, the others updated. */
  update(exports: JobDocument[]): void {
    const wanted = new Set(exports.map((job) => job.id));
    for (const [id, tr] of this.shown) {
      if (wanted.has(id)) continue;
      tr.remove();
      this.shown.delete(id);
    }
    exports.forEach((job, index) => {
      let tr = this.shown.get(job.id);
      if (!tr) {
        tr = newRow(job.id);
        this.shown.set(job.id, tr);
      }
      fill(tr, job);
      // Moved only when out of place: moving a row takes the focus from its button.
      const there = this.body.children[index];
      if (there !== tr) this.body.insertBefore(tr, there ?? null);
    });
  }

  clear(): void {
    this.shown.clear();
    this.body.replaceChildren();
  }
}

/** A row with explicit roles: still a row of cells under the column headers as a card (display: block). */
function newRow(id: string): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.setAttribute('role', 'row');
  tr.dataset.id = id;
  for (const label of CELLS) {
    const td = document.createElement('td');
    td.setAttribute('role', 'cell');
    td.dataset.label = label;
    const className = CELL_CLASS[label];
    if (className) td.className = className;
    tr.append(td);
  }
  return tr;
}

function fill(tr: HTMLTableRowElement, job: JobDocument): void {
  const cell = (label: CellLabel) => tr.querySelector(`td[data-label="${label}"]`) as HTMLTableCellElement;
  const name = fileName(job);
  const status = shownStatus(job);
  setFile(cell('File'), name, status === 'failed' && job.error ? failureText(job.error) : undefined);
  const statusCell = cell('Status');
  let statusText = STATUS_TEXT[status];
  if (status === 'running' && job.progress.rows_estimated) {
    const percent = Math.floor((100 * job.progress.rows_written) / job.progress.rows_estimated);
    statusText = `Running (${Math.min(percent, 99)}\u00a0%)`;
  }
  setText(statusCell, statusText);
  if (statusCell.className !== `status-${status}`) statusCell.className = `status-${status}`;
  setText(cell('Format'), job.format.toUpperCase());
  setText(cell('Rows'), count(job.result?.row_count ?? job.progress.rows_written));
  // An expired file is deleted: there is no size any more.
  setText(cell('Size'), job.result && status === 'succeeded' ? bytes(job.result.size_bytes) : '—');
  setText(cell('Created'), dateTime(job.created_at));
  setText(cell('Expires'), status === 'succeeded' ? dateTime(job.expires_at) : '—');
  const actions: [string, string][] = [];
  if (status === 'succeeded') actions.push(['download', 'Download']);
  if (status === 'queued' || status === 'running') actions.push(['cancel', 'Cancel']);
  // Only a file can be deleted; the record of a failed or canceled export stays for its retention.
  if (status === 'succeeded') actions.push(['delete', 'Delete']);
  setActions(cell('Actions'), job.id, name, actions);
}

function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/** The file's name, and under it why the export failed (visible text, not a tooltip). */
function setFile(td: HTMLTableCellElement, name: string, why: string | undefined): void {
  const box = td.firstElementChild;
  if (why === undefined) {
    if (box) td.replaceChildren(name);
    else setText(td, name);
    return;
  }
  if (box && box.textContent === `${name}${why}`) return;
  // One box with the name and the reason, so the phone's card keeps its label beside both.
  const reason = document.createElement('span');
  reason.className = 'row-error';
  reason.textContent = why;
  const both = document.createElement('div');
  both.append(name, reason);
  td.replaceChildren(both);
}

/** The row's buttons: one of an action still offered is kept (with its focus), others come and go. */
function setActions(td: HTMLTableCellElement, id: string, name: string, actions: [string, string][]): void {
  const offered = new Set(actions.map(([action]) => action));
  for (const button of td.querySelectorAll<HTMLButtonElement>('button[data-action]')) {
    if (!offered.has(button.dataset.action ?? '')) button.remove();
  }
  actions.forEach(([action, text], index) => {
    let button = td.querySelector<HTMLButtonElement>(`button[data-action="${action}"]`);
    if (!button) {
      button = document.createElement('button');
      button.type = 'button';
      button.className = 'small';
      button.dataset.action = action;
      button.dataset.id = id;
    }
    setText(button, text);
    const label = `${text} ${name}`;
    if (button.getAttribute('aria-label') !== label) button.setAttribute('aria-label', label);
    const there = td.children[index];
    if (there !== button) td.insertBefore(button, there ?? null);
  });
}
