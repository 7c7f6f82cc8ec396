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
  return `${p.rows.toLocaleString('en-US')} rows · ${rate.toLocaleString('en-US')} rows/s · ${bytesText(p.bytes)}`;
}

/** Rewrites one line on a terminal; prints nothing when the stream is not a TTY. */
export function progressPrinter(stream: NodeJS.WritableStream & { isTTY?: boolean }): (p: Progress) => void {
  if (!stream.isTTY) return () => {};
  return (p) => {
    stream.write(`\r\x1b[2K${progressLine(p)}${p.done ? '\n' : ''}`);
  };
}
