import type { Progress } from '../types.js';

function bytesText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** One progress line: `1,234,567 rows · 456,789 rows/s · 98.7 MiB`. */
export function progressLine(p: Progress): string {
  const rate = p.elapsedMs > 0 ? Math.round((p.rows * 1000) / p.elapsedMs) : 0;
  const rows = `${p.rows.toLocaleString('en-US')} ${p.rows === 1 ? 'row' : 'rows'}`;
  return `${rows} · ${rate.toLocaleString('en-US')} rows/s · ${bytesText(p.bytes)}`;
}

/** Progress of an export whose size was estimated (a background job's). */
export interface EstimatedProgress extends Progress {
  estimated?: number;
}

const BAR_WIDTH = 24;

/** A bar in front of the line when the size is known: `[######..........]  35% · 1,234 rows · …`. */
export function progressBarLine(p: EstimatedProgress): string {
  const line = progressLine(p);
  if (!p.estimated || p.estimated <= 0) return line;
  const ratio = p.done ? 1 : Math.min(1, p.rows / p.estimated);
  const filled = Math.round(ratio * BAR_WIDTH);
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent} · ${line}`;
}

/** Rewrites one line on a terminal; prints nothing when the stream is not a TTY. */
export function progressPrinter<P extends Progress>(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  format: (p: P) => string = progressLine,
): (p: P) => void {
  if (!stream.isTTY) return () => {};
  return (p) => {
    stream.write(`\r\x1b[2K${format(p)}${p.done ? '\n' : ''}`);
  };
}

export { bytesText };
