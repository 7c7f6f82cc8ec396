import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[] }>;
};

/** Package names a directory's TypeScript files import (static, dynamic and require). */
function packagesImported(dir: string): Set<string> {
  const names = new Set<string>();
  const files = (readdirSync(join(root, dir), { recursive: true }) as string[]).filter((f) =>
    /\.(ts|mjs)$/.test(f),
  );
  for (const file of files) {
    const text = readFileSync(join(root, dir, file), 'utf8');
    for (const match of text.matchAll(
      /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\(\s*)['"]([^'".][^'"]*)['"]/g,
    )) {
      const specifier = match[1]!;
      if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      const parts = specifier.split('/');
      const name = specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
      // Only what npm could install (a regex literal in a test may look like an import).
      if (/^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/.test(name)) names.add(name);
    }
  }
  return names;
}

describe('package.json', () => {
  it('exports entry points that exist, bullmqQueue among them (docs/queue.md)', async () => {
    const exports = (pkg as unknown as { exports: Record<string, string | { import: string }> }).exports;
    const sources = Object.entries(exports)
      .filter(([, target]) => typeof target !== 'string')
      .map(([path, target]) => [
        path,
        (target as { import: string }).import.replace(/^\.\/dist\/(.*)\.js$/, 'src/$1.ts'),
      ]);
    for (const [path, source] of sources)
      expect(readdirSync(join(root, source!, '..')), path).toContain(source!.split('/').pop());
    const bullmq = sources.find(([path]) => path === './bullmq')?.[1];
    expect(typeof (await import(join(root, bullmq!))).bullmqQueue).toBe('function');
  });

  /** Each entry point's target, and the names a CommonJS caller must find there. */
  const ENTRY_POINTS: Record<string, string[]> = {
    '.': ['createService', 'loadConfig', 'runExport', 'TakeoutError'],
    './http': ['takeoutHandler', 'takeoutRoutes', 'buildServer'],
    './postgres': ['postgresSource'],
    './storage': ['diskStorage', 'storageFromUrl', 'loadOrCreateSecret'],
    './bullmq': ['bullmqQueue'],
  };
  const specifier = (path: string) => `takeout${path.slice(1)}`;

  it('can be require()d (Node ^20.19 loads ESM): every entry point has a default condition', () => {
    const exports = (pkg as unknown as { exports: Record<string, string | Record<string, string>> }).exports;
    expect(Object.keys(ENTRY_POINTS).sort()).toEqual(
      Object.keys(exports)
        .filter((path) => typeof exports[path] !== 'string')
        .sort(),
    );
    // Node's own CommonJS resolver, from a project that installed the package: a stand-in with
    // this package.json and an empty module at each target (the real ones need a build).
    const dir = mkdtempSync(join(tmpdir(), 'takeout-require-'));
    try {
      const installed = join(dir, 'node_modules', 'takeout');
      mkdirSync(installed, { recursive: true });
      copyFileSync(join(root, 'package.json'), join(installed, 'package.json'));
      const require = createRequire(join(dir, 'index.js'));
      for (const path of Object.keys(ENTRY_POINTS)) {
        const target = exports[path] as Record<string, string>;
        mkdirSync(dirname(join(installed, target.import!)), { recursive: true });
        writeFileSync(join(installed, target.import!), 'export {};\n');
        expect(require.resolve(specifier(path)), path).toBe(join(installed, target.import!));
        expect(target.default, path).toBe(target.import);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The built package (npm run build) as a CommonJS project gets it: node_modules/takeout is a link.
  it.skipIf(!existsSync(join(root, 'dist', 'index.js')))(
    'loads with require() from a CommonJS project, with its exports',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'takeout-require-'));
      try {
        mkdirSync(join(dir, 'node_modules'));
        symlinkSync(root, join(dir, 'node_modules', 'takeout'), 'dir');
        const script = `console.log(JSON.stringify(Object.fromEntries(${JSON.stringify(
          Object.keys(ENTRY_POINTS).map(specifier),
        )}.map((name) => [name, Object.keys(require(name))]))))`;
        const loaded = JSON.parse(
          execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8', timeout: 20_000 }),
        ) as Record<string, string[]>;
        for (const [path, names] of Object.entries(ENTRY_POINTS))
          expect(loaded[specifier(path)], path).toEqual(expect.arrayContaining(names));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('declares every package the library imports as a dependency', () => {
    const missing = [...packagesImported('src')].filter((name) => !Object.hasOwn(pkg.dependencies, name));
    expect(missing).toEqual([]);
  });

  it('declares every package the tests import', () => {
    const declared = { ...pkg.dependencies, ...pkg.devDependencies };
    const missing = [...packagesImported('test')].filter((name) => !Object.hasOwn(declared, name));
    expect(missing).toEqual([]);
  });

  it('installs on Node 20 without engine warnings', () => {
    // ">=22" and the like: a lower bound above 20 is what npm warns about on Node 20.
    const tooNew = Object.entries(lock.packages)
      .filter(([, entry]) => {
        const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
        const lower = range && /^>=?\s*v?(\d+)/.exec(range.trim());
        return lower !== null && lower !== undefined && Number(lower[1]) > 20;
      })
      .map(([name, entry]) => `${name} ${JSON.stringify(entry.engines)}`);
    expect(tooNew).toEqual([]);
  });
});
