/**
 * Where `takeout export --out` writes: a regular file through a temp name renamed over it
 * (keeping its mode), a symlink's target rather than the link, a named pipe in place; a
 * target that cannot be written is refused before the export runs. And binary XLSX is never
 * written to a terminal, nor does a terminal on stdin wait without a word.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  createReadStream,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { outTargetOf } from '../../src/cli/output.js';
import { main } from '../../src/cli/run.js';
import { runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-cli-out-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = '{"id":1,"name":"a"}\n{"id":2,"name":"b"}\n';
const CSV = 'id,name\r\n1,a\r\n2,b\r\n';
const csvTo = (out: string) => runCli(['export', '-f', 'csv', '-o', out], { stdin: ROWS });

/** The CLI with terminals where the test says (`isTTY`), as a shell would give them. */
async function onTerminal(
  args: string[],
  tty: { stdin?: boolean; stdout?: boolean; stderr?: boolean },
  input = ROWS,
) {
  const stdout = Object.assign(new PassThrough(), { isTTY: tty.stdout ?? false });
  const stderr = Object.assign(new PassThrough(), { isTTY: tty.stderr ?? false });
  const stdin = Object.assign(Readable.from([input]), { isTTY: tty.stdin ?? false });
  const out = text(stdout);
  const err = text(stderr);
  const code = await main(args, { stdin, stdout, stderr, env: {} });
  stdout.end();
  stderr.end();
  return { code, out: await out, err: await err };
}

