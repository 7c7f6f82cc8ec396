/**
 * The running export: a progress bar with rows written of estimated, rate and time left, then
 * Download, until the file expires. Its boxes have fixed heights, so updates never move the
 * page; a polite live region announces changes of state and every quarter of progress, not
 * every number.
 */
import type { JobDocument, JobStatus } from './api.js';
import { bytes, count, duration, rowCount } from './format.js';
import { msUntilExpiry, shownStatus } from './job-status.js';
import { failureText } from './messages.js';

const TITLES: Record<JobDocument['status'], string> = {
  queued: 'Waiting to start…',
  running: 'Exporting…',
  canceling: 'Canceling…',
  succeeded: 'Your file is ready',
  failed: 'The export failed',
  canceled: 'Export canceled',
  expired: 'The file has expired',
};

export class JobPanel {
  private readonly root = document.getElementById('job') as HTMLElement;
  private readonly title = document.getElementById('job-title') as HTMLElement;
  private readonly bar = document.getElementById('job-progress') as HTMLProgressElement;
  private readonly numbers = document.getElementById('job-numbers') as HTMLElement;
  private readonly announce = document.getElementById('job-announce') as HTMLElement;
  readonly cancel = document.getElementById('job-cancel') as HTMLButtonElement;
  readonly download = document.getElementById('job-download') as HTMLButtonElement;
  job: JobDocument | undefined;
  private shown: JobStatus | undefined;
  private first: { rows: number; at: number } | undefined;
  private announced = '';
  /** Shows the file as expired once its `expires_at` passes. */
  private expiry: ReturnType<typeof setTimeout> | undefined;

  show(job: JobDocument): void {
    this.job = undefined;
    this.shown = undefined;
    this.first = undefined;
    this.announced = '';
    this.root.hidden = false;
    this.update(job);
  }

  /** Whether `element` is in the panel (the keyboard is working with it). */
  contains(element: Element | null): boolean {
    return element !== null && this.root.contains(element);
  }

  /** Moves the keyboard focus to the panel's title (an action of it went away). */
  focus(): void {
    this.title.tabIndex = -1;
    this.title.focus();
  }

  /** Hides the panel and empties it: what it said belongs to an export no longer followed. */
  hide(): void {
    this.root.hidden = true;
    this.job = undefined;
    this.shown = undefined;
    clearTimeout(this.expiry);
    this.numbers.textContent = '';
    this.announce.textContent = '';
  }

  update(job: JobDocument): void {
    const previous = this.shown;
    const status = shownStatus(job);
    this.job = job;
    this.shown = status;
    // A button that goes while it has the focus hands it to the title, not to the page's body.
    const focused = [this.cancel, this.download].find((button) => button === document.activeElement);
    const { rows_written: written, rows_estimated: estimated } = job.progress;
    this.title.textContent = TITLES[status];
    this.cancel.hidden = !['queued', 'running'].includes(status);
    this.download.hidden = status !== 'succeeded';
    if (focused?.hidden) this.focus();
    clearTimeout(this.expiry);
    const expiresIn = msUntilExpiry(job);
    if (expiresIn !== undefined) {
      this.expiry = setTimeout(() => {
        if (this.job === job) this.update(job);
      }, expiresIn);
    }
    if (status === 'succeeded') {
      this.knownProgress(1);
      const result = job.result;
      this.numbers.textContent = result
        ? `${result.filename} · ${rowCount(result.row_count)} · ${bytes(result.size_bytes)}`
        : '';
    } else if (status === 'failed') {
      this.knownProgress(0);
      this.numbers.textContent = job.error ? failureText(job.error) : '';
    } else if (status === 'running' || status === 'canceling') {
      if (estimated && estimated > 0) {
        this.knownProgress(Math.min(1, written / estimated));
      } else {
        this.unknownProgress(`${count(written)} ${written === 1 ? 'row' : 'rows'} written`);
      }
      this.numbers.textContent = this.progressText(written, estimated);
    } else if (status === 'queued') {
      this.unknownProgress('Queued');
      this.numbers.textContent = 'Your export is queued and starts shortly.';
    } else {
      this.knownProgress(0);
      this.numbers.textContent = '';
    }
    this.say(job, status, previous);
  }

  /** A share of the work done (0 to 1): screen readers say it as a percentage. */
  private knownProgress(share: number): void {
    this.bar.max = 1;
    this.bar.value = share;
    this.bar.removeAttribute('aria-valuetext');
  }

  /**
   * Progress without a known total: an indeterminate bar (no value, so that it never reads
   * "0 %"), `known` for screen readers (queued, or how many rows so far). For those who asked
   * for less motion the bar stays still (exports.css).
   */
  private unknownProgress(known: string): void {
    this.bar.removeAttribute('value');
    this.bar.setAttribute('aria-valuetext', known);
  }

  private progressText(written: number, estimated: number | undefined): string {
    const now = performance.now();
    if (!this.first || written < this.first.rows) this.first = { rows: written, at: now };
    const seconds = (now - this.first.at) / 1000;
    const rate =
      seconds >= 0.5 && written > this.first.rows ? (written - this.first.rows) / seconds : undefined;
    const done = estimated ? ` of ${count(estimated)}` : '';
    // A no-break space: the number and its % never land on two lines.
    const percent = estimated
      ? ` (${Math.floor((100 * Math.min(written, estimated)) / estimated)}\u00a0%)`
      : '';
    const line1 = `${count(written)}${done} ${(estimated ?? written) === 1 ? 'row' : 'rows'} written${percent}`;
    if (!rate) return `${line1}\nMeasuring speed…`;
    const secondsLeft = estimated && estimated > written ? (estimated - written) / rate : undefined;
    const left =
      secondsLeft === undefined
        ? ''
        : secondsLeft < 1
          ? ' · less than a second left'
          : ` · about ${duration(secondsLeft)} left`;
    return `${line1}\n${count(Math.round(rate))} rows/s${left}`;
  }

  private say(job: JobDocument, status: JobStatus, previous: JobStatus | undefined): void {
    let message = '';
    // Said also to whoever works elsewhere on the page: the focus stays where they are.
    if (status !== previous) {
      message = status === 'succeeded' ? 'Your file is ready to download.' : TITLES[status];
      // Why it failed, as the panel shows it: otherwise only those who can see it learn why.
      if (status === 'failed' && job.error) message = `${message}. ${failureText(job.error)}`;
    }
    const estimated = job.progress.rows_estimated;
    if (status === 'running' && estimated) {
      const quarter = Math.floor((4 * job.progress.rows_written) / estimated);
      if (quarter > 0 && quarter < 4 && !this.announced.endsWith(`q${quarter}`)) {
        message = `${quarter * 25} percent done`;
        this.announced = `${this.announced} q${quarter}`;
      }
    }
    if (message) this.announce.textContent = message;
  }
}
