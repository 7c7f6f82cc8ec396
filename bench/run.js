// Benchmark runner: runs bench/cases/*.js one at a time as child processes and writes
// bench/RESULTS.md. Usage (see bench/README.md):
//   node bench/run.js [group...] [--rows N[,M...]] [--rows-5m] [--repeat K]
// A group is the prefix of case file names (csv-*.js, xlsx-*.js, postgres-*.js). Only the
// sections of the groups that ran are replaced in RESULTS.md; the others are kept.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSection, replaceSection, roundRatios } from './results.js';

const here = dirname(fileURLToPath(import.meta.url));
const casesDir = join(here, 'cases');
// BENCH_RESULTS writes elsewhere (a dry run that leaves RESULTS.md alone).
const resultsFile = process.env.BENCH_RESULTS ?? join(here, 'RESULTS.md');
const BASELINE = 'gen-only';
// Groups whose rows come from a database, not the generator: no baseline to subtract.
const WITHOUT_GENERATOR = new Set(['pgcsv', 'pgxlsx', 'pgndjson']);
const CASE_TIMEOUT_MS = 30 * 60 * 1000;

function parseArgs(argv) {
  const options = { groups: [], rows: [1_000_000], scaling: false, repeat: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--rows') {
      options.rows = String(argv[++i] ?? '')
        .split(',')
        .map((s) => Number(s.replace(/_/g, '')));
      if (options.rows.some((n) => !Number.isSafeInteger(n) || n <= 0)) throw new Error('--rows N[,M...]');
    } else if (arg === '--rows-5m') options.scaling = true;
    else if (arg === '--repeat') {
      options.repeat = Number(argv[++i]);
      if (!Number.isSafeInteger(options.repeat) || options.repeat < 1) throw new Error('--repeat K');
    } else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else options.groups.push(arg);
  }
  return options;
}

const takeoutFirst = (name) => (name.includes('takeout') ? 0 : 1);

/** Case files by group: `csv-fast-csv.js` is in group `csv`. The baseline is in none. */
function discoverCases() {
  const groups = new Map();
  for (const file of readdirSync(casesDir).sort()) {
    if (!file.endsWith('.js') || file === `${BASELINE}.js`) continue;
    const name = file.slice(0, -3);
    const group = name.split('-')[0];
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(name);
  }
  // Takeout's own cases first: they are what the other rows are compared with.
  for (const names of groups.values())
    names.sort((a, b) => takeoutFirst(a) - takeoutFirst(b) || (a < b ? -1 : 1));
  return groups;
}

/** Runs one case and returns its JSON line (or a failure record). Never in parallel. */
function runCase(name, rows) {
  process.stderr.write(`  ${name} ${rows.toLocaleString('en-US')} rows ... `);
  const child = spawnSync(process.execPath, [join(casesDir, `${name}.js`), String(rows)], {
    cwd: join(here, '..'),
    encoding: 'utf8',
    timeout: CASE_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, BENCH_ROWS: String(rows) },
  });
  const line = (child.stdout ?? '')
    .split('\n')
    .reverse()
    .find((l) => l.trim().startsWith('{'));
  let result;
  try {
    result = line ? JSON.parse(line) : undefined;
  } catch {
    result = undefined;
  }
  if (child.status !== 0 || !result) {
    const why = child.error?.message ?? (child.stderr ?? '').trim().split('\n').slice(-3).join(' ');
    result = { case: name, failed: `exit ${child.status ?? child.signal}: ${why}`.slice(0, 300) };
  }
  result.case ??= name;
  process.stderr.write(
    result.failed
      ? `FAILED ${result.failed}\n`
      : result.skipped
        ? `skipped: ${result.skipped}\n`
        : `${(result.ms / 1000).toFixed(2)} s, ${result.maxRssMB} MB\n`,
  );
  return result;
}

/** The run with the median time among `runs` of one case (failures only when all failed). */
function medianRun(runs) {
  const ok = runs.filter((r) => !r.failed && !r.skipped).sort((a, b) => a.ms - b.ms);
  if (ok.length === 0) return runs[0];
  const median = ok[Math.floor((ok.length - 1) / 2)];
  return { ...median, runs: ok.length };
}

