/**
 * The export the panel follows: its progress until it ends, its Cancel and Download buttons,
 * and where the keyboard focus goes when it finishes.
 */
import { clearTransientError, showError } from './alert.js';
import { ACTIVE_STATUSES, cancelExport, getExport, type JobDocument } from './api.js';
import { JobPanel } from './job-panel.js';
import { watchJob } from './job-watch.js';
import { pointAddressAt } from './linked-export.js';

export interface FollowActions {
  failed(error: unknown): void;
  /** The export started, ended or changed: "My exports" shows it too. */
  changed(): void;
  /** Downloads a finished export (given up on when the user signs out). */
  download(job: JobDocument): Promise<void>;
}

export class JobFollower {
  private readonly panel = new JobPanel();
  private watching: AbortController | undefined;

  constructor(
    private readonly actions: FollowActions,
    /** The form's Export button: a finished export may take the focus from it. */
    private readonly exportButton: HTMLElement,
  ) {
    this.panel.cancel.addEventListener('click', () => void this.cancel());
    this.panel.download.addEventListener('click', () => void this.download());
  }

  async follow(job: JobDocument): Promise<void> {
    this.watching?.abort();
    const watching = new AbortController();
    this.watching = watching;
    this.panel.show(job);
    pointAddressAt(job.id);
    this.actions.changed();
    try {
      const final = await watchJob(
        job,
        (current) => this.panel.update(current),
        // The server restarting or out of reach: say so while the watch keeps trying.
        (trouble) => (trouble ? showError(trouble) : clearTransientError()),
        watching.signal,
      );
      this.actions.changed();
      // Someone typing elsewhere keeps their place: the live region tells them the file is ready.
      if (final.status === 'succeeded' && this.focusIsWithExport()) this.panel.download.focus();
    } catch (error) {
      this.actions.failed(error);
    }
  }

  /** Shows a newer state of the followed export (the list changed it). */
  updateIfShown(job: JobDocument): void {
    if (this.panel.job?.id === job.id) this.panel.update(job);
  }

  /**
   * Stops following and hides the panel. `keepAddress`: the address keeps its link to the
   * export (the user is asked to sign in, and the link is followed after it).
   */
  stop({ keepAddress = false } = {}): void {
    this.watching?.abort();
    this.watching = undefined;
    this.panel.hide();
    if (!keepAddress) pointAddressAt(undefined);
  }

  /** Points the address at the shown export again (a token taken from the fragment took it). */
  pointAddress(): void {
    if (this.panel.job) pointAddressAt(this.panel.job.id);
  }

  /** Hides the panel of a finished export (another is asked for); one still under way keeps it. */
  hideFinished(): void {
    const job = this.panel.job;
    if (!job || !ACTIVE_STATUSES.includes(job.status)) this.stop();
  }

  /** The keyboard is on the panel, on Export, or nowhere: Download may take it. */
  private focusIsWithExport(): boolean {
    const active = document.activeElement;
    return !active || active === document.body || active === this.exportButton || this.panel.contains(active);
  }

  private async cancel(): Promise<void> {
    const job = this.panel.job;
    const button = this.panel.cancel;
    if (!job || button.getAttribute('aria-disabled') === 'true') return;
    button.setAttribute('aria-disabled', 'true');
    try {
      // The button goes with the running export; the panel hands the focus to its title.
      const current = await cancelExport(job);
      this.updateIfShown(current);
    } catch (error) {
      this.actions.failed(error);
    } finally {
      button.removeAttribute('aria-disabled');
    }
  }

  private async download(): Promise<void> {
    const job = this.panel.job;
    if (!job) return;
    try {
      await this.actions.download(job);
    } catch (error) {
      // Given up on (a sign-out): there is no export of this user's to show any more.
      if ((error as Error)?.name === 'AbortError') return;
      this.actions.failed(error);
      // Expired or deleted meanwhile: show the export as it is now (Download goes, its focus
      // moves to the panel's title).
      const current = await getExport(job.id).catch(() => undefined);
      if (current) this.updateIfShown(current);
      this.actions.changed();
    }
  }
}
