/** The configuration docs say what the code does: defaults and the bounds checked at start. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const docs = join(import.meta.dirname, '../../docs');
const read = (name: string) => readFileSync(join(docs, name), 'utf8');
const row = (doc: string, variable: string) =>
  doc.split('\n').find((line) => line.startsWith(`| \`${variable}\` `));

describe('configuration docs', () => {
  it('give STORAGE_URL the default the code uses, <TAKEOUT_DATA_DIR>/files', () => {
    for (const name of ['operations.md', 'configuration.md']) {
      const line = row(read(name), 'STORAGE_URL');
      expect(line, name).toContain('`<TAKEOUT_DATA_DIR>/files`');
      expect(line, name).not.toContain('file:data/files');
    }
  });

  it('list the queue timers among the 24-day settings, and the retention bound', () => {
    const configuration = read('configuration.md');
    const timers = configuration.split('\n').find((line) => line.includes("Node's timers hold no more"));
    for (const name of ['TAKEOUT_QUEUE_LOCK', 'TAKEOUT_QUEUE_STALLED_INTERVAL', 'TAKEOUT_JOB_LEASE']) {
      expect(timers).toContain(`\`${name}\``);
    }
    for (const name of ['TAKEOUT_FILE_TTL', 'TAKEOUT_RECORD_TTL']) {
      expect(row(configuration, name)).toContain('36500d');
    }
  });

  it('say that * is refused in TAKEOUT_WEBHOOK_ALLOW', () => {
    expect(row(read('configuration.md'), 'TAKEOUT_WEBHOOK_ALLOW')).toMatch(/`\*` is refused/);
    expect(row(read('notifications.md'), 'TAKEOUT_WEBHOOK_ALLOW')).toMatch(/`\*` is refused/);
  });
});
