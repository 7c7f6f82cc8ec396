// PostgreSQL -> CSV through the cursor reader (server-side cursor, 5000-row batches, text
// values parsed by OID), Takeout's CSV writer with its defaults.
import { takeoutCase } from '../postgres-support.js';

await takeoutCase(import.meta.url, { format: 'csv', source: { reader: 'cursor' } });
