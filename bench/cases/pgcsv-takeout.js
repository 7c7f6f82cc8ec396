// PostgreSQL -> CSV through Takeout's default path: binary COPY decoded in Node, Takeout's CSV
// writer with its defaults (CRLF, formula escaping). The reference table is loaded once into
// the takeout_bench database (not timed).
import { takeoutCase } from '../postgres-support.js';

await takeoutCase(import.meta.url, { format: 'csv' });
