import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Imports point one way (DESIGN.md, "Conventions"): plug-ins (formats, sources, storage)
// import only types, errors, neutral helpers and their own libraries; the export core builds
// on them; http/ and cli/ are front doors that nothing else imports.
const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

const PLUGINS = ['formats', 'sources', 'storage'];
/** What a plug-in must never import: front doors and the layers built on plug-ins. */
const ABOVE_PLUGINS = ['http/', 'cli/', 'exports/', 'jobs/', 'pipeline.ts', 'service.ts', 'workbook.ts'];
const FRONT_DOORS = ['http/', 'cli/'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? filesUnder(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Relative module specifiers of a file's static, type-only, re-export and dynamic imports. */
function importsOf(text: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    /\bfrom\s+['"](\.[^'"]+)['"]/g,
    /\bimport\s*\(\s*['"](\.[^'"]+)['"]\s*\)/g,
    /^import\s+['"](\.[^'"]+)['"]/gm,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) specifiers.push(match[1]!);
  return specifiers;
}

/** `src`-relative paths (`http/server.ts`) that `file` imports. */
function targetsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  return importsOf(text).map((specifier) =>
    relative(src, resolve(dirname(file), specifier))
      .replace(/\.js$/, '.ts')
      .split('\\')
      .join('/'),
  );
}

function crossing(file: string, forbidden: readonly string[], text?: string): string[] {
  return targetsOf(file, text).filter((target) =>
    forbidden.some((f) => (f.endsWith('/') ? target.startsWith(f) : target === f)),
  );
}

describe('import boundaries', () => {
  it('finds a crossing import (the check itself works)', () => {
    const file = join(src, 'formats', 'csv.ts');
    const text =
      "import { x } from '../pipeline.js';\nconst y = await import('../http/server.js');\nexport type { Z } from '../exports/plan.js';";
    expect(crossing(file, ABOVE_PLUGINS, text)).toEqual(['pipeline.ts', 'exports/plan.ts', 'http/server.ts']);
  });

  it.each(PLUGINS)(
    '%s/ imports nothing from http/, cli/, the export core, jobs or the pipeline',
    (plugin) => {
      const violations = filesUnder(join(src, plugin)).flatMap((file) =>
        crossing(file, ABOVE_PLUGINS).map((target) => `${relative(src, file)} -> ${target}`),
      );
      expect(violations).toEqual([]);
    },
  );

  it('nothing outside http/ and cli/ imports them (front doors)', () => {
    const violations = filesUnder(src)
      .filter((file) => !FRONT_DOORS.some((door) => relative(src, file).startsWith(door)))
      .flatMap((file) => crossing(file, FRONT_DOORS).map((target) => `${relative(src, file)} -> ${target}`));
    expect(violations).toEqual([]);
  });
});
