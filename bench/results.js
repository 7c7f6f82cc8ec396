// Renders bench/RESULTS.md: one section per group between markers, so a run replaces only
// the groups it ran and keeps the sections other runs (or other engineers) wrote.

const INTRO = `# Benchmark results

Written by \`npm run bench\` ([bench/run.js](run.js)); how to run and add cases:
[bench/README.md](README.md). Every case writes the reference table
(\`shared/bench/gen.js\`: 10 columns — ints, uuid, names with commas/quotes/newlines, emails,
amounts, quantities, dates, booleans, nulls, country codes) to a file, in its own process,
one case at a time. Each group's section is replaced only when that group runs, so sections
may come from different runs: each says when and on what it was measured.

- **seconds**: the whole case (rows generated lazily and written), measured by the case;
  **net**: minus the time generating the rows alone takes (the \`gen-only\` case, same run;
  a case that builds the rows in its own language, like the C program, subtracts its own).
- **Takeout ×**: Takeout's rows/s divided by the tool's (above 1: Takeout is faster).
- **peak RSS**: the process's maximum resident set size (\`process.resourceUsage().maxRSS\`).
- Other tools are set up to write the same values as Takeout (ISO 8601 dates, \`true\`/\`false\`)
  where their defaults differ; each case file says how.
`;

/** Section titles of groups whose name alone says little. */
const TITLES = {
  pgcsv: 'pgcsv: PostgreSQL → CSV',
  pgxlsx: 'pgxlsx: PostgreSQL → XLSX',
  pgndjson: 'pgndjson: PostgreSQL → NDJSON',
};

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const mib = (bytes) => (bytes ? (bytes / 1024 / 1024).toFixed(1) : '—');

const markers = (group) => [`<!-- bench:${group}:start -->`, `<!-- bench:${group}:end -->`];

/** Replaces the section of `group` in `text` (or appends it), keeping everything else. */
export function replaceSection(text, group, section) {
  const [start, end] = markers(group);
  const body = `${start}\n${section.trim()}\n${end}`;
  if (!text.trim()) return `${INTRO}\n${body}\n`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from >= 0 && to > from) return text.slice(0, from) + body + text.slice(to + end.length);
  return `${text.trimEnd()}\n\n${body}\n`;
}

/** Generation time for `rows` rows, scaled from the baseline run (it is linear). */
function genMs(baseline, rows) {
  if (!baseline || baseline.failed || !baseline.rows) return Number.NaN;
  return (baseline.ms * rows) / baseline.rows;
}

/** The result Takeout's figures are compared with: `<group>-takeout`, else any Takeout case. */
function reference(group, results) {
  const ok = results.filter((r) => !r.failed && !r.skipped);
  return ok.find((r) => r.case === `${group}-takeout`) ?? ok.find((r) => r.tool === 'takeout');
}

const rate = (r) => r.rows / (r.ms / 1000);

/**
 * Net time of a case: minus the generation time (its own when it reports one). NaN (shown as
 * —) when not positive: on a loaded machine the baseline's own run can take longer than a case.
 */
function netMs(r, baseline) {
  const net = r.ms - (r.generatorMs ?? genMs(baseline, r.rows));
  return net > 0 ? net : Number.NaN;
}

/** CPU time of a case, and net of generation (its own when it reports one), in ms. */
function cpuOf(r, baseline) {
  const gen =
    r.generatorCpuMs ??
    (baseline?.cpuMs && baseline.rows ? (baseline.cpuMs * r.rows) / baseline.rows : Number.NaN);
  return { cpu: r.cpuMs ?? Number.NaN, net: (r.cpuMs ?? Number.NaN) - gen };
}

/**
 * Takeout's ratios over each result of one round (one run of every case, same conditions):
 * `{ times, net, cpu, netCpu }` by case name. With --repeat, the tables show the median of
 * these per case.
 */
export function roundRatios(group, baseline, results) {
  const ref = reference(group, results);
  const out = new Map();
  for (const r of results) {
    if (!ref || r.failed || r.skipped) continue;
    const netRate = (x) => x.rows / (netMs(x, baseline) / 1000);
    const perRow = (x, key) => cpuOf(x, baseline)[key] / x.rows;
    out.set(r.case, {
      times: rate(ref) / rate(r),
      net: netRate(ref) / netRate(r),
      cpu: perRow(r, 'cpu') / perRow(ref, 'cpu'),
      netCpu: perRow(r, 'net') / perRow(ref, 'net'),
    });
  }
  return out;
}

function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `2.05` for one run; `2.05 (1.91-2.20)` for the median of several same-run ratios. */
function ratioCell(single, ratios) {
  if (!ratios || ratios.length < 2) return fmt(single);
  const finite = ratios.filter(Number.isFinite);
  if (finite.length < 2) return fmt(finite[0] ?? Number.NaN);
  return `${fmt(median(finite))} (${fmt(Math.min(...finite))}–${fmt(Math.max(...finite))})`;
}

