/**
 * What the CLI says to a user who typed something slightly wrong: the likely fix of a typo
 * (without the whole usage burying it), `takeout help <command>`, format-option flags named
 * as typed, `--delimiter '\t'`, token ids that `--principal` can address, and input that is
 * not NDJSON or a JSON array or is a URL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-cli-usability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = '{"a":1,"b":2}\n';
const toStdout = ['export', '-f', 'csv', '-o', '-'];

describe('typos', () => {
  it('suggests the option meant, and points at the help instead of printing it (exit 2)', async () => {
    const cases: [string[], string][] = [
      [
        ['export', '--fromat', 'csv', '-o', '-'],
        'takeout: unknown option --fromat (did you mean --format?)\nsee takeout export --help\n',
      ],
      [
        [...toStdout, '--sheetname', 'x'],
        'takeout: unknown option --sheetname (did you mean --sheet-name?)\nsee takeout export --help\n',
      ],
      [
        [...toStdout, '--output', 'x.csv'],
        'takeout: unknown option --output (did you mean --out?)\nsee takeout export --help\n',
      ],
      [
        ['jobs', 'list', '--ownr', 'ann'],
        'takeout: unknown option --ownr (did you mean --owner?)\nsee takeout jobs list --help\n',
      ],
      [
        ['token', '--idd', 'ann'],
        'takeout: unknown option --idd (did you mean --id?)\nsee takeout token --help\n',
      ],
      [
        ['serve', '--insecure-no-aut'],
        'takeout: unknown option --insecure-no-aut (did you mean --insecure-no-auth?)\nsee takeout serve --help\n',
      ],
      [
        ['worker', '--help-me'],
        'takeout: unknown option --help-me (did you mean --help?)\nsee takeout worker --help\n',
      ],
      [['migrate', '--bogus'], 'takeout: unknown option --bogus\nsee takeout migrate --help\n'],
      // Nothing close: no guess, only the pointer.
      [[...toStdout, '--zzz'], 'takeout: unknown option --zzz\nsee takeout export --help\n'],
    ];
    for (const [args, err] of cases) {
      const result = await runCli(args, { stdin: ROWS, env: { TAKEOUT_DATA_DIR: join(dir, 'none') } });
      expect(result, args.join(' ')).toEqual({ code: 2, out: '', err });
    }
  });

  it('suggests the command meant (exit 2), and says nothing of one far off', async () => {
    const cases: [string[], string][] = [
      [['exprot'], 'takeout: unknown command exprot (did you mean export?)\nsee takeout --help\n'],
      [
        ['stroage', 'sweep'],
        'takeout: unknown command stroage (did you mean storage?)\nsee takeout --help\n',
      ],
      [['--verison'], 'takeout: unknown option --verison (did you mean --version?)\nsee takeout --help\n'],
      [['nope'], 'takeout: unknown command nope\nsee takeout --help\n'],
      // Not a property of every object either.
      [['constructor'], 'takeout: unknown command constructor\nsee takeout --help\n'],
    ];
    for (const [args, err] of cases) {
      expect(await runCli(args), args.join(' ')).toEqual({ code: 2, out: '', err });
    }
  });

  it('prints a command’s help for takeout help <command>, on stdout with exit 0', async () => {
    const cases: [string[], RegExp][] = [
      [['help'], /^Usage: takeout <command>/],
      [['help', 'export'], /^Usage: takeout export --format/],
      [['help', 'token'], /^Usage: takeout token --id/],
      [['help', 'jobs', 'list'], /^Usage: takeout jobs <command>/],
      [['help', 'storage'], /^Usage: takeout storage <command>/],
    ];
    for (const [args, usage] of cases) {
      const result = await runCli(args);
      expect([result.code, result.err], args.join(' ')).toEqual([0, '']);
      expect(result.out, args.join(' ')).toMatch(usage);
    }
    expect((await runCli(['--help'])).out).toContain('help <command>');
    expect(await runCli(['help', 'exprot'])).toEqual({
      code: 2,
      out: '',
      err: 'takeout: unknown command exprot (did you mean export?)\nsee takeout --help\n',
    });
  });
});

describe('format-option flags', () => {
  it('names the flag typed, and the formats it applies to, when the format has no such option', async () => {
    const cases: [string[], string][] = [
      [['-f', 'csv', '--sheet-name', 'x'], '--sheet-name applies to xlsx only, not csv'],
      [['-f', 'json', '--no-header'], '--no-header applies to csv, tsv and xlsx only, not json'],
      [['-f', 'json', '--bom'], '--bom applies to csv and tsv only, not json'],
      [['-f', 'ndjson', '--excel'], '--excel applies to csv and tsv only, not ndjson'],
      [['-f', 'json', '--line-ending', 'lf'], '--line-ending applies to csv and tsv only, not json'],
      [['-f', 'xlsx', '--delimiter', ';'], '--delimiter applies to csv and tsv only, not xlsx'],
      [
        ['-f', 'tsv', '--delimiter', ';'],
        '--delimiter with tsv can only be a TAB: for another delimiter, use -f csv',
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['export', '-o', join(dir, 'never'), ...args], { stdin: ROWS });
      expect(result, args.join(' ')).toEqual({
        code: 2,
        out: '',
        err: `takeout: invalid_option: ${message}\n`,
      });
    }
  });

  it("reads --delimiter '\\t' and tab as a TAB, and says --delimiter of one that is not one character", async () => {
    for (const tab of ['\\t', 'tab', 'TAB', '\t']) {
      const result = await runCli([...toStdout, '--delimiter', tab], { stdin: ROWS });
      expect([result.code, result.err, result.out], JSON.stringify(tab)).toEqual([0, '', 'a\tb\r\n1\t2\r\n']);
    }
    for (const bad of ['ab', '\\n', '"']) {
      const result = await runCli([...toStdout, '--delimiter', bad], { stdin: ROWS });
      expect([result.code, result.out, result.err], bad).toEqual([
        2,
        '',
        `takeout: invalid_option: --delimiter must be one character other than a quote or line break (for a TAB: '\\t' or tab), got ${JSON.stringify(bad)}\n`,
      ]);
    }
    // --options speaks the request's words, and is answered in them.
    const options = await runCli([...toStdout, '--options', '{"delimiter":"ab"}'], { stdin: ROWS });
    expect([options.code, options.err]).toEqual([
      2,
      expect.stringMatching(/^takeout: invalid_option: options\./),
    ]);
    const csv = await runCli([...toStdout, '--delimiter', ';'], { stdin: ROWS });
    expect(parse(csv.out, { delimiter: ';' })).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('refuses a --param given twice rather than letting the last win, and -f TSV with another delimiter', async () => {
    const twice = await runCli([
      'export',
      '-f',
      'csv',
      '-o',
      '-',
      '--sqlite',
      'x.db',
      '-q',
      'SELECT :n',
      '-p',
      'n=1',
      '-p',
      'n=2',
    ]);
    expect([twice.code, twice.out, twice.err.split('\n')[0]]).toEqual([
      2,
      '',
      'takeout: --param n is given twice; give it once',
    ]);
    const tsv = await runCli(['export', '-f', 'TSV', '-o', '-', '--delimiter', ','], { stdin: ROWS });
    expect([tsv.code, tsv.err.split('\n')[0]]).toEqual([
      2,
      'takeout: invalid_option: --delimiter with tsv can only be a TAB: for another delimiter, use -f csv',
    ]);
  });
});

describe('takeout token', () => {
  it('refuses an id or tenant holding ":" and empty values (exit 2): no principal could be named so', async () => {
    const cases: [string[], string][] = [
      [
        ['--id', 'a:b'],
        'takeout: --id must not contain ":" (it separates ID:TENANT in --principal, --owner and TAKEOUT_API_TOKENS); give the tenant with --tenant',
      ],
      [
        ['--id', 'a', '--tenant', 'x:y'],
        'takeout: --tenant must not contain ":" (it separates ID:TENANT in --principal, --owner and TAKEOUT_API_TOKENS)',
      ],
      [['--id', 'a', '--tenant', ''], 'takeout: --tenant needs a value; it was given an empty one'],
      [['--id', ''], 'takeout: --id needs a value; it was given an empty one'],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['token', ...args]);
      expect([result.code, result.out, result.err.split('\n')[0]], args.join(' ')).toEqual([2, '', message]);
    }
    const ok = await runCli(['token', '--id', 'ann', '--tenant', 't1']);
    expect([ok.code, ok.err]).toEqual([0, '']);
    expect(ok.out).toMatch(
      /^token: tk_\S+\nconfig entry: \{"sha256":"[0-9a-f]{64}","id":"ann","tenant":"t1"\}\n$/,
    );
  });
});

describe('input takeout does not read', () => {
  it('says which input is read when the first line is not JSON (CSV, most often)', async () => {
    const result = await runCli(toStdout, { stdin: '\na,b\n1,2\n' });
    expect([result.code, result.out, result.err]).toEqual([
      1,
      '',
      'takeout: invalid_rows: line 2 is not valid JSON: rows are read as NDJSON (one JSON object or array a line) or one JSON array, not CSV or other text\n',
    ]);
    // A later line is a bad row, not a wrong kind of input: no hint.
    const later = await runCli(toStdout, { stdin: `${ROWS}a,b\n` });
    expect([later.code, later.err]).toEqual([1, 'takeout: invalid_rows: line 2 is not valid JSON\n']);
  });

  it('says a URL given as --input is not fetched, and how to pipe it in (exit 2)', async () => {
    const url = 'https://example.com/rows.ndjson';
    expect(await runCli([...toStdout, '--input', url])).toEqual({
      code: 2,
      out: '',
      err: `takeout: invalid_option: --input ${url} is a URL, and URLs are not fetched: pipe the rows in (curl -fsSL URL | takeout export ...)\n`,
    });
    const sqlite = await runCli([...toStdout, '--sqlite', 's3://bucket/shop.db', '--query', 'SELECT 1']);
    expect([sqlite.code, sqlite.err]).toEqual([
      2,
      'takeout: invalid_option: --sqlite s3://bucket/shop.db is a URL, and URLs are not fetched: give a file\n',
    ]);
    // A file that is missing is still said to be missing.
    const missing = join(dir, 'missing.ndjson');
    expect((await runCli([...toStdout, '--input', missing])).err).toBe(
      `takeout: invalid_option: --input ${missing}: no such file\n`,
    );
  });
});
