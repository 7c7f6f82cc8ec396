/**
 * "My exports": the caller's background exports with Download, Cancel and Delete, newest first,
 * a page at a time ("Show more"). It refreshes itself every two seconds while one of them is
 * still active (every five while the server cannot be reached), when a file expires and when
 * the tab is shown again. Rows are updated in place (history-rows.ts), so the keyboard focus
 * stays on the same button across refreshes.
 */
import { isTransient, problemFrom } from './alert.js';
import { ACTIVE_STATUSES, cancelExport, deleteExport, type JobDocument, listExports } from './api.js';
import { fileName, HistoryRows } from './history-rows.js';
import { msUntilExpiry } from './job-status.js';

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
  /** What Delete, Cancel and Show more did, for screen readers (a polite live region). */
  private readonly announce = document.getElementById('history-announce') as HTMLElement;
  private readonly shownRows = new HistoryRows(this.rows);
  private readonly jobs = new Map<string, JobDocument>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Shows the next file to expire as expired once its time comes. */
  private expiry: ReturnType<typeof setTimeout> | undefined;
  private loading: Promise<void> | undefined;
  /** Bumped by clear(): a list asked for before (the previous user's) is never shown. */
  private generation = 0;
  /** How many of the newest exports are shown: a page more with each "Show more". */
  private wanted = PAGE;
  private failing = false;
  /** The action whose button had the focus when it was pressed: it gets the focus back. */
  private focusAfter: { id: string; action: string } | undefined;

  constructor(private readonly actions: HistoryActions) {
    document.getElementById('history-refresh')?.addEventListener('click', () => void this.refresh());
    this.more.addEventListener('click', () => void this.showMore());
    this.rows.addEventListener('click', (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>('button[data-action]');
      const job = button?.dataset.id ? this.jobs.get(button.dataset.id) : undefined;
      if (button && job) void this.act(button.dataset.action ?? '', job, button);
    });
    // Exports started or removed in another tab (or by the API) while this one was hidden:
    // the list is brought up to date as the tab comes back, not only by Refresh.
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && !this.section.hidden) void this.refresh();
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
    clearTimeout(this.expiry);
    this.timer = undefined;
    this.expiry = undefined;
  }

  /** Forgets the list (a sign-out): hidden and empty, and a load under way is dropped. */
  clear(): void {
    this.stop();
    this.generation++;
    this.loading = undefined;
    this.jobs.clear();
    this.shownRows.clear();
    this.table.hidden = true;
    this.empty.hidden = true;
    this.more.hidden = true;
    this.announce.textContent = '';
    this.section.hidden = true;
    this.wanted = PAGE;
    this.failing = false;
    this.focusAfter = undefined;
  }

  /**
   * Another page of the list. The button goes once the last page is in: its focus moves to the
   * first export it brought, instead of falling to the top of the page.
   */
  private async showMore(): Promise<void> {
    const shown = this.rows.children.length;
    const generation = this.generation;
    this.wanted += PAGE;
    await this.refresh();
    if (generation !== this.generation) return;
    // A list that failed to load says so in the alert.
    const added = this.rows.children.length - shown;
    if (added > 0) {
      this.announce.textContent = `${added} more ${added === 1 ? 'export' : 'exports'} shown, ${this.rows.children.length} in all.`;
    }
    if (!this.more.hidden || document.activeElement !== document.body) return;
    const first = this.rows.children[shown] ?? this.rows.lastElementChild;
    (
      first?.querySelector<HTMLButtonElement>('button') ?? document.getElementById('history-refresh')
    )?.focus();
  }

  private async load(): Promise<void> {
    this.stop();
    const generation = this.generation;
    try {
      const { exports, more } = await this.fetchShown();
      if (generation !== this.generation) return;
      this.render(exports, more);
      if (this.failing) this.actions.recovered();
      this.failing = false;
      if (exports.some((job) => ACTIVE_STATUSES.includes(job.status))) {
        this.timer = setTimeout(() => void this.refresh(), 2000);
      }
      const expiries = exports.map((job) => msUntilExpiry(job)).filter((ms) => ms !== undefined);
      if (expiries.length > 0) {
        this.expiry = setTimeout(() => void this.refresh(), Math.min(...expiries));
      }
    } catch (error) {
      if (generation !== this.generation) return;
      this.actions.failed(error);
      // The server restarting, out of reach or asking for fewer requests: keep trying (no
      // sooner than it asks), so the list does not stay stale.
      const problem = problemFrom(error);
      if (isTransient(problem)) {
        this.failing = true;
        this.timer = setTimeout(
          () => void this.refresh(),
          Math.max(RETRY_MS, (problem.retryAfter ?? 0) * 1000),
        );
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
    const generation = this.generation;
    let ok = true;
    try {
      if (action === 'download') await this.actions.download(job);
      else if (action === 'cancel') {
        const canceled = await cancelExport(job);
        this.actions.changed(canceled);
        if (generation === this.generation) {
          this.announce.textContent =
            canceled.status === 'canceled' ? `Canceled ${fileName(job)}.` : `Canceling ${fileName(job)}…`;
        }
      } else if (action === 'delete') {
        this.actions.changed(await deleteExport(job));
        if (generation === this.generation) this.announce.textContent = `Deleted ${fileName(job)}.`;
      }
    } catch (error) {
      ok = false;
      if (generation === this.generation) this.actions.failed(error);
    } finally {
      button.removeAttribute('aria-disabled');
    }
    // Signed out meanwhile: nothing of it is shown any more.
    if (generation !== this.generation) return;
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
    for (const job of exports) this.jobs.set(job.id, job);
    this.shownRows.update(exports);
    this.table.hidden = exports.length === 0;
    this.empty.hidden = exports.length > 0;
    this.more.hidden = !more;
    // The focused button is kept while its action is offered; when it went, the focus would
    // fall to the page's start: it goes to the same export's other action, or to Refresh.
    const lost = !document.activeElement || document.activeElement === document.body;
    if (focus?.id && lost) {
      const same = this.rows.querySelector<HTMLButtonElement>(
        `button[data-id="${focus.id}"][data-action="${focus.action}"]`,
      );
      const sameRow = this.rows.querySelector<HTMLButtonElement>(`button[data-id="${focus.id}"]`);
      (same ?? sameRow ?? document.getElementById('history-refresh'))?.focus();
    }
  }
}