function table(group, { rows: asked, baseline, results }) {
  const lines = [`### ${fmtInt(asked)} rows`, ''];
  const net = baseline !== undefined;
  if (baseline && !baseline.failed) {
    lines.push(
      `Generating the rows alone (\`gen-only\`): ${fmt(baseline.ms / 1000)} s, peak RSS ${fmt(baseline.maxRssMB, 0)} MiB.`,
      '',
    );
  } else if (net) lines.push('Generation baseline failed: net figures unavailable.', '');
  else
    lines.push(
      "Rows come from the database (loaded once, not timed): no generation to subtract. CPU is the client process's own (Node, psql); the server's is not counted.",
      '',
    );
  lines.push(
    net
      ? '| tool | case | rows | seconds | rows/s | Takeout × | net s | net rows/s | net Takeout × | peak RSS MiB | file MiB |'
      : '| tool | case | rows | seconds | rows/s | Takeout × | peak RSS MiB | file MiB |',
    net ? '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|' : '|---|---|--:|--:|--:|--:|--:|--:|',
  );
  const ref = reference(group, results);
  const netRate = (r) => r.rows / (netMs(r, baseline) / 1000);
  for (const r of results) {
    if (r.failed || r.skipped) {
      lines.push(
        `| ${r.tool ?? '—'} | ${r.case} | ${r.skipped ? `skipped: ${r.skipped}` : `failed: ${r.failed}`} |`,
      );
      continue;
    }
    const capped = r.rows < asked ? ` (capped${r.maxRows ? ` at ${fmtInt(r.maxRows)}` : ''})` : '';
    const times = ref ? rate(ref) / rate(r) : Number.NaN;
    const netTimes = ref ? netRate(ref) / netRate(r) : Number.NaN;
    const netCells = net
      ? ` ${fmt(netMs(r, baseline) / 1000)} | ${Number.isFinite(netRate(r)) ? fmtInt(netRate(r)) : '—'} | ${ratioCell(netTimes, r.netRatios)} |`
      : '';
    lines.push(
      `| ${r.tool} | ${r.case} | ${fmtInt(r.rows)}${capped} | ${fmt(r.ms / 1000)} | ${fmtInt(rate(r))} | ${ratioCell(times, r.ratios)} |${netCells} ${fmt(r.maxRssMB, 0)} | ${mib(r.bytes)} |`,
    );
  }
  const notes = results.filter((r) => r.note).map((r) => `- ${r.case}: ${r.note}`);
  if (notes.length > 0) lines.push('', ...notes);
  if (results.some((r) => r.cpuMs !== undefined)) lines.push('', cpuTable(results, baseline, ref));
  return lines.join('\n');
}

/**
 * CPU time (user + system, every thread of the case's process; a C peer's own process): the
 * work each tool does, far steadier than wall time when other work shares the machine. It
 * does not credit using two cores at once, which wall time does.
 */
function cpuTable(results, baseline, ref) {
  const lines = [
    'CPU time (user + system of every thread; steadier than seconds on a shared machine, but blind to using two cores at once):',
    '',
    '| case | CPU s | CPU Takeout × | net CPU s | net CPU Takeout × |',
    '|---|--:|--:|--:|--:|',
  ];
  const perRow = (x, key) => cpuOf(x, baseline)[key] / x.rows;
  for (const r of results) {
    if (r.failed || r.skipped || r.cpuMs === undefined) continue;
    const { cpu, net } = cpuOf(r, baseline);
    const times = ref?.cpuMs !== undefined ? perRow(r, 'cpu') / perRow(ref, 'cpu') : Number.NaN;
    const netTimes = ref?.cpuMs !== undefined ? perRow(r, 'net') / perRow(ref, 'net') : Number.NaN;
    lines.push(
      `| ${r.case} | ${fmt(cpu / 1000)} | ${ratioCell(times, r.cpuRatios)} | ${fmt(net / 1000)} | ${ratioCell(netTimes, r.netCpuRatios)} |`,
    );
  }
  return lines.join('\n');
}

function scalingTable(scaling) {
  const lines = [
    '### Memory scaling (Takeout)',
    '',
    "Peak RSS must not grow with the number of rows: the target is 5M rows within 10% of 1M rows. Each side is the median of its runs' peaks (as many runs as rounds).",
    '',
    '| case | peak RSS MiB (rows) | peak RSS MiB (rows) | ratio | within 10% |',
    '|---|--:|--:|--:|:-:|',
  ];
  for (const { case: name, small, big } of scaling) {
    if (!small || !big || small.failed || big.failed) {
      lines.push(`| ${name} | — | — | — | failed |`);
      continue;
    }
    const ratio = big.maxRssMB / small.maxRssMB;
    lines.push(
      `| ${name} | ${fmt(small.maxRssMB, 0)} (${fmtInt(small.rows)}) | ${fmt(big.maxRssMB, 0)} (${fmtInt(big.rows)}) | ${fmt(ratio)} | ${ratio <= 1.1 ? 'yes' : 'no'} |`,
    );
  }
  return lines.join('\n');
}

/** The Markdown of one group's section. */
export function renderSection(group, info, tables, scaling, repeat) {
  const parts = [
    `## ${TITLES[group] ?? group}`,
    '',
    `Measured ${info.date} · Node ${info.node} · ${info.cores} cores (${info.cpu}) · load average at start ${info.load}` +
      (repeat > 1
        ? ` · ${repeat} rounds (each runs every case once, in turn): seconds are each case's median run, Takeout × the median of the ${repeat} same-round ratios (lowest–highest)`
        : ' · one run per case'),
  ];
  for (const t of tables) parts.push('', table(group, t));
  if (scaling) parts.push('', scalingTable(scaling));
  return parts.join('\n');
}
