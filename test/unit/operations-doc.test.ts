import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// docs/operations.md is the configuration reference: every environment variable the code
// reads must be listed there.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? filesUnder(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** `env.NAME`, `env['NAME']`, `env[name]` with a 'NAME' literal passed in: names as the code reads them. */
function variablesRead(): Set<string> {
  const names = new Set<string>();
  for (const file of filesUnder(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/\benv\??\.([A-Z][A-Z0-9_]+)|\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g)) {
      names.add((match[1] ?? match[2])!);
    }
    // Helpers called with the variable's name: integer(env, 'TAKEOUT_X', ...), seconds(env, 'TAKEOUT_X').
    for (const match of text.matchAll(/\(\s*env\s*,\s*'([A-Z][A-Z0-9_]+)'/g)) names.add(match[1]!);
  }
  return names;
}

describe('docs/operations.md configuration reference', () => {
  const doc = readFileSync(join(root, 'docs/operations.md'), 'utf8');
  const read = variablesRead();

  it('finds the variables the code reads', () => {
    for (const name of [
      'DATABASE_URL',
      'REDIS_URL',
      'TAKEOUT_SYNC_MAX_ROWS',
      'TAKEOUT_METRICS_PORT',
      'TAKEOUT_JOB_LEASE',
    ]) {
      expect(read).toContain(name);
    }
  });

  it('lists every environment variable the code reads', () => {
    const missing = [...read].filter((name) => !doc.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
