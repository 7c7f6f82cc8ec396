import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { readRows } from '../../src/cli/input.js';
import { runCli } from '../support/cli.js';
import { createSchema } from './postgres-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-cli-'));

const cli = (args: string[], stdin = '') => runCli(args, { stdin });

/** The CLI as a real process (signals, pipes), with what it writes to stderr so far. */
function cliProcess(args: string[]) {
  const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args]);
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  return { child, stderr: () => stderr };
}

describe('takeout export', () => {
  it('reads NDJSON from stdin and writes CSV (as a real process)', async () => {
    const out = join(dir, 'from-stdin.csv');
    const child = execFile(process.execPath, [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'export',
      '--format',
      'csv',
      '--out',
      out,
    ]);
    child.stdin!.end('{"id":1,"name":"a, b"}\n\n{"id":2,"name":"=cmd|\' /C calc\'!A0"}\n');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(parse(readFileSync(out), { columns: true })).toEqual([
      { id: '1', name: 'a, b' },
      { id: '2', name: "'=cmd|' /C calc'!A0" },
    ]);
  });

  it('stops on Ctrl-C with exit 130 and leaves no file, not even a partial one', async () => {
    const sub = mkdtempSync(join(dir, 'sigint-'));
    const out = join(sub, 'interrupted.csv');
    const { child, stderr } = cliProcess(['export', '-f', 'csv', '-o', out]);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.stdin!.on('error', () => {}); // EPIPE once it has exited
    // Rows keep coming (stdin stays open) until the temp file has some of them.
    const row = `${JSON.stringify({ id: 1, text: 'x'.repeat(200) })}\n`.repeat(1000);
    const feed = setInterval(() => child.stdin!.write(row), 20);
    try {
      await expect.poll(() => readdirSync(sub).length, { timeout: 20_000 }).toBeGreaterThan(0);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      clearInterval(feed);
      child.stdin!.destroy();
    }
    expect(stderr()).toMatch(/takeout: interrupted; no file written/);
    expect(readdirSync(sub)).toEqual([]);
  });

  it('ends quietly when the reader of stdout goes away (| head)', async () => {
    const input = join(dir, 'many.ndjson');
    writeFileSync(input, '{"a":1,"b":"some text to fill the pipe"}\n'.repeat(200_000));
    const { child, stderr } = cliProcess(['export', '-f', 'csv', '-o', '-', '-i', input]);
    child.stdout!.once('data', () => child.stdout!.destroy());
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect([code, stderr()]).toEqual([0, '']);
  });

  it('reads a JSON array file and writes NDJSON with chosen columns', async () => {
    const input = join(dir, 'rows.json');
    writeFileSync(
      input,
      JSON.stringify([
        { a: 1, b: 'x', c: true },
        { a: 2, b: 'y', c: false },
      ]),
    );
    const out = join(dir, 'rows.ndjson');
    const result = await cli([
      'export',
      '--format',
      'ndjson',
      '--input',
      input,
      '--out',
      out,
      '--columns',
      'c,a',
    ]);
    expect(result.code).toBe(0);
    expect(
      readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { c: true, a: 1 },
      { c: false, a: 2 },
    ]);
  });

  it('reads NDJSON whose rows are arrays, and still one JSON array however it is laid out', async () => {
    const csv = async (stdin: string, columns?: string) =>
      cli(['export', '--format', 'csv', '--out', '-', ...(columns ? ['--columns', columns] : [])], stdin);
    const arrayRows = await csv('["a",1]\n["b",2]\n', 'x,y');
    expect([arrayRows.code, arrayRows.err]).toEqual([0, '']);
    expect(parse(arrayRows.out)).toEqual([
      ['x', 'y'],
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(parse((await csv('["a",1]\n', 'x,y')).out)).toEqual([
      ['x', 'y'],
      ['a', '1'],
    ]);
    for (const array of ['[{"a":1},{"a":2}]', '[\n  {"a": 1},\n  {"a": 2}\n]\n', '[{"a":1},\n{"a":2}]']) {
      expect(parse((await csv(array)).out), array).toEqual([['a'], ['1'], ['2']]);
    }
    // A compact array on one line (JSON.stringify, jq -c), read from a file in 64 KiB chunks,
    // is looked at in linear time (it took minutes).
    const many = Array.from({ length: 30_000 }, (_, i) => ({
      id: i,
      name: `name ${i}`,
      mail: `m${i}@x.test`,
    }));
    const file = join(dir, 'one-line.json');
    writeFileSync(file, JSON.stringify(many));
    const compact = await cli(['export', '--format', 'csv', '--out', '-', '--input', file]);
    expect(compact.out.split('\r\n')).toHaveLength(30_002);
    // And from a pipe that brings it 100 bytes at a time.
    const text = JSON.stringify(many);
    const trickle: string[] = [];
    for (let i = 0; i < text.length; i += 100) trickle.push(text.slice(i, i + 100));
    const started = Date.now();
    let count = 0;
    for await (const _ of readRows(undefined, Readable.from(trickle))) count++;
    expect(count).toBe(30_000);
    expect(Date.now() - started).toBeLessThan(10_000); // the peek it replaces took longer
    expect(parse((await csv('[["a",1],["b",2]]', 'x,y')).out)).toEqual([
      ['x', 'y'],
      ['a', '1'],
      ['b', '2'],
    ]);
  });

  it('keeps integers beyond 2^53 of NDJSON and JSON-array input exact', async () => {
    const row =
      '{"id":12345678901234567891,"neg":-98765432109876543210,"text":"12345678901234567891","n":1.5}';
    const ndjson = join(dir, 'big.ndjson');
    const array = join(dir, 'big.json');
    writeFileSync(ndjson, `${row}\n${row}\n`);
    writeFileSync(array, `[${row},\n ${row}]`);
    for (const input of [ndjson, array]) {
      const out = join(dir, 'big.csv');
      const result = await cli(['export', '--format', 'csv', '--input', input, '--out', out]);
      expect(result.code, result.err).toBe(0);
      const expected = {
        id: '12345678901234567891',
        neg: '-98765432109876543210',
        text: '12345678901234567891',
        n: '1.5',
      };
      expect(parse(readFileSync(out), { columns: true })).toEqual([expected, expected]);
    }
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '[{"id":12345678901234567891}, {"id": 0012}]');
    const result = await cli(['export', '--format', 'csv', '--input', bad, '--out', join(dir, 'bad.csv')]);
    expect(result.code).not.toBe(0);
    expect(result.err).toContain('invalid_rows');
  });

  it('exports a SQLite query with a parameter, in TSV, to stdout', async () => {
    const db = join(dir, 'q.sqlite');
    const handle = new Database(db);
    handle.exec(
      "CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three');",
    );
    handle.close();
    const result = await cli([
      'export',
      '--format',
      'tsv',
      '--out',
      '-',
      '--sqlite',
      db,
      '--query',
      'SELECT * FROM t WHERE id >= :min',
      '--param',
      'min=2',
      '--line-ending',
      'lf',
    ]);
    expect(result.code).toBe(0);
    expect(result.out).toBe('id\tname\n2\ttwo\n3\tthree\n');
    // A number is bound as a number, as PostgreSQL would take it in `id * 2 > :min` (SQLite
    // finds text greater than every number); text that only looks numeric stays text.
    const typed = await cli([
      ...['export', '-f', 'tsv', '-o', '-', '--sqlite', db, '--line-ending', 'lf', '--query'],
      'SELECT id, typeof(:min), :zip, typeof(:zip), typeof(:inf) FROM t WHERE id * 2 > :min',
      ...['--param', 'min=3.5', '--param', 'zip=007', '--param', 'inf=Infinity'],
    ]);
    expect([typed.code, typed.err]).toEqual([0, '']);
    expect(typed.out.split('\n').slice(1)).toEqual([
      '2\treal\t007\ttext\ttext',
      '3\treal\t007\ttext\ttext',
      '',
    ]);
    // A --param the --query needs and the command line lacks: bad usage (exit 2), like a
    // dataset's, though SQLite only finds it out as the export runs.
    const toStdout = (query: string, ...more: string[]) =>
      cli(['export', '-f', 'csv', '-o', '-', '--sqlite', db, '--query', query, ...more]);
    const missing = await toStdout('SELECT :x AS a');
    expect([missing.code, missing.err]).toEqual([2, 'takeout: invalid_params: Missing parameter "x"\n']);
    // One the query does not use is refused alike, as on PostgreSQL: `--param limit=1` must not
    // be dropped without a word while every row is exported.
    const unused = await toStdout('SELECT 1 AS a', '--param', 'limit=1');
    expect([unused.code, unused.err, unused.out]).toEqual([
      2,
      'takeout: invalid_params: Unknown parameter "limit"\n',
      '',
    ]);
  });

  it('exports a PostgreSQL query through the cursor and the COPY path alike', async () => {
    const schema = await createSchema('takeout_cli');
    try {
      await schema.admin.query(
        "CREATE TABLE t (id int, name text); INSERT INTO t VALUES (1, 'a,b'), (2, '=2+2')",
      );
      const args = [
        'export',
        '--format',
        'csv',
        '--out',
        '-',
        '--postgres',
        schema.url,
        '--query',
        'SELECT * FROM t WHERE id <= :max ORDER BY id',
        '--param',
        'max=5',
      ];
      const cursor = await cli(args);
      const copy = await cli([...args, '--copy']);
      expect(cursor.code).toBe(0);
      expect(parse(cursor.out, { columns: true })).toEqual([
        { id: '1', name: 'a,b' },
        { id: '2', name: "'=2+2" },
      ]);
      expect(copy.out).toBe(cursor.out);
    } finally {
      await schema.drop();
    }
  });

  it('fails with one line and a non-zero exit on bad input, leaving no partial file', async () => {
    const out = join(dir, 'never.csv');
    const bad = await cli(['export', '--format', 'csv', '--out', out], '{"ok":1}\n{not json}\n');
    expect(bad.code).toBe(1);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
    expect(bad.err).toMatch(/^takeout: invalid_rows: line 2 is not valid JSON/);
    expect(() => readFileSync(out)).toThrow();

    // A bad flag value is a usage error (docs/errors.md: invalid_option and the like exit 2).
    const format = await cli(['export', '--format', 'pdf', '--out', out], '{"a":1}\n');
    expect(format.code).toBe(2);
    expect(format.err).toMatch(/^takeout: unknown_format: /);

    const usage = await cli(['export', '--format', 'csv']);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/--out is required/);

    const unknownFlag = await cli(['export', '--frobnicate']);
    expect(unknownFlag.code).toBe(2);

    const csvToStdout = ['export', '--format', 'csv', '--out', '-', '--sqlite'];
    // A file that is not there is the flag's (exit 2); one SQLite cannot open is the source's (1).
    const missing = join(dir, 'missing.sqlite');
    const query = await cli([...csvToStdout, missing, '--query', 'SELECT 1']);
    expect([query.code, query.err]).toEqual([
      2,
      `takeout: invalid_option: --sqlite ${missing}: no such file\n`,
    ]);
    const unreadable = join(dir, 'not-sqlite.sqlite');
    writeFileSync(unreadable, 'not a database at all\n'.repeat(200));
    const broken = await cli([...csvToStdout, unreadable, '--query', 'SELECT 1']);
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(/^takeout: source_(query_)?error: .*\(file is not a database\)/);
    const db = join(dir, 'empty.sqlite');
    new Database(db).close();
    const badSql = await cli([...csvToStdout, db, '--query', 'SELECT nope']);
    expect(badSql.err).toBe(
      'takeout: source_query_error: The query refers to a column that does not exist (SQLITE_ERROR) (no such column: nope)\n',
    );
  });

  it('refuses source options that the chosen source does not use (exit 2), never exporting stdin instead', async () => {
    const out = join(dir, 'never-dataset.csv');
    const base = ['export', '--format', 'csv', '--out', out];
    const cases: [string[], RegExp][] = [
      [['--dataset', 'orders', '--param', 'country=DE'], /--dataset needs --config \(or TAKEOUT_CONFIG\)/],
      [['--param', 'x=1'], /--param binds a dataset or --query parameter/],
      [['--copy'], /--copy goes with --postgres/],
      [
        ['--sqlite', join(dir, 'x.sqlite'), '--query', 'SELECT 1', '--dataset', 'x'],
        /--dataset names a dataset/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await cli([...base, ...args], '{"a":1}\n');
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.err).toMatch(message);
    }
    expect(() => readFileSync(out)).toThrow();
    // TAKEOUT_CONFIG, which `takeout serve` reads, says where `--dataset` is defined.
    const db = join(dir, 'one.sqlite');
    const sqlite = new Database(db);
    sqlite.exec('CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1)');
    sqlite.close();
    const config = join(dir, 'datasets.json');
    writeFileSync(
      config,
      JSON.stringify({ datasets: [{ name: 'one', connection: { sqlite: db }, sql: 'SELECT n FROM t' }] }),
    );
    const viaEnv = await runCli(['export', '--format', 'csv', '--out', '-', '--dataset', 'one'], {
      env: { TAKEOUT_CONFIG: config },
    });
    expect([viaEnv.code, viaEnv.err, viaEnv.out]).toEqual([0, '', 'n\r\n1\r\n']);
    // What a dataset of the config does not use is refused there too.
    for (const extra of [
      ['--query', 'SELECT 2'],
      ['--input', join(dir, 'rows.ndjson')],
    ]) {
      const refused = await runCli(
        ['export', '--format', 'csv', '--out', '-', '--dataset', 'one', ...extra],
        {
          env: { TAKEOUT_CONFIG: config },
        },
      );
      expect([refused.code, refused.err], extra[0]).toEqual([
        2,
        expect.stringContaining(`${extra[0]} does not go with a dataset of --config`),
      ]);
    }
  });

  it('refuses a misspelt option with exit 2 and the message HTTP gives', async () => {
    const out = join(dir, 'never-options.csv');
    const result = await cli(
      ['export', '--format', 'csv', '--out', out, '--options', '{"delimeter":";"}'],
      '{"a":1}\n',
    );
    expect(result.code).toBe(2);
    expect(result.err).toBe('takeout: invalid_option: The csv format has no option "delimeter"\n');
    expect(() => readFileSync(out)).toThrow();
    const good = await cli(
      ['export', '--format', 'csv', '--out', '-', '--options', '{"delimiter":";"}'],
      '{"a":1,"b":2}\n',
    );
    expect(good.out).toBe('a;b\r\n1;2\r\n');
  });

  it('prints help and version', async () => {
    expect((await cli(['--help'])).out).toMatch(/Usage: takeout <command>/);
    expect((await cli(['export', '--help'])).out).toMatch(/--sqlite DB --query SQL/);
    expect((await cli(['--version'])).out).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect((await cli(['nope'])).code).toBe(2);
  });

  it('refuses arguments that serve and worker do not take (exit 2), before starting anything', async () => {
    for (const command of ['serve', 'worker']) {
      const result = await cli([command, '--port', '8080']);
      expect([result.code, result.err], command).toEqual([
        2,
        `takeout: unknown option --port\nsee takeout ${command} --help\n`,
      ]);
    }
  });
});
