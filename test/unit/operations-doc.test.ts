import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TAKEOUT_VARIABLES, unknownTakeoutVariables } from '../../src/env-names.js';

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
    // ... or with the name first, env bound: count('TAKEOUT_NOTIFY_CONCURRENCY', 8, 1000).
    for (const match of text.matchAll(/\b[a-z]\w*\(\s*'(TAKEOUT_[A-Z0-9_]+)'/g)) names.add(match[1]!);
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

describe('the TAKEOUT_ variables serve and worker know (src/env-names.ts)', () => {
  it('are exactly those the code reads, so a misspelt one is warned about and a real one never is', () => {
    const read = [...variablesRead()].filter((name) => name.startsWith('TAKEOUT_')).sort();
    expect([...TAKEOUT_VARIABLES].sort()).toEqual(read);
  });

  it('name a misspelt variable with what it was likely meant to be', () => {
    expect(
      unknownTakeoutVariables({
        TAKEOUT_WORKER: '0',
        TAKEOUT_WORKERS: '2',
        TAKEOUT_QUEUE_PREFX: 'x',
        HOME: '/',
      }),
    ).toEqual([
      'TAKEOUT_QUEUE_PREFX is not a Takeout setting and is ignored (did you mean TAKEOUT_QUEUE_PREFIX?) (docs/configuration.md)',
      'TAKEOUT_WORKER is not a Takeout setting and is ignored (did you mean TAKEOUT_WORKERS?) (docs/configuration.md)',
    ]);
    // The repository's own test and benchmark variables are never the service's.
    expect(
      unknownTakeoutVariables({ TAKEOUT_TEST_PG_URL: 'x', TAKEOUT_BENCH_DIST: 'x', TAKEOUT_CHROMIUM: 'x' }),
    ).toEqual([]);
    expect(unknownTakeoutVariables({ TAKEOUT_SOMETHING_ELSE_ENTIRELY: '1' })).toEqual([
      'TAKEOUT_SOMETHING_ELSE_ENTIRELY is not a Takeout setting and is ignored (docs/configuration.md)',
    ]);
  });
});
