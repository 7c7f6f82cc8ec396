/**
 * "My exports": the caller's background exports with Download, Cancel and Delete, newest first,
 * a page at a time ("Show more"). It refreshes itself every two seconds while one of them is
 * still active (every five while the server cannot be reached), keeping the keyboard focus on
 * the same action of the same export across refreshes.
 */
import { isTransient, problemFrom } from './alert.js';
import { ACTIVE_STATUSES, cancelExport, deleteExport, type JobDocument, listExports } from './api.js';
import { bytes, count, dateTime, formatOfFile } from './format.js';

const STATUS_TEXT: Record<JobDocument['status'], string> = {
  queued: 'Queued',
  running: 'Running',
  canceling: 'Canceling',
  succeeded: 'Ready',
  failed: 'Failed',
  canceled: 'Canceled',
  expired: 'Expired',
};

const FORMATS_KEY = 'takeout.formats';

/** Formats of the exports this tab started (the job document names it only once there is a file). */
export function rememberFormat(id: string, format: string): void {
  try {
    const known = JSON.parse(sessionStorage.getItem(FORMATS_KEY) ?? '{}') as Record<string, string>;
    known[id] = format;
    sessionStorage.setItem(FORMATS_KEY, JSON.stringify(known));
  } catch {
    // Storage disabled: the list shows the format once the file exists.
  }
}

function rememberedFormat(id: string): string | undefined {
  try {
    return (JSON.parse(sessionStorage.getItem(FORMATS_KEY) ?? '{}') as Record<string, string>)[id];
  } catch {
    return undefined;
  }
}

export interface HistoryActions {
  download(job: JobDocument): Promise<void>;
  changed(job: JobDocument): void;
  failed(error: unknown): void;
  /** The list loaded again after a failure. */
  recovered(): void;
}

/** Rows a page of the list adds ("Show more"). */
const PAGE = 20;
/** Refreshes while the server does not answer: the list catches up once it is back. */
const RETRY_MS = 5000;

export class History {
  private readonly section = document.getElementById('history') as HTMLElement;
  private readonly table = document.getElementById('history-table') as HTMLTableElement;
  private readonly rows = document.getElementById('history-rows') as HTMLTableSectionElement;
  private readonly empty = document.getElementById('history-empty') as HTMLElement;
  private readonly more = document.getElementById('history-more') as HTMLButtonElement;
  private readonly jobs = new Map<string, JobDocument>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private loading: Promise<void> | undefined;
  /** How many of the newest exports are shown: a page more with each "Show more". */
  private wanted = PAGE;
  private failing = false;
  /** The action whose button had the focus when it was pressed: it gets the focus back. */
  private focusAfter: { id: string; action: string } | undefined;

  constructor(private readonly actions: HistoryActions) {
    document.getElementById('history-refresh')?.addEventListener('click', () => void this.refresh());
    this.more.addEventListener('click', () => {
      this.wanted += PAGE;
      void this.refresh();
    });
    this.rows.addEventListener('click', (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>('button[data-action]');
      const job = button?.dataset.id ? this.jobs.get(button.dataset.id) : undefined;
      if (button && job) void this.act(button.dataset.action ?? '', job, button);
    });
  }

  show(): void {
    this.section.hidden = false;
  }

  /** Loads the list now; while an export is active, again every two seconds. */
  refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async load(): Promise<void> {
    this.stop();
    try {
      const { exports, more } = await this.fetchShown();
      this.render(exports, more);
      if (this.failing) this.actions.recovered();
      this.failing = false;
      if (exports.some((job) => ACTIVE_STATUSES.includes(job.status))) {
        this.timer = setTimeout(() => void this.refresh(), 2000);
      }
    } catch (error) {
      this.actions.failed(error);
      // The server restarting or out of reach: keep trying, so the list does not stay stale.
      if (isTransient(problemFrom(error))) {
        this.failing = true;
        this.timer = setTimeout(() => void this.refresh(), RETRY_MS);
      }
    }
  }

  /** The newest `wanted` exports, a page of at most 100 at a time, and whether there are more. */
  private async fetchShown(): Promise<{ exports: JobDocument[]; more: boolean }> {
    const exports: JobDocument[] = [];
    let cursor: string | undefined;
    do {
      const page = await listExports(Math.min(100, this.wanted - exports.length), cursor);
      exports.push(...page.exports);
      cursor = page.next_cursor;
    } while (cursor && exports.length < this.wanted);
    return { exports, more: cursor !== undefined };
  }

