// PostgreSQL -> CSV through the default path, in the XLSX group: the target is XLSX in at most
// 1.5x the time of CSV, i.e. "Takeout ×" of this row >= 0.67 (same-run ratio).
import { takeoutCase } from '../postgres-support.js';

await takeoutCase(import.meta.url, { format: 'csv', extra: { tool: 'takeout (csv)' } });
