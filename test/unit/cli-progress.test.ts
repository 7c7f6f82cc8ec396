import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressBarLine, progressLine, progressPrinter } from '../../src/cli/progress.js';

describe('CLI progress', () => {
  const at = { rows: 250, bytes: 2048, elapsedMs: 500, done: false };

  it('draws a bar with the share of the estimated rows', () => {
    expect(progressBarLine({ ...at, estimated: 1000 })).toBe(
      `[######..................]  25% · ${progressLine(at)}`,
    );
    expect(progressLine(at)).toBe('250 rows · 500 rows/s · 2.0 KiB');
    expect(progressLine({ ...at, rows: 1 })).toBe('1 row · 2 rows/s · 2.0 KiB');
    // An estimate passed, or the job done: full, never more.
    expect(progressBarLine({ ...at, rows: 1500, estimated: 1000 })).toMatch(/^\[#{24}\] 100% · /);
    expect(progressBarLine({ ...at, estimated: 1000, done: true })).toMatch(/^\[#{24}\] 100% · /);
  });

  it('is the plain line without an estimate', () => {
    expect(progressBarLine(at)).toBe(progressLine(at));
    expect(progressBarLine({ ...at, estimated: 0 })).toBe(progressLine(at));
  });

  it('rewrites one terminal line, and prints nothing to a pipe', () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    let written = '';
    tty.on('data', (chunk) => {
      written += chunk;
    });
    progressPrinter(tty, progressBarLine)({ ...at, estimated: 1000 });
    progressPrinter(tty, progressBarLine)({ ...at, rows: 1000, estimated: 1000, done: true });
    expect(written).toBe(
      `\r\x1b[2K${progressBarLine({ ...at, estimated: 1000 })}\r\x1b[2K${progressBarLine({ ...at, rows: 1000, estimated: 1000, done: true })}\n`,
    );
    const pipe = new PassThrough();
    progressPrinter(pipe, progressBarLine)({ ...at, estimated: 1000 });
    expect(pipe.read()).toBeNull();
  });
});