  private async act(action: string, job: JobDocument, button: HTMLButtonElement): Promise<void> {
    // Busy, not disabled: a disabled button loses the keyboard focus.
    if (button.getAttribute('aria-disabled') === 'true') return;
    // A deleted file cannot be brought back: ask first.
    if (
      action === 'delete' &&
      !window.confirm(`Delete ${fileName(job)}? It cannot be recovered: you would have to export again.`)
    ) {
      return;
    }
    button.setAttribute('aria-disabled', 'true');
    if (document.activeElement === button) this.focusAfter = { id: job.id, action };
    let ok = true;
    try {
      if (action === 'download') await this.actions.download(job);
      else if (action === 'cancel') this.actions.changed(await cancelExport(job));
      else if (action === 'delete') this.actions.changed(await deleteExport(job));
    } catch (error) {
      ok = false;
      this.actions.failed(error);
    } finally {
      button.removeAttribute('aria-disabled');
    }
    // A download that failed (the file expired meanwhile) shows the export as it is now.
    if (action !== 'download' || !ok) await this.refresh();
    this.focusAfter = undefined;
  }

  private render(exports: JobDocument[], more: boolean): void {
    const focused = document.activeElement as HTMLElement | null;
    const focus = this.rows.contains(focused)
      ? { id: focused?.dataset.id, action: focused?.dataset.action }
      : this.focusAfter;
    this.jobs.clear();
    this.rows.replaceChildren(...exports.map((job) => this.row(job)));
    this.table.hidden = exports.length === 0;
    this.empty.hidden = exports.length > 0;
    this.more.hidden = !more;
    if (focus?.id) {
      const same = this.rows.querySelector<HTMLButtonElement>(
        `button[data-id="${focus.id}"][data-action="${focus.action}"]`,
      );
      const sameRow = this.rows.querySelector<HTMLButtonElement>(`button[data-id="${focus.id}"]`);
      (same ?? sameRow ?? document.getElementById('history-refresh'))?.focus();
    }
  }

  private row(job: JobDocument): HTMLTableRowElement {
    this.jobs.set(job.id, job);
    const tr = document.createElement('tr');
    tr.dataset.id = job.id;
    const name = fileName(job);
    const cell = (label: string, text: string, className = '') => {
      const td = document.createElement('td');
      td.dataset.label = label;
      td.textContent = text;
      if (className) td.className = className;
      tr.append(td);
      return td;
    };
    cell('File', name, 'file');
    const status = cell('Status', STATUS_TEXT[job.status], `status-${job.status}`);
    if (job.status === 'running' && job.progress.rows_estimated) {
      const percent = Math.floor((100 * job.progress.rows_written) / job.progress.rows_estimated);
      status.textContent = `Running (${Math.min(percent, 99)}\u00a0%)`;
    }
    if (job.error) status.title = job.error.message;
    cell('Format', formatOfFile(job.result?.filename) ?? rememberedFormat(job.id)?.toUpperCase() ?? '—');
    cell('Rows', count(job.result?.row_count ?? job.progress.rows_written), 'num');
    cell('Size', job.result ? bytes(job.result.size_bytes) : '—', 'num');
    cell('Created', dateTime(job.created_at));
    cell('Expires', job.status === 'succeeded' ? dateTime(job.expires_at) : '—');
    const actions = cell('Actions', '', 'row-actions');
    const button = (action: string, text: string) => {
      const element = document.createElement('button');
      element.type = 'button';
      element.className = 'small';
      element.dataset.action = action;
      element.dataset.id = job.id;
      element.textContent = text;
      element.setAttribute('aria-label', `${text} ${name}`);
      actions.append(element);
    };
    if (job.status === 'succeeded') button('download', 'Download');
    if (job.status === 'queued' || job.status === 'running') button('cancel', 'Cancel');
    // Only a file can be deleted; the record of a failed or canceled export stays for its retention.
    if (job.status === 'succeeded') button('delete', 'Delete');
    return tr;
  }
}

/** How an export is named in the list: its file's name, or when it was asked for. */
function fileName(job: JobDocument): string {
  return job.result?.filename ?? `Export of ${dateTime(job.created_at)}`;
}
