/**
 * The CLI's flags and words: bad or empty values refused with exit 2 naming the flag, no
 * credentials ever echoed, `--principal` for scoped datasets, help on every subcommand, and
 * one rule for where usage goes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-cli-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROWS = '{"a":1,"b":2}\n';
const toStdout = ['export', '-f', 'csv', '-o', '-'];
const PASSWORD = 'hunter2hunter2';

describe('flag values', () => {
  it('refuses bad values with exit 2, as docs/errors.md says of invalid_option', async () => {
    const cases: [string[], RegExp][] = [
      [['--locale', 'xx-INVALID'], /^takeout: invalid_option: Unknown locale "xx-INVALID"/],
      [['--timezone', 'Mars/Olympus'], /^takeout: invalid_timezone: Unknown time zone: "Mars\/Olympus"/],
      [['--delimiter', 'ab'], /^takeout: invalid_option: /],
    ];
    for (const [args, message] of cases) {
      const result = await runCli([...toStdout, ...args], { stdin: ROWS });
      expect([result.code, result.err, result.out], args.join(' ')).toEqual([
        2,
        expect.stringMatching(message),
        '',
      ]);
    }
    const format = await runCli(['export', '-f', 'pdf', '-o', '-'], { stdin: ROWS });
    expect([format.code, format.err]).toEqual([2, expect.stringMatching(/^takeout: unknown_format: /)]);
    const url = await runCli(['export', '--async', '--url', 'notaurl', '-f', 'csv', '--dataset', 'd']);
    expect([url.code, url.err]).toEqual([
      2,
      "takeout: invalid_option: --url is not a URL: give the service's address, e.g. https://takeout.example.com\n",
    ]);
  });

  it('refuses empty values (an unset variable, most often) naming the flag', async () => {
    for (const flag of ['--delimiter', '--columns', '--timezone', '--sheet-name', '--input']) {
      const result = await runCli([...toStdout, flag, ''], { stdin: ROWS });
      expect([result.code, result.err.split('\n')[0]], flag).toEqual([
        2,
        `takeout: ${flag} needs a value; it was given an empty one`,
      ]);
    }
    const env = { TAKEOUT_DATA_DIR: dir };
    for (const flag of ['--status', '--owner']) {
      const result = await runCli(['jobs', 'list', flag, ''], { env });
      expect([result.code, result.err.split('\n')[0]], flag).toEqual([
        2,
        `takeout: ${flag} needs a value; it was given an empty one`,
      ]);
    }
  });

  it('names the flag of a missing input file or a malformed --postgres URL (exit 2)', async () => {
    const missing = join(dir, 'missing.ndjson');
    expect(await runCli([...toStdout, '-i', missing])).toMatchObject({
      code: 2,
      err: `takeout: invalid_option: --input ${missing}: no such file\n`,
    });
    const query = ['--query', 'SELECT 1'];
    expect(await runCli([...toStdout, '--postgres', 'not a url', ...query])).toMatchObject({
      code: 2,
      err: 'takeout: invalid_option: --postgres is not a URL: give postgres://USER@HOST:5432/DATABASE\n',
    });
    const port = await runCli([
      ...toStdout,
      '--postgres',
      `postgres://u:${PASSWORD}@127.0.0.1:99999/test`,
      ...query,
    ]);
    expect(port).toMatchObject({
      code: 2,
      err: 'takeout: invalid_option: --postgres: port 99999 is out of range (1 to 65535)\n',
    });
    const env = await runCli([...toStdout, '--postgres', 'env', ...query], { env: { DATABASE_URL: 'nope' } });
    expect([env.code, env.err]).toEqual([2, expect.stringContaining('DATABASE_URL is not a URL')]);
  });

  it('names the flag of a missing --sqlite or --config file (exit 2)', async () => {
    const missing = join(dir, 'missing.db');
    expect(await runCli([...toStdout, '--sqlite', missing, '--query', 'SELECT 1'])).toMatchObject({
      code: 2,
      err: `takeout: invalid_option: --sqlite ${missing}: no such file\n`,
    });
    expect(await runCli([...toStdout, '--config', missing, '--dataset', 'd'])).toMatchObject({
      code: 2,
      err: `takeout: invalid_option: --config ${missing}: no such file\n`,
    });
  });

  it('refuses --columns that repeat or that the query lacks with exit 2, as any flag value', async () => {
    const db = join(dir, 'cols.sqlite');
    const handle = new Database(db);
    handle.exec("CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'a');");
    handle.close();
    const query = ['--sqlite', db, '--query', 'SELECT id, name FROM t'];
    for (const [columns, message] of [
      ['id,id', /^takeout: invalid_columns: columns\[1\]\.key "id" repeats/],
      ['id,zz', /^takeout: invalid_columns: Unknown column "zz"/],
    ] as const) {
      const result = await runCli([...toStdout, ...query, '--columns', columns]);
      expect([result.code, result.err, result.out], columns).toEqual([2, expect.stringMatching(message), '']);
    }
  });

  it("says which variable holds a dataset's malformed PostgreSQL URL", async () => {
    const config = join(dir, 'pg-url.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        datasets: [{ name: 'x', connection: { postgres: { urlEnv: 'SHOP_URL' } }, sql: 'SELECT 1 AS a' }],
      }),
    );
    for (const [url, why] of [
      [`postgres://u:${PASSWORD}@127.0.0.1:99999/test`, 'SHOP_URL: port 99999 is out of range (1 to 65535)'],
      ['notaurl', 'SHOP_URL is not a URL: give postgres://USER@HOST:5432/DATABASE'],
    ]) {
      const result = await runCli([...toStdout, '--config', config, '--dataset', 'x'], {
        env: { SHOP_URL: url },
      });
      expect([result.code, result.err]).toEqual([
        1,
        `takeout: config_error: ${config} (dataset "x"): ${why}\n`,
      ]);
    }
  });

  it("checks the chosen dataset's connection as serve does at start, naming the file and the member", async () => {
    const config = join(dir, 'connections.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        datasets: [
          { name: 'unset', connection: { postgres: { urlEnv: 'NOT_SET_URL' } }, sql: 'SELECT 1 AS a' },
          { name: 'missing', connection: { sqlite: 'no-such.sqlite' }, sql: 'SELECT 1 AS a' },
        ],
      }),
    );
    const unset = await runCli([...toStdout, '--config', config, '--dataset', 'unset']);
    expect([unset.code, unset.err]).toEqual([
      1,
      `takeout: config_error: ${config} (dataset "unset"): connection.postgres.urlEnv names NOT_SET_URL, which is not set\n`,
    ]);
    const missing = await runCli([...toStdout, '--config', config, '--dataset', 'missing']);
    expect([missing.code, missing.err]).toEqual([
      1,
      expect.stringMatching(
        /^takeout: config_error: .*connections\.config\.json \(dataset "missing"\): connection\.sqlite cannot be opened: .*SQLITE_CANTOPEN/,
      ),
    ]);
  });

  it('names --columns when rows given as arrays come without it', async () => {
    const result = await runCli(toStdout, { stdin: '["a",1]\n["b",2]\n' });
    expect([result.code, result.err]).toEqual([
      2,
      'takeout: invalid_columns: rows given as arrays need --columns a,b,c (a name for each cell, in order)\n',
    ]);
  });
});

describe('credentials', () => {
  it('refuses credentials in --url or TAKEOUT_URL up front (exit 2), never echoing them', async () => {
    const args = ['export', '--async', '-f', 'csv', '--dataset', 'd', '-o', join(dir, 'never.csv')];
    const flag = await runCli([...args, '--url', `http://user:${PASSWORD}@127.0.0.1:1`]);
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/^takeout: invalid_option: --url must not hold credentials \(user:password@\)/);
    const env = await runCli(args, { env: { TAKEOUT_URL: `http://user:${PASSWORD}@127.0.0.1:1` } });
    expect([env.code, env.err]).toEqual([
      2,
      expect.stringContaining('TAKEOUT_URL must not hold credentials'),
    ]);
    expect(flag.err + env.err).not.toContain(PASSWORD);
  });

  it('never prints a password that an error message echoes', async () => {
    const input = await runCli([...toStdout, '-i', `https://user:${PASSWORD}@example.com/rows.ndjson`]);
    const refused = await runCli([
      ...toStdout,
      '--postgres',
      `postgres://postgres:${PASSWORD}@127.0.0.1:1/test`,
      '--query',
      'SELECT 1',
    ]);
    const store = await runCli(['migrate'], {
      env: { DATABASE_URL: `postgres://postgres:${PASSWORD}@127.0.0.1:1/x` },
    });
    for (const { err } of [input, refused, store]) {
      expect(err).not.toBe('');
      expect(err).not.toContain(PASSWORD);
    }
    expect([input.code, input.err]).toEqual([2, expect.stringContaining('--input https://user:[redacted]@')]);
    expect([refused.code, store.code]).toEqual([1, 1]);
  });
});

describe('takeout export --principal', () => {
  const config = join(dir, 'takeout.config.json');
  beforeAll(() => {
    const db = new Database(join(dir, 'shop.sqlite'));
    db.exec(`CREATE TABLE orders (id INTEGER, tenant TEXT, owner TEXT);
      INSERT INTO orders VALUES (1, 'acme', 'ann'), (2, 'acme', 'bob'), (3, 'globex', 'ann');`);
    db.close();
    writeFileSync(
      config,
      JSON.stringify({
        datasets: [
          {
            name: 'orders',
            connection: { sqlite: 'shop.sqlite' },
            sql: 'SELECT id FROM orders WHERE tenant = :tenant ORDER BY id',
            scope: { tenant: 'tenant' },
          },
          {
            name: 'mine',
            connection: { sqlite: 'shop.sqlite' },
            sql: 'SELECT id FROM orders WHERE owner = :owner ORDER BY id',
            scope: { owner: 'id' },
          },
        ],
      }),
    );
  });
  const exportOf = (...args: string[]) => runCli([...toStdout, '--config', config, ...args]);

  it('exports a scoped dataset as the principal given, and says when one is needed', async () => {
    const acme = await exportOf('--dataset', 'orders', '--principal', 'ann:acme');
    expect([acme.code, acme.err]).toEqual([0, '']);
    expect(parse(acme.out)).toEqual([['id'], ['1'], ['2']]);
    const globex = await exportOf('--dataset', 'orders', '--principal', 'ann:globex');
    expect(parse(globex.out)).toEqual([['id'], ['3']]);
    const ann = await exportOf('--dataset', 'mine', '--principal', 'ann');
    expect(parse(ann.out)).toEqual([['id'], ['1'], ['3']]);

    const without = await exportOf('--dataset', 'orders');
    expect([without.code, without.err.split('\n')[0]]).toEqual([
      2,
      "takeout: --dataset orders is scoped to the principal's tenant: give --principal ID:TENANT",
    ]);
    const noTenant = await exportOf('--dataset', 'orders', '--principal', 'ann');
    expect([noTenant.code, noTenant.err.split('\n')[0]]).toEqual([
      2,
      "takeout: --dataset orders is scoped to the principal's tenant: this --principal has none",
    ]);
    // Hidden by its visibleTo, not for want of an attribute: said so (a module config has code).
    const module = join(dir, 'visible.config.mjs');
    writeFileSync(
      module,
      `export default { datasets: [{ name: 'vis', connection: { sqlite: 'shop.sqlite' }, sql: 'SELECT id FROM orders', visibleTo: (p) => p.id === 'alice' }] };\n`,
    );
    const hidden = await runCli([
      ...toStdout,
      '--config',
      module,
      '--dataset',
      'vis',
      '--principal',
      'bob:acme',
    ]);
    expect([hidden.code, hidden.err.split('\n')[0]]).toEqual([
      2,
      'takeout: --dataset vis is not visible to this --principal: its visibleTo refuses it',
    ]);
    const seen = await runCli([...toStdout, '--config', module, '--dataset', 'vis', '--principal', 'alice']);
    expect([seen.code, parse(seen.out)]).toEqual([0, [['id'], ['1'], ['2'], ['3']]]);
    for (const bad of ['ann:', ':acme', 'a:b:c']) {
      const result = await exportOf('--dataset', 'orders', '--principal', bad);
      expect([result.code, result.err.split('\n')[0]], bad).toEqual([
        2,
        `takeout: --principal is ID or ID:TENANT, got ${JSON.stringify(bad)}`,
      ]);
    }
  });

  it('refuses --principal where nothing is scoped by it', async () => {
    const rows = await runCli([...toStdout, '--principal', 'ann'], { stdin: ROWS });
    expect([rows.code, rows.err.split('\n')[0]]).toEqual([
      2,
      'takeout: --principal goes with a dataset of --config (its scope is bound from it)',
    ]);
    const remote = await runCli([
      'export',
      '--async',
      '--url',
      'http://127.0.0.1:1',
      '-f',
      'csv',
      '--dataset',
      'orders',
      '--principal',
      'ann',
    ]);
    expect([remote.code, remote.err]).toEqual([
      2,
      expect.stringContaining('the service knows the caller from --token'),
    ]);
  });
});

describe('usage', () => {
  it('prints usage on stderr with exit 2 for a bare command, on stdout with exit 0 for --help', async () => {
    for (const args of [[], ['jobs'], ['storage']]) {
      const result = await runCli(args);
      expect([result.code, result.out, result.err], args.join(' ')).toEqual([
        2,
        '',
        expect.stringMatching(/^Usage: /),
      ]);
    }
    const help = await runCli(['--help']);
    expect([help.code, help.err]).toEqual([0, '']);
    expect(help.out).toContain('storage sweep    delete the files whose retention has ended');
  });

  it('prints each subcommand’s usage for --help, on stdout with exit 0', async () => {
    for (const args of [
      ['jobs', 'list'],
      ['jobs', 'show'],
      ['jobs', 'cancel'],
      ['storage', 'setup'],
      ['storage', 'sweep'],
    ]) {
      for (const help of ['--help', '-h']) {
        const result = await runCli([...args, help], { env: { TAKEOUT_DATA_DIR: join(dir, 'none') } });
        expect([result.code, result.err], `${args.join(' ')} ${help}`).toEqual([0, '']);
        expect(result.out).toMatch(new RegExp(`^Usage: takeout ${args[0]} <command>`));
      }
    }
  });

  it('says a usage error in one line, with one "takeout:" prefix, and where the help is', async () => {
    for (const command of ['worker', 'migrate']) {
      const result = await runCli([command, 'extra']);
      expect([result.code, result.err], command).toEqual([
        2,
        `takeout: ${command} takes no arguments, got "extra"\nsee takeout ${command} --help\n`,
      ]);
    }
    const show = await runCli(['jobs', 'show']);
    expect([show.code, show.err]).toEqual([
      2,
      'takeout: jobs show takes one export id\nsee takeout jobs show --help\n',
    ]);
    const lineEnding = await runCli(['export', '-f', 'csv', '-o', '-', '--line-ending', 'cr']);
    expect([lineEnding.code, lineEnding.err]).toEqual([
      2,
      'takeout: --line-ending is lf or crlf\nsee takeout export --help\n',
    ]);
  });
});
