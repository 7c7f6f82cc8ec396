/**
 * A failed scale run's post-mortem: every process's log lines (API, running and killed
 * workers) written to a fresh directory, so that one export's story can be grepped by its id.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScaleDeployment } from './deployment.js';

/** Writes the logs and returns the directory. */
export function saveLogs(deployment: ScaleDeployment): string {
  const dir = mkdtempSync(join(tmpdir(), 'takeout-scale-logs-'));
  deployment.apis.forEach((api, i) => {
    writeFileSync(join(dir, `api-${i}.log`), api.stdout() + api.stderr());
  });
  const workers = [
    ...deployment.workers.map((worker, i) => [`worker-${i}`, worker] as const),
    ...deployment.killed.map((worker, i) => [`killed-worker-${i}`, worker] as const),
  ];
  for (const [name, worker] of workers) {
    writeFileSync(
      join(dir, `${name}.log`),
      `${worker.lines.map((line) => JSON.stringify(line)).join('\n')}\n`,
    );
  }
  return dir;
}