/**
 * Runs the group's cases in `repeat` rounds, each round every case once (baseline first), so
 * the cases of a round ran under the same load: ratios are taken within a round, and each
 * case keeps the median of its ratios (the machine is shared and noisy; a ratio of one round
 * is far steadier than times across rounds).
 */
function runRounds(group, cases, rows, repeat) {
  const rounds = [];
  for (let k = 0; k < repeat; k++) {
    if (repeat > 1) process.stderr.write(` round ${k + 1}/${repeat}\n`);
    const baseline = WITHOUT_GENERATOR.has(group) ? undefined : runCase(BASELINE, rows);
    rounds.push({ baseline, results: cases.map((name) => runCase(name, rows)) });
  }
  const ratios = rounds.map((r) => roundRatios(group, r.baseline, r.results));
  const baseline = WITHOUT_GENERATOR.has(group) ? undefined : medianRun(rounds.map((r) => r.baseline));
  const results = cases.map((name, j) => {
    const run = medianRun(rounds.map((r) => r.results[j]));
    if (repeat < 2) return run;
    const mine = ratios.map((m) => m.get(name)).filter(Boolean);
    return {
      ...run,
      rssRuns: rounds.map((r) => r.results[j].maxRssMB).filter(Number.isFinite),
      ratios: mine.map((x) => x.times),
      netRatios: mine.map((x) => x.net),
      cpuRatios: mine.map((x) => x.cpu),
      netCpuRatios: mine.map((x) => x.netCpu),
    };
  });
  return { rows, baseline, results };
}

/**
 * The run of a case whose peak RSS is the median of its runs: a single peak on a shared
 * machine can catch a moment (the garbage collector late, a slow disk holding chunks).
 */
function medianPeak(runs) {
  const ok = runs.filter((r) => !r.failed && !r.skipped && Number.isFinite(r.maxRssMB));
  if (ok.length === 0) return runs[0];
  const peaks = ok.map((r) => r.maxRssMB).sort((a, b) => a - b);
  const median = peaks[Math.floor((peaks.length - 1) / 2)];
  return { ...ok[0], maxRssMB: median, rssRuns: peaks };
}

/** Runs one case `repeat` times more at `rows` (the memory-scaling check). */
function runRepeated(name, rows, repeat) {
  return medianPeak(Array.from({ length: repeat }, () => runCase(name, rows)));
}

function machine() {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    cores: availableParallelism(),
    cpu,
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const all = discoverCases();
  const groups = options.groups.length > 0 ? options.groups : [...all.keys()];
  for (const group of groups) if (!all.has(group)) throw new Error(`no cases for group ${group}`);
  const rowCounts = [...new Set(options.rows)].sort((a, b) => a - b);
  let text = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';

  for (const group of groups) {
    const cases = all.get(group);
    const info = machine();
    process.stderr.write(`group ${group} (load ${info.load})\n`);
    const tables = [];
    for (const rows of rowCounts) tables.push(runRounds(group, cases, rows, options.repeat));
    // Memory scaling: Takeout's cases again at 5M rows unless that count already ran.
    let scaling;
    if (options.scaling) {
      const small = tables.find((t) => t.rows === 1_000_000) ?? tables[0];
      const takeoutCases = small.results.filter((r) => r.tool === 'takeout').map((r) => r.case);
      const big =
        tables.find((t) => t.rows === 5_000_000)?.results ??
        takeoutCases.map((name) => runRepeated(name, 5_000_000, options.repeat));
      // Both sides: the median of the runs' peaks.
      const peakOf = (run) =>
        run && (run.rssRuns ? medianPeak(run.rssRuns.map((maxRssMB) => ({ ...run, maxRssMB }))) : run);
      scaling = takeoutCases.map((name) => ({
        case: name,
        small: peakOf(small.results.find((r) => r.case === name)),
        big: peakOf(big.find((r) => r.case === name)),
      }));
    }
    text = replaceSection(text, group, renderSection(group, info, tables, scaling, options.repeat));
    writeFileSync(resultsFile, text);
    process.stderr.write(`wrote ${group} to ${resultsFile}\n`);
  }
}

main();
