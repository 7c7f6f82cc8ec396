// Baseline: the cost of generating the rows alone (subtracted for net figures).
import { cpuMs, report, rowCount, rows } from '../case-support.js';

const n = rowCount();
const startedAt = performance.now();
let check = 0;
for (const row of rows(n)) check = (check + row[5]) | 0;
report({
  cpuMs: cpuMs(),
  caseUrl: import.meta.url,
  tool: 'generator',
  format: 'none',
  rows: n,
  startedAt,
  check,
});