describe('takeout export --out', () => {
  it('keeps the mode of the file it replaces (a private file stays private)', async () => {
    const out = join(dir, 'private.csv');
    writeFileSync(out, 'old\n');
    chmodSync(out, 0o640);
    expect(await csvTo(out)).toMatchObject({ code: 0, err: '' });
    expect(readFileSync(out, 'utf8')).toBe(CSV);
    expect(statSync(out).mode & 0o777).toBe(0o640);
  });

  it('writes the target of a symlink, which stays a symlink, its target keeping its mode', async () => {
    const sub = mkdtempSync(join(dir, 'link-'));
    const real = join(sub, 'real.csv');
    writeFileSync(real, 'old\n');
    chmodSync(real, 0o600);
    const link = join(sub, 'link.csv');
    symlinkSync('real.csv', link);
    expect(await csvTo(link)).toMatchObject({ code: 0, err: '' });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe(CSV);
    expect(statSync(real).mode & 0o777).toBe(0o600);
    expect(readdirSync(sub).sort()).toEqual(['link.csv', 'real.csv']);
  });

  it('writes a named pipe in place, never replacing it with a file', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const read = text(createReadStream(fifo));
    expect(await csvTo(fifo)).toMatchObject({ code: 0, err: '' });
    expect(await read).toBe(CSV);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('takes devices, through a symlink too, as targets written in place', async () => {
    // Only the decision is tested: an export that replaced /dev/null (as root) would break the machine.
    expect(await outTargetOf('/dev/null')).toEqual({
      kind: 'in-place',
      path: '/dev/null',
      given: '/dev/null',
    });
    const link = join(dir, 'null-link');
    symlinkSync('/dev/null', link);
    expect(await outTargetOf(link)).toMatchObject({ kind: 'in-place' });
    // Stdout by its name is stdout, whatever it is open on (a socket has no path to open).
    expect(await outTargetOf('/dev/stdout')).toEqual({ kind: 'stdout' });
  });

  it('refuses a target in no directory, or a directory, before exporting (exit 2, naming --out)', async () => {
    const before = readdirSync(dir).sort();
    const cases: [string, string][] = [
      [join(dir, 'no-such-dir', 'x.csv'), `the directory ${join(dir, 'no-such-dir')} does not exist`],
      [dir, 'is a directory'],
    ];
    for (const [out, why] of cases) {
      const result = await csvTo(out);
      expect(result.code, out).toBe(2);
      expect(result.err).toMatch(/^takeout: invalid_option: --out /);
      expect(result.err).toContain(why);
    }
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    const under = await csvTo(join(file, 'x.csv'));
    expect([under.code, under.err]).toEqual([2, expect.stringContaining(`${file} is not a directory`)]);
    // --async too, before the service is asked anything (it is not there).
    const remote = await runCli([
      'export',
      '--async',
      '--url',
      'http://127.0.0.1:1',
      '-f',
      'csv',
      '--dataset',
      'd',
      '-o',
      join(dir, 'no-such-dir', 'x.csv'),
    ]);
    expect([remote.code, remote.err]).toEqual([2, expect.stringMatching(/^takeout: invalid_option: --out /)]);
    // No temp file was left anywhere.
    expect(readdirSync(dir).sort()).toEqual([...before, 'plain-file'].sort());
  });

  it('refuses to write over the file its rows come from (exit 2), which stays as it was', async () => {
    const db = join(dir, 'source.sqlite');
    execFileSync('/usr/bin/python3', [
      '-c',
      'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(a)"); c.execute("insert into t values (1)"); c.commit()',
      db,
    ]);
    const rows = join(dir, 'source.ndjson');
    writeFileSync(rows, ROWS);
    const link = join(dir, 'link-to-source.sqlite');
    symlinkSync(db, link);
    // A dataset's database, named in the config file (relative to it), and the config file
    // itself, given as --config or as TAKEOUT_CONFIG.
    const config = join(dir, 'source-config.json');
    writeFileSync(
      config,
      JSON.stringify({
        datasets: [{ name: 't', connection: { sqlite: 'source.sqlite' }, sql: 'SELECT a FROM t' }],
      }),
    );
    const before = [readFileSync(db), readFileSync(rows), readFileSync(config)];
    const fromConfig = { TAKEOUT_CONFIG: config };
    for (const [args, what, env] of [
      [['--sqlite', db, '--query', 'SELECT a FROM t', '-o', db], 'the --sqlite file', {}],
      [['--sqlite', db, '--query', 'SELECT a FROM t', '-o', link], 'the --sqlite file', {}],
      [['-i', rows, '-o', rows], 'the --input file', {}],
      [['--config', config, '--dataset', 't', '-o', db], 'the SQLite database of dataset t', {}],
      [['--dataset', 't', '-o', link], 'the SQLite database of dataset t', fromConfig],
      [['--config', config, '--dataset', 't', '-o', config], 'the --config file', {}],
      [['--dataset', 't', '-o', config], 'the TAKEOUT_CONFIG file', fromConfig],
    ] as const) {
      const result = await runCli(['export', '-f', 'csv', ...args], { env });
      expect([result.code, result.err], args.join(' ')).toEqual([
        2,
        expect.stringMatching(new RegExp(`^takeout: invalid_option: --out .* is ${what}; give another file`)),
      ]);
    }
    expect([readFileSync(db), readFileSync(rows), readFileSync(config)]).toEqual(before);
    // The same dataset into another file works.
    const out = join(dir, 'from-dataset.csv');
    expect(
      await runCli(['export', '-f', 'csv', '--dataset', 't', '-o', out], { env: fromConfig }),
    ).toMatchObject({
      code: 0,
    });
    expect(readFileSync(out, 'utf8')).toBe('a\r\n1\r\n');
  });

  // Needs root to run the CLI as another user (CI runs as root); elsewhere the user is that other one.
  it.skipIf(process.getuid?.() !== 0)(
    'refuses to replace a file its user may not write, as a shell would (exit 2)',
    async () => {
      // Renaming over it needs only the directory's permission: the file's own is checked.
      const shared = mkdtempSync(join(tmpdir(), 'takeout-cli-ro-'));
      try {
        chmodSync(shared, 0o1777);
        const target = join(shared, 'owned-by-root.csv');
        writeFileSync(target, 'kept\n', { mode: 0o444 });
        const input = join(shared, 'rows.ndjson');
        writeFileSync(input, ROWS, { mode: 0o644 });
        // As another user (root passes every permission check); the CLI from source, as tests run it.
        const run = () =>
          execFileSync(
            'setpriv',
            [
              '--reuid=65534',
              '--regid=65534',
              '--clear-groups',
              process.execPath,
              '--import',
              'tsx',
              'src/cli/main.ts',
              'export',
              '-f',
              'csv',
              '-o',
              target,
              '-i',
              input,
            ],
            { env: { PATH: process.env.PATH, HOME: shared }, stdio: 'pipe' },
          );
        let code = 0;
        let err = '';
        try {
          run();
        } catch (error) {
          code = (error as { status: number }).status;
          err = String((error as { stderr: Buffer }).stderr);
        }
        expect([code, err]).toEqual([
          2,
          expect.stringContaining(`cannot replace ${target} (permission denied)`),
        ]);
        expect(readFileSync(target, 'utf8')).toBe('kept\n');
      } finally {
        rmSync(shared, { recursive: true, force: true });
      }
    },
  );
});

describe('takeout export and terminals', () => {
  it('refuses XLSX to stdout on a terminal (exit 2, suggesting --out) but not into a pipe', async () => {
    const refused = await onTerminal(['export', '-f', 'xlsx', '-o', '-'], { stdout: true });
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('give --out FILE');
    expect(refused.out).toBe('');
    const piped = await onTerminal(['export', '-f', 'xlsx', '-o', '-'], { stdout: false });
    expect(piped.code).toBe(0);
    expect(piped.out.slice(0, 2)).toBe('PK');
    // CSV is text: a terminal shows it.
    expect(await onTerminal(['export', '-f', 'csv', '-o', '-'], { stdout: true })).toMatchObject({
      code: 0,
      out: CSV,
    });
    // --async too, before the service is asked anything.
    const remote = await onTerminal(
      ['export', '--async', '--url', 'http://127.0.0.1:1', '-f', 'xlsx', '--dataset', 'd', '-o', '-'],
      { stdout: true },
    );
    expect([remote.code, remote.err]).toEqual([2, expect.stringContaining('give --out FILE')]);
  });

  it('shows progress on a terminal, but not over rows printed on that terminal', async () => {
    const file = join(dir, 'progress.csv');
    const toFile = await onTerminal(['export', '-f', 'csv', '-o', file], { stderr: true });
    expect(toFile).toMatchObject({ code: 0, out: '' });
    expect(toFile.err).toMatch(/\r\x1b\[2K2 rows · [\d,]+ rows\/s · 19 B\n$/);
    // `-o -` on the same terminal: the progress line's rewrites would tear the rows apart.
    expect(await onTerminal(['export', '-f', 'csv', '-o', '-'], { stdout: true, stderr: true })).toEqual({
      code: 0,
      out: CSV,
      err: '',
    });
    // Rows piped elsewhere: progress on the terminal as ever.
    const piped = await onTerminal(['export', '-f', 'csv', '-o', '-'], { stdout: false, stderr: true });
    expect([piped.out, piped.err]).toEqual([CSV, expect.stringContaining('2 rows')]);
  });

  it('refuses a file name too long for its temp name beside it (exit 2, naming --out)', async () => {
    const longest = join(dir, `${'a'.repeat(255 - `.${process.pid}.partial`.length - 4)}.csv`);
    expect(await csvTo(longest)).toMatchObject({ code: 0, err: '' });
    const tooLong = join(dir, `${'a'.repeat(248)}.csv`);
    const result = await csvTo(tooLong);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(
      /^takeout: invalid_option: --out .*: its file name is too long \(at most \d+ bytes/,
    );
  });

  it('says it reads rows from stdin when stdin is a terminal', async () => {
    const result = await onTerminal(['export', '-f', 'csv', '-o', '-'], { stdin: true });
    expect(result).toMatchObject({ code: 0, out: CSV });
    expect(result.err).toMatch(
      /^takeout: reading rows from stdin \(NDJSON or a JSON array; Ctrl-D ends them\)/,
    );
    // Not when rows are piped in.
    expect((await onTerminal(['export', '-f', 'csv', '-o', '-'], { stdin: false })).err).toBe('');
  });
});
